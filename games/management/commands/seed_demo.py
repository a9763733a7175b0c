"""Load the small demo data set; running it again changes nothing."""

from __future__ import annotations

from django.conf import settings
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


class Command(BaseCommand):
    help = "Create demo users, game titles, a game with a character and a session (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--force",
            action="store_true",
            help="Seed even outside the embedded mode (creates users with known passwords).",
        )

    @transaction.atomic
    def handle(self, *args, **options):
        if not settings.EMBEDDED and not options["force"]:
            raise CommandError(
                "seed_demo creates accounts with published passwords; it runs only in the "
                "embedded mode (no DATABASE_URL/REDIS_URL) unless --force is given."
            )
        if not User.objects.filter(email=DEMO_ADMIN_EMAIL).exists():
            User.objects.create_superuser(DEMO_ADMIN_EMAIL, DEMO_ADMIN_PASSWORD, name="Demo Admin")
        if not User.objects.filter(email=DEMO_PLAYER_EMAIL).exists():
            User.objects.create_user(DEMO_PLAYER_EMAIL, DEMO_PLAYER_PASSWORD, name="Demo Player")
        titles = []
        for data in TITLES:
            title, _ = GameTitle.objects.get_or_create(title=data["title"], defaults=data)
            titles.append(title)
        game, _ = Game.objects.get_or_create(
            pk=1,
            defaults={
                "title": titles[0].title,
                "genre": titles[0].genre,
                "difficulty": "normal",
                "game_title": titles[0],
            },
        )
        character, _ = Character.objects.get_or_create(
            game=game,
            name="Wren",
            defaults={
                "user_ref": "1",
                "character_class": "ranger",
                "level": 2,
                "stats": {**default_stats(), "dexterity": 14},
                "inventory": ["rope", "lantern oil"],
                "health": {"current": 40, "max": 40},
            },
        )
        if not GameSession.objects.filter(game=game).exists():
            session = GameSession.objects.create(game=game, user_ref="1", character=character)
            Progress.objects.create(session=session)
        session = GameSession.objects.filter(game=game).order_by("started_at").first()
        self.stdout.write(
            f"Demo data ready: game {game.pk}, character {character.pk}, session {session.pk}; "
            f"admin {DEMO_ADMIN_EMAIL} / {DEMO_ADMIN_PASSWORD} (local use only)"
        )
