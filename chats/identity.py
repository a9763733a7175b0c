"""Who is calling family A: a signed-in user (Bearer JWT) or an anonymous cookie identity.

A caller without a token gets an anonymous identity (`anon-<hex>`) the first time it creates
a chat. The identity lives in a Django session (database-backed, so it survives a restart)
whose key travels in its own cookie, `ASSISTANT_SESSION_COOKIE_NAME`, scoped to `/api/chats`:
apart from the admin's `sessionid`, so neither can overwrite the other.

A browser sends that cookie with any request to the API, whoever's page made it, so a
cookie identity is only honoured for requests whose `Origin` (when sent) is on A's CORS
allow-list or is the API's own origin. A Bearer token is not ambient and is honoured from
any origin.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from importlib import import_module
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from asgiref.sync import sync_to_async
from django.conf import settings
from rest_framework.exceptions import APIException
from rest_framework.request import Request

from config.api.authentication import BearerJWTAuthentication
from core.errors import AuthRequired

if TYPE_CHECKING:
    from django.http import HttpRequest, HttpResponse

    from accounts.models import User
    from chats.models import Chat

ANON_SESSION_KEY = "chat_anon_id"
ANON_PREFIX = "anon-"
COOKIE_PATH = "/api/chats"


class OriginRefused(APIException):
    """A cookie identity used from an origin that is not allowed: 403 "Forbidden".

    Not the domain's AccessDenied, which family A answers as 401 ("not your chat"): here the
    caller may well own the chat, but the page that sent the request may not act for it.
    """

    status_code = 403
    default_detail = "Forbidden"
    default_code = "forbidden"


@dataclass(frozen=True, slots=True)
class Identity:
    """The owner a family-A request acts for: exactly one of `user` and `anon_id` is set.

    `session_key` is set only when this request created the anonymous identity; the view
    then sends the cookie with `identity_cookie_set`.
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


def chat_identity(request, *, create: bool, required: bool = True) -> Identity | None:
    """The caller's identity.

    A valid Bearer token names a user (an invalid one is a 401 before this runs, or here for a
    plain Django request). Otherwise the anonymous identity of the session cookie; with
    `create`, one is made when there is none. With no identity: 401 "Unauthorized", or None
    when not `required`. A cookie identity from a foreign origin: 403 "Forbidden".
    Runs database queries: call it through `achat_identity` from async code.
    """
    user = _bearer_user(request)
    if user is not None:
        return Identity(user=user)
    if not origin_allowed(request):
        raise OriginRefused()
    anon_id = _session_anon_id(request)
    if anon_id:
        return Identity(anon_id=anon_id)
    if create:
        return _anonymous_identity_create()
    if required:
        raise AuthRequired("Unauthorized")
    return None


async def achat_identity(request, *, create: bool, required: bool = True) -> Identity | None:
    """`chat_identity` for async views."""
    return await sync_to_async(chat_identity)(request, create=create, required=required)


def identity_cookie_set(response: HttpResponse, request, identity: Identity) -> None:
    """Send the session cookie of an anonymous identity this request created."""
    if identity.session_key is None:
        return
    response.set_cookie(
        settings.ASSISTANT_SESSION_COOKIE_NAME,
        identity.session_key,
        max_age=settings.ASSISTANT_SESSION_AGE,
        path=COOKIE_PATH,
        httponly=True,
        **cross_site_cookie_attributes(request),
    )


def cross_site_cookie_attributes(request) -> dict:
    """SameSite and Secure for a cookie a front end on another site must receive.

    Over HTTPS: `SameSite=None; Secure`, so a page on another origin, or inside an iframe,
    gets it with `credentials: 'include'`. Over plain HTTP browsers refuse `SameSite=None`
    without `Secure`, so local development gets `SameSite=Lax`: it works for a front end on
    the same host under another port (localhost:3000 beside localhost:8000 is the same site),
    not for a cross-site iframe.
    """
    if request.is_secure():
        return {"samesite": "None", "secure": True}
    return {"samesite": "Lax", "secure": False}


def origin_allowed(request) -> bool:
    """Whether a cookie identity may serve this request's `Origin`.

    No `Origin` (curl, a same-origin GET) is allowed; so are A's CORS allow-list (everything
    when CORS_ALLOW_ALL_ORIGINS, the embedded default) and the API's own origin.
    """
    origin = request.headers.get("Origin")
    if origin is None or settings.CORS_ALLOW_ALL_ORIGINS:
        return True
    allowed = list(settings.CORS_ALLOWED_ORIGINS)
    if origin == "null":
        return "null" in allowed
    try:
        parts = urlsplit(origin)
    except ValueError:
        return False
    for candidate in allowed:
        listed = urlsplit(candidate)
        if (listed.scheme, listed.netloc) == (parts.scheme, parts.netloc):
            return True
    return origin == f"{request.scheme}://{request.get_host()}"


def _bearer_user(request) -> User | None:
    if isinstance(request, Request):
        user = request.user
    else:
        result = BearerJWTAuthentication().authenticate(request)
        user = result[0] if result else None
    if user is not None and user.is_authenticated:
        return user
    return None


def _session_store_class():
    return import_module(settings.SESSION_ENGINE).SessionStore


def _session_anon_id(request: HttpRequest) -> str | None:
    key = request.COOKIES.get(settings.ASSISTANT_SESSION_COOKIE_NAME)
    if not key:
        return None
    anon_id = _session_store_class()(session_key=key).get(ANON_SESSION_KEY)
    if isinstance(anon_id, str) and anon_id.startswith(ANON_PREFIX):
        return anon_id
    return None


def _anonymous_identity_create() -> Identity:
    anon_id = f"{ANON_PREFIX}{secrets.token_hex(12)}"
    store = _session_store_class()()
    store[ANON_SESSION_KEY] = anon_id
    store.set_expiry(settings.ASSISTANT_SESSION_AGE)
    store.create()
    return Identity(anon_id=anon_id, session_key=store.session_key)
