"""Logging, metrics and readiness."""

import os

from django.core.exceptions import ImproperlyConfigured

from config.settings.environment import env_list

# LOG_FORMAT=json: one JSON object per line (config/logformat.py), with one line per request
# carrying its request id, family, route, status, duration, user and AI reply
# (config/requestlog.py) in place of uvicorn's access line. Plain text is the default.
LOG_FORMAT = os.environ.get("LOG_FORMAT", "text").strip().lower() or "text"
if LOG_FORMAT not in {"text", "json"}:
    raise ImproperlyConfigured(f"LOG_FORMAT must be text or json, not {LOG_FORMAT!r}")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "json": {"()": "config.logformat.JsonFormatter"},
    },
    # Query values that carry credentials (`?token=`) are redacted in every line.
    "filters": {"redact_credentials": {"()": "config.logredact.RedactCredentials"}},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "json" if LOG_FORMAT == "json" else "plain",
            "filters": ["redact_credentials"],
        }
    },
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.request": {"level": "ERROR"},
        "aistory.request": {"level": "INFO" if LOG_FORMAT == "json" else "WARNING"},
    },
}

# Every view inherits exactly one family base class (config/api/); nothing is inherited by
# --- Metrics and readiness (config/metrics.py, config/ready.py) -------------------------------
# /metrics answers only callers from these networks (CIDRs, comma-separated; the socket peer,
# or X-Forwarded-For as TRUSTED_PROXY_COUNT allows) or with `Authorization: Bearer
# <METRICS_TOKEN>`; anyone else gets 404.
METRICS_ALLOWED_NETWORKS = env_list("METRICS_ALLOWED_NETWORKS", ["127.0.0.0/8", "::1/128"])
METRICS_TOKEN = os.environ.get("METRICS_TOKEN", "")
# An empty directory shared by the server's workers (and the task worker): each process writes
# its metrics there and /metrics adds them up. Clear it before each start. Unset: per process.
PROMETHEUS_MULTIPROC_DIR = os.environ.get("PROMETHEUS_MULTIPROC_DIR", "")
# /api/ready gives each check (database, Redis, migrations) this long before it is "down".
READY_CHECK_TIMEOUT = float(os.environ.get("READY_CHECK_TIMEOUT", 3))
