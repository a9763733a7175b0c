"""Load the small demo data set; running it again changes nothing.

It fills several apps' tables (accounts, games, characters), so it lives in config, the top
layer, where importing every app makes no cycle between them.
"""

from __future__ import annotations

import ipaddress
import uuid

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from accounts.models import User
from characters.models import Character
from characters.services import default_stats
from games.models import Game, GameSession, GameTitle, Progress

DEMO_ADMIN_EMAIL = "admin@example.com"
DEMO_ADMIN_PASSWORD = "admin-demo-password"
DEMO_PLAYER_EMAIL = "player@example.com"
DEMO_PLAYER_PASSWORD = "player-demo-password"

TITLES = [
    {
        "title": "The Lantern Keep",
        "description": "A lighthouse-fortress whose lamp has gone dark.",
        "genre": "fantasy",
        "scenario": {
            "hook": "Ships are wrecking on the reef.",
            "role": "a keeper's apprentice",
            "mission": "Relight the lantern before the storm.",
        },
    },
    {
        "title": "Neon Ledger",
        "description": "A heist in a city that never logs off.",
        "genre": "cyberpunk",
        "scenario": {"hook": "A ledger is missing.", "role": "a courier", "mission": "Find it."},
    },
    {
        "title": "Quiet Station",
        "description": "A research outpost stops answering.",
        "genre": "sci-fi",
    },
]


# Keys user data cannot take: game 1 is the demo's, and sessions get random (version 4) UUIDs,
# never this one.
DEMO_GAME_ID = 1
DEMO_SESSION_ID = uuid.UUID("00000000-0000-0000-0000-00000000de30")


def is_loopback(host: str) -> bool:
    """Whether a server bound to `host` is reachable from this machine only."""
    host = host.strip("[]")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a name or an address of another interface


def published_accounts_refuse(bind: str) -> None:
    """Stop when an account still has the password this file publishes."""
    for email, password in (
        (DEMO_ADMIN_EMAIL, DEMO_ADMIN_PASSWORD),
        (DEMO_PLAYER_EMAIL, DEMO_PLAYER_PASSWORD),
    ):
        user = User.objects.filter(email=email).first()
        if user is not None and user.check_password(password):
            raise CommandError(
                f"The server would listen on {bind}, reachable from other machines, and "
                f"{email} still has its published demo password. Change it "
                f"(manage.py changepassword {email}), delete the account, or serve on "
                "127.0.0.1."
            )


class Command(BaseCommand):
    help = "Create demo users, game titles, a game with a character and a session (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--force",
            action="store_true",
            help="Seed even outside the embedded mode (creates users with known passwords).",
        )
        parser.add_argument(
            "--migrate",
            action="store_true",
            help="Apply the migrations first, in the same process (make run does).",
        )
        parser.add_argument(
            "--bind",
            default="127.0.0.1",
            help=(
                "The address the server will listen on (make run passes HOST). Unless it is a "
                "loopback address, no account with a published password is made, and a demo "
                "account that still has one stops the start."
            ),
        )

    def handle(self, *args, **options):
        if options["migrate"]:
            # One Django start-up instead of two on `make run`'s path to the first answer.
            call_command("migrate", interactive=False, verbosity=options["verbosity"])
        self.seed(options)

    @transaction.atomic
    def seed(self, options):
        if not settings.EMBEDDED and not options["force"]:
            raise CommandError(
                "seed_demo creates accounts with published passwords; it runs only in the "
                "embedded mode (no DATABASE_URL/REDIS_URL) unless --force is given."
            )
        local = is_loopback(options["bind"])
        if local:
            if not User.objects.filter(email=DEMO_ADMIN_EMAIL).exists():
                User.objects.create_superuser(
                    DEMO_ADMIN_EMAIL, DEMO_ADMIN_PASSWORD, name="Demo Admin"
                )
            if not User.objects.filter(email=DEMO_PLAYER_EMAIL).exists():
                User.objects.create_user(
                    DEMO_PLAYER_EMAIL, DEMO_PLAYER_PASSWORD, name="Demo Player"
                )
        else:
            published_accounts_refuse(options["bind"])
        titles = [self._title(data) for data in TITLES]
        game, _ = Game.objects.get_or_create(
            pk=DEMO_GAME_ID,
            defaults={
                "title": titles[0].title,
                "genre": titles[0].genre,
                "difficulty": "normal",
                "game_title": titles[0],
            },
        )
        # The demo session has a fixed UUID (the server makes every other one at random), and
        # Wren is that session's character: no lookup by name, which players share.
        session = GameSession.objects.filter(pk=DEMO_SESSION_ID).first()
        if session is None:
            session = GameSession.objects.create(
                pk=DEMO_SESSION_ID, game=game, user_ref="1", character=self._character(game)
            )
            Progress.objects.create(session=session)
        elif session.character is None:  # a player deleted Wren: bring her back
            session.character = self._character(game)
            session.save(update_fields=["character"])
        character = session.character
        accounts = (
            f"admin {DEMO_ADMIN_EMAIL} / {DEMO_ADMIN_PASSWORD} (local use only)"
            if local
            else f"no demo accounts, since {options['bind']} is not a loopback address "
            "(make one with manage.py createsuperuser)"
        )
        self.stdout.write(
            f"Demo data ready: game {game.pk}, character {character.pk}, session {session.pk}; "
            f"{accounts}"
        )

    @staticmethod
    def _title(data: dict) -> GameTitle:
        """The demo title of that name: the oldest one, since players may add a title of the
        same name (the catalogue allows it); created when there is none."""
        title = GameTitle.objects.filter(title=data["title"]).order_by("pk").first()
        return title or GameTitle.objects.create(**data)

    @staticmethod
    def _character(game: Game) -> Character:
        return Character.objects.create(
            game=game,
            name="Wren",
            user_ref="1",
            character_class="ranger",
            level=2,
            stats={**default_stats(), "dexterity": 14},
            inventory=["rope", "lantern oil"],
            health={"current": 40, "max": 40},
        )
