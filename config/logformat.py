"""`LOG_FORMAT=json`: one JSON object per log line, for log shippers.

Every record has `time` (UTC, ISO 8601), `level`, `logger` and `message`; a request's line
(config/requestlog.py) also has `request_id`, `family`, `route`, `method`, `status`,
`duration_ms`, `user_id` and `turn_id` where known. The credential filter
(config/logredact.py) runs on the handler first, so a message never holds a token, and no
field ever holds one: a user is named by its public id.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime

FIELDS = (
    "request_id",
    "family",
    "route",
    "method",
    "status",
    "duration_ms",
    "user_id",
    "turn_id",
)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for field in FIELDS:
            value = getattr(record, field, None)
            if value is not None:
                entry[field] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


FORMATTER_CONFIG = {"()": "config.logformat.JsonFormatter"}
