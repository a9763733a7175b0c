"""The REST layer: DRF, tokens, the schema, CORS for family A, request rates and logins."""

import os
from datetime import timedelta

from django.core.exceptions import ImproperlyConfigured

from config.families import ASSISTANT, path_regex
from config.settings.environment import PRODUCTION_SHAPE, env_bool, env_list

# Every view inherits exactly one family base class (config/api/); nothing is inherited by
# accident from global defaults.
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "DEFAULT_PERMISSION_CLASSES": [],
    "DEFAULT_THROTTLE_CLASSES": [],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["config.api.parsers.SafeJSONParser"],
    "DEFAULT_SCHEMA_CLASS": "config.api.schema.FamilyAutoSchema",
    "UNAUTHENTICATED_USER": None,
    "EXCEPTION_HANDLER": "config.api.errors.fallback_exception_handler",
}

SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=int(os.environ.get("JWT_ACCESS_MINUTES", 60))),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=int(os.environ.get("JWT_REFRESH_DAYS", 7))),
    "AUTH_HEADER_TYPES": ("Bearer",),
    "USER_ID_FIELD": "id",
    "USER_ID_CLAIM": "user_id",
    "UPDATE_LAST_LOGIN": True,
    # A refresh token works once: refreshing returns a new one and blacklists the old; an old
    # one coming back ends its login (accounts.services), and its access tokens with it.
    "ROTATE_REFRESH_TOKENS": True,
    "BLACKLIST_AFTER_ROTATION": True,
    "AUTH_TOKEN_CLASSES": ("accounts.tokens.LoginAccessToken",),
}

SPECTACULAR_SETTINGS = {
    "TITLE": "AI Story Server API",
    "DESCRIPTION": (
        "One server for four API families: G (game master), C (character chat), "
        "M (movie platform, /api/v1) and A (assistant chat). Each family answers errors "
        "in its own envelope."
    ),
    "VERSION": "0.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "CollaboratorRoleEnum": "projects.models.CollaboratorRole",
        "ProjectRoleEnum": ["owner", "collaborator", "viewer"],
        # The message role of G, A and C, which would otherwise collide with the above.
        "RoleEnum": ["system", "user", "assistant"],
    },
}

# CORS opens exactly family A's paths (config/families.py decides which those are).
CORS_URLS_REGEX = path_regex(ASSISTANT)

# --- CORS: the origins that may call family A with its cookie --------------------------------
# Origins whose pages may call A with the cookie (comma-separated, e.g.
# "https://app.example.com,http://localhost:3000"). "*" allows any, which is the embedded
# demo's default only: the production shape (DATABASE_URL, REDIS_URL or HTTPS set) allows no
# cross-origin credentialed call until origins are listed, and refuses to start with "*"
# unless ASSISTANT_CORS_ALLOW_ANY_ORIGIN=1 says the operator accepts that any website may then
# read, stream and delete its visitors' anonymous chats.
# A's CORS echoes an allowed Origin with credentials, never "*", which browsers refuse on
# credentialed requests; a cookie identity from any other Origin is refused (403).
ASSISTANT_CORS_ORIGINS = env_list("ASSISTANT_CORS_ORIGINS", [] if PRODUCTION_SHAPE else ["*"])
ASSISTANT_CORS_ALLOW_ANY_ORIGIN = env_bool("ASSISTANT_CORS_ALLOW_ANY_ORIGIN", False)
if PRODUCTION_SHAPE and "*" in ASSISTANT_CORS_ORIGINS and not ASSISTANT_CORS_ALLOW_ANY_ORIGIN:
    raise ImproperlyConfigured(
        "ASSISTANT_CORS_ORIGINS=* in the production shape lets any website read and delete its "
        "visitors' anonymous chats (the cookie is sent with credentials). List the front ends' "
        "origins, e.g. ASSISTANT_CORS_ORIGINS=https://app.example.com, or set "
        "ASSISTANT_CORS_ALLOW_ANY_ORIGIN=1 to accept that."
    )
CORS_ALLOW_ALL_ORIGINS = "*" in ASSISTANT_CORS_ORIGINS
CORS_ALLOWED_ORIGINS = [origin for origin in ASSISTANT_CORS_ORIGINS if origin != "*"]
CORS_ALLOW_CREDENTIALS = True
CORS_ALLOW_METHODS = ["GET", "POST", "PUT", "DELETE"]
CORS_ALLOW_HEADERS = ["content-type", "authorization"]

# Per-family request rates (DRF rate strings); None switches a limit off.
# An empty variable (GAME_RATE=) switches that limit off.
THROTTLE_RATES = {
    "game": os.environ.get("GAME_RATE", "1200/min") or None,
    "assistant": os.environ.get("ASSISTANT_RATE", "1200/min") or None,
    "auth_login": os.environ.get("LOGIN_RATE", "20/min") or None,
}
# Login attempts (accounts.lockout, the API and the admin alike): one address is refused on
# one account, the right password included, past LOGIN_FAILURES_PER_ACCOUNT_ADDRESS; past the
# account's ceiling only addresses that have not failed on it, or that logged into it within
# LOGIN_KNOWN_ADDRESS_DAYS, are checked; past the address's ceiling, only accounts it knows.
LOGIN_FAILURES_PER_ACCOUNT_ADDRESS = (
    os.environ.get("LOGIN_FAILURES_PER_ACCOUNT_ADDRESS", "10/15min") or None
)
LOGIN_FAILURES_PER_ACCOUNT = os.environ.get("LOGIN_FAILURES_PER_ACCOUNT", "100/15min") or None
LOGIN_FAILURES_PER_ADDRESS = os.environ.get("LOGIN_FAILURES_PER_ADDRESS", "50/15min") or None
LOGIN_KNOWN_ADDRESS_DAYS = int(os.environ.get("LOGIN_KNOWN_ADDRESS_DAYS", 30))
AUTHENTICATION_BACKENDS = ["accounts.lockout.LockoutBackend"]
