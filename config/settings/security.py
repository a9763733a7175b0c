"""Secrets, hosts, proxies and the HTTPS switch (`HTTPS=1`, a deployment behind TLS)."""

import os

from django.core.exceptions import ImproperlyConfigured

from config.embedded import may_generate_secret_key, read_secret_key, secret_key_path
from config.settings.environment import HTTPS, env_bool, env_list


def _secret_key() -> str:
    """Return SECRET_KEY: from the environment, else the key kept in LOCAL_DIR/secret_key.

    Settings only read the kept key: the entry points (manage.py, config/asgi.py) run
    `config.embedded.prepare()` before settings load, which generates it once in the
    embedded mode. The production shape needs SECRET_KEY.
    """
    key = os.environ.get("SECRET_KEY")
    if key:
        return key
    if not may_generate_secret_key():
        raise ImproperlyConfigured(
            "SECRET_KEY must be set when DATABASE_URL or REDIS_URL is set (production shape)."
        )
    key = read_secret_key()
    if key is None:
        raise ImproperlyConfigured(
            f"No SECRET_KEY and no kept key at {secret_key_path()}: set SECRET_KEY, or start "
            "through manage.py or config.asgi (or run `python -m config.embedded` once), "
            "which keep a generated key there."
        )
    return key


SECRET_KEY = _secret_key()
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

# the client address is the socket peer and X-Forwarded-For is ignored, since a client can
# write anything there.
TRUSTED_PROXY_COUNT = int(os.environ.get("TRUSTED_PROXY_COUNT", 0))

# Django's checks that find its own middleware by exact dotted name would call the served
# subclasses (config/middleware.py) missing; config/checks.py runs them for those classes and
# reports a middleware really missing as config.security.W001, W002 or W003.
SILENCED_SYSTEM_CHECKS = ["security.W001", "security.W002", "security.W003"]

# --- HTTPS: one switch for a deployment behind TLS --------------------------------------------
# HTTPS=1 turns on the SSL redirect, HSTS, secure cookies and a Content Security Policy that
# the admin and Swagger UI (served with its init script as a file, not inline) work under.
# Behind a TLS-terminating proxy, TRUSTED_PROXY_COUNT > 0 also trusts its X-Forwarded-Proto.
if HTTPS:
    SECURE_SSL_REDIRECT = True
    # Load balancers probe over plain HTTP.
    SECURE_REDIRECT_EXEMPT = [r"^api/health$", r"^api/ready$", r"^metrics$"]
    SECURE_HSTS_SECONDS = int(os.environ.get("HSTS_SECONDS", 31536000))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("HSTS_INCLUDE_SUBDOMAINS", True)
    SECURE_HSTS_PRELOAD = env_bool("HSTS_PRELOAD", False)
    if not SECURE_HSTS_PRELOAD:
        # Joining the browsers' preload list is a one-way commitment for the whole domain; the
        # operator opts in with HSTS_PRELOAD=1, so its absence is not a deployment warning.
        SILENCED_SYSTEM_CHECKS = [*SILENCED_SYSTEM_CHECKS, "security.W021"]
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SESSION_COOKIE_SAMESITE = "Lax"
    CSRF_COOKIE_SAMESITE = "Lax"
    if TRUSTED_PROXY_COUNT > 0:
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_CSP = {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        # Swagger UI and the admin set style attributes.
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:", "blob:"],
        "font-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'self'"],
    }
