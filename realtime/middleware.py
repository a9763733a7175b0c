"""Put the caller on the socket's scope: a Bearer JWT from the Authorization header, or from
`?token=` where a browser cannot set headers. A token that is present but invalid is recorded
as `scope["auth_error"]`, so the consumer can close with its documented code. A valid token
and its claims are `scope["token"]` and `scope["token_claims"]`, so the consumer can check its
right again while the socket lives (realtime/consumers/rights.py)."""

from __future__ import annotations

from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.middleware import BaseMiddleware
from rest_framework_simplejwt.exceptions import AuthenticationFailed, InvalidToken, TokenError

from config.api.authentication import BearerJWTAuthentication


def _token_from_scope(scope) -> str | None:
    for name, value in scope.get("headers", []):
        if name == b"authorization":
            parts = value.decode("latin-1").split()
            if len(parts) == 2 and parts[0].lower() == "bearer":
                return parts[1]
    query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
    tokens = query.get("token")
    return tokens[0] if tokens and tokens[0] else None


@database_sync_to_async
def _user_for(raw_token: str):
    """The token's user and its claims (the REST rules: signature, expiry, an active user,
    a password unchanged since the token was issued)."""
    auth = BearerJWTAuthentication()
    validated = auth.get_validated_token(raw_token)
    return auth.get_user(validated), dict(validated.payload)


class JWTScopeMiddleware(BaseMiddleware):
    async def __call__(self, scope, receive, send):
        scope = dict(scope)
        scope["user"] = None
        scope["auth_error"] = None
        scope["token"] = None
        scope["token_claims"] = None
        raw = _token_from_scope(scope)
        if raw:
            try:
                scope["user"], scope["token_claims"] = await _user_for(raw)
                scope["token"] = raw
            except (InvalidToken, TokenError, AuthenticationFailed) as exc:
                scope["auth_error"] = str(getattr(exc, "detail", exc))
        # The inner application takes this copy as it is: BaseMiddleware.__call__ would copy
        # it again, and every copy (and the coroutine holding it) lives as long as the socket.
        return await self.inner(scope, receive, send)
