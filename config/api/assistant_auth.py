"""Family A's caller: a Bearer JWT's user, else the anonymous cookie identity.

Family A's caller is a signed-in user (Bearer JWT) or an anonymous identity whose Django
session key travels in its own cookie, `ASSISTANT_SESSION_COOKIE_NAME`, scoped to
`/api/chats`: apart from the admin's `sessionid`, so neither can overwrite the other.

A browser sends that cookie with any request to the API, whoever's page made it, so a
cookie identity is only honoured for requests whose `Origin` (when sent) is on A's CORS
allow-list or is the API's own origin. A Bearer token is not ambient and is honoured from
any origin.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from rest_framework.authentication import BaseAuthentication
from rest_framework.exceptions import APIException

from chats.identity import Identity, anonymous_identity_create, anonymous_identity_for
from core.errors import AuthRequired

if TYPE_CHECKING:
    from django.http import HttpResponse

COOKIE_PATH = "/api/chats"


class OriginRefused(APIException):
    """A cookie identity used from an origin that is not allowed: 403 "Forbidden".

    Not the domain's AccessDenied, which family A answers as 401 ("not your chat"): here the
    caller may well own the chat, but the page that sent the request may not act for it.
    """

    status_code = 403
    default_detail = "Forbidden"
    default_code = "forbidden"


class AssistantCookieAuthentication(BaseAuthentication):
    """Family A's anonymous cookie identity, tried after the Bearer token.

    DRF tries the view's authentication classes in order: family A lists
    `BearerJWTAuthentication` first, so a valid token names a user (a bad one is 401, as for
    every family) and this class never runs. Without a token, a request from a foreign
    `Origin` is refused (403, `OriginRefused`); otherwise the session cookie's anonymous
    identity, when alive, is the caller: `request.user` is anonymous and `request.auth` is
    the `Identity`. With neither, the request is unauthenticated and the view decides
    (`assistant_identity`), as creating a chat makes an identity.
    """

    def authenticate(self, request):
        if not origin_allowed(request):
            raise OriginRefused()
        key = request.COOKIES.get(settings.ASSISTANT_SESSION_COOKIE_NAME)
        identity = anonymous_identity_for(key) if key else None
        if identity is None:
            return None
        return AnonymousUser(), identity


def assistant_identity(request, *, create: bool = False) -> Identity:
    """The caller of a family-A request: the Bearer token's user, else the cookie identity.

    Without either: with `create`, a new anonymous identity (a database write; send its
    cookie with `identity_cookie_set`), else AuthRequired, family A's 401 "Unauthorized".
    """
    if isinstance(request.auth, Identity):
        return request.auth
    user = request.user
    if user is not None and user.is_authenticated:
        return Identity(user=user)
    if create:
        return anonymous_identity_create()
    raise AuthRequired("Unauthorized")


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
