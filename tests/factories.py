"""factory_boy factories for the domain models."""

from __future__ import annotations

import factory

from accounts.models import User
from characters.models import Character
from chats.models import Chat
from chats.models import Message as ChatMessage
from games.models import Game, GameSession, GameTitle, Message, Progress


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@example.com")
    name = factory.Sequence(lambda n: f"User {n}")
    password = factory.PostGenerationMethodCall("set_password", "correct-horse-battery")

    @classmethod
    def _after_postgeneration(cls, instance, create, results=None):
        if create:
            instance.save()


class GameTitleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = GameTitle

    title = factory.Sequence(lambda n: f"Title {n}")
    description = "A quiet village at the edge of the forest."
    genre = "fantasy"


class GameFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Game

    id = factory.Sequence(lambda n: 1000 + n)
    title = factory.Sequence(lambda n: f"Game {n}")


class CharacterFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Character

    name = factory.Sequence(lambda n: f"Hero {n}")
    game = factory.SubFactory(GameFactory)
    user_ref = "7"
    character_class = "ranger"
    level = 1
    stats = factory.LazyFunction(
        lambda: {"strength": 10, "dexterity": 10, "wisdom": 10, "charisma": 10}
    )
    health = factory.LazyFunction(lambda: {"current": 35, "max": 35})


class GameSessionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = GameSession
        skip_postgeneration_save = True

    game = factory.SubFactory(GameFactory)
    user_ref = "7"
    character = factory.SubFactory(CharacterFactory, game=factory.SelfAttribute("..game"))
    progress = factory.RelatedFactory(
        "tests.factories.ProgressFactory", factory_related_name="session"
    )


class ProgressFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Progress

    chapter = 1
    step = 0


def message_for(session: GameSession, role: str = "user", content: str = "hello") -> Message:
    """Append a message through the service, so sequence numbers stay right."""
    from django.db import transaction

    from games import services

    with transaction.atomic():
        locked = services.session_get_active_for_update(session_id=str(session.pk), actor=None)
        return services.message_append(session=locked, role=role, content=content)


class ChatFactory(factory.django.DjangoModelFactory):
    """A chat of an anonymous identity, or of `owner` when one is given."""

    class Meta:
        model = Chat

    title = factory.Sequence(lambda n: f"Chat {n}")
    owner = None
    anon_id = factory.Maybe(
        "owner", yes_declaration="", no_declaration=factory.Sequence(lambda n: f"anon-{n:024x}")
    )


class ChatMessageFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ChatMessage

    chat = factory.SubFactory(ChatFactory)
    client_id = factory.Sequence(lambda n: f"msg-{n}")
    role = "user"
    content = "Hello there"
