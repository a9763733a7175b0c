"""Credentials never reach a log line.

A socket's `?token=<JWT>` and a signed media link's `?token=` are credentials that clients
must put in the URL (a browser cannot set headers on a WebSocket or an `<img>`), and servers
write the URL into their access logs. `RedactCredentials` is a logging filter that replaces
the value of every query parameter that carries one with `[redacted]`, in the message and in
its arguments, before any handler formats it. It is set on every handler that writes request
lines: uvicorn's (`uvicorn_log_config`) and Django's console handler (`settings.LOGGING`,
which Channels' `runserver`, daphne, logs through).
"""

from __future__ import annotations

import copy
import logging
import re
from collections.abc import Mapping

# Query parameters whose values are credentials, in any case.
SECRET_PARAMETERS = (
    "token",
    "access_token",
    "refresh_token",
    "refreshtoken",
    "id_token",
    "jwt",
    "api_key",
    "apikey",
    "key",
    "password",
    "secret",
    "signature",
    "sig",
    "auth",
    "authorization",
)
REDACTED = "[redacted]"
# A parameter name right after `?`, `&` or `;`, then its value up to the next separator. One
# bounded alternation per position and a value that never backtracks: linear in the line.
_SECRET_QUERY = re.compile(
    r"([?&;](?:" + "|".join(SECRET_PARAMETERS) + r")=)[^&;#\s\"'\]]*", re.IGNORECASE
)


def redact(text: str) -> str:
    """`text` with the value of every credential-carrying query parameter replaced."""
    if "=" not in text:
        return text
    return _SECRET_QUERY.sub(r"\1" + REDACTED, text)


def _redacted(value: object) -> object:
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, bytes):
        return redact(value.decode("latin-1")).encode("latin-1")
    return value


class RedactCredentials(logging.Filter):
    """Rewrite a record's message and arguments before any handler formats them."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(_redacted(argument) for argument in record.args)
        elif isinstance(record.args, Mapping):
            record.args = {key: _redacted(value) for key, value in record.args.items()}
        return True


FILTER_CONFIG = {"()": "config.logredact.RedactCredentials"}


def uvicorn_log_config() -> dict:
    """uvicorn's own logging configuration with the filter on each of its handlers; with
    LOG_FORMAT=json its lines are JSON too, and its access line gives way to the richer
    request line of config/requestlog.py."""
    from django.conf import settings
    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config.setdefault("filters", {})["redact_credentials"] = FILTER_CONFIG
    for handler in config["handlers"].values():
        handler.setdefault("filters", []).append("redact_credentials")
    if settings.LOG_FORMAT == "json":
        from config.logformat import FORMATTER_CONFIG

        config["formatters"] = {name: dict(FORMATTER_CONFIG) for name in config["formatters"]}
        config["loggers"]["uvicorn.access"]["handlers"] = []  # uvicorn sets its level later
    return config
