"""Who owns family A's chats: a signed-in user or an anonymous cookie identity.

A caller without a token gets an anonymous identity (`anon-<hex>`) the first time it creates
a chat. The identity lives in a Django session (database-backed, so it survives a restart)
whose key travels in its own cookie. Reading the request (the Bearer token, the cookie, the
`Origin` rules) is the API layer's: family A's authentication class in
config/api/authentication.py resolves an `Identity` with the functions here.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from importlib import import_module
from typing import TYPE_CHECKING

from django.conf import settings

if TYPE_CHECKING:
    from accounts.models import User
    from chats.models import Chat

ANON_SESSION_KEY = "chat_anon_id"
ANON_PREFIX = "anon-"


@dataclass(frozen=True, slots=True)
class Identity:
    """The owner a family-A request acts for: exactly one of `user` and `anon_id` is set.

    `session_key` is set only when this request created the anonymous identity; the view
    then sends its cookie.
    """

    user: User | None = None
    anon_id: str = ""
    session_key: str | None = None

    @property
    def user_id(self) -> int | None:
        return self.user.pk if self.user is not None else None

    @property
    def is_anonymous(self) -> bool:
        return self.user is None

    @property
    def public_id(self) -> str:
        """`userId` in family A's answers."""
        return self.user.public_id if self.user is not None else self.anon_id

    def owns(self, chat: Chat) -> bool:
        if self.user is not None:
            return chat.owner_id == self.user.pk
        return bool(self.anon_id) and chat.owner_id is None and chat.anon_id == self.anon_id

    def chat_filter(self) -> dict:
        """Keyword filter selecting this identity's chats."""
        if self.user is not None:
            return {"owner_id": self.user.pk}
        return {"owner__isnull": True, "anon_id": self.anon_id}

    def __str__(self) -> str:
        return f"user {self.user.pk}" if self.user is not None else f"anonymous {self.anon_id}"


def anonymous_identity_for(session_key: str) -> Identity | None:
    """The anonymous identity whose session has this key, if it is alive."""
    if not session_key:
        return None
    anon_id = _session_store_class()(session_key=session_key).get(ANON_SESSION_KEY)
    if isinstance(anon_id, str) and anon_id.startswith(ANON_PREFIX):
        return Identity(anon_id=anon_id)
    return None


def anonymous_identity_create() -> Identity:
    """A new anonymous identity and its session (the caller sends the session's cookie)."""
    anon_id = f"{ANON_PREFIX}{secrets.token_hex(12)}"
    store = _session_store_class()()
    store[ANON_SESSION_KEY] = anon_id
    store.set_expiry(settings.ASSISTANT_SESSION_AGE)
    store.create()
    return Identity(anon_id=anon_id, session_key=store.session_key)


def _session_store_class():
    return import_module(settings.SESSION_ENGINE).SessionStore
