"""Structured logs: one JSON object per line (UPTAKE_LOG_FORMAT=json), and one record per request.

Every record has `time` (UTC, ISO 8601 with milliseconds), `level`, `logger` and `message`; a
record about a request adds `method`, `path`, `status` and `duration_ms`; an exception adds
`exception` (the formatted traceback). Anything passed to the logger in `extra=` that JSON can
hold is kept under its own name; objects that it cannot are written as their `str`.

`RequestLog` (a middleware, first in settings.MIDDLEWARE) logs every request to the logger
`uptake.request` at INFO, after the answer is made: set UPTAKE_LOG_LEVEL=INFO to see them. The
query string is left out (it can hold search terms a person typed; the path is enough to find a
page), and so are addresses and user names.

The same formatter serves gunicorn's own logs (see docs/operations.md, `logconfig_dict`):

    "formatters": {"json": {"()": "uptake.web.logging.JsonFormatter"}}
"""

from __future__ import annotations

import json
import logging
import time
from datetime import datetime, timezone

# Attributes every LogRecord has: not copied as extras.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime", "taskName"}
# Extras of Django's own records that are objects, read for the request fields instead.
_DJANGO_OBJECTS = {"request", "server_time", "status_code"}


class JsonFormatter(logging.Formatter):
    """A log record as one line of JSON."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds")
                    .replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update(_request_fields(record))
        for key, value in vars(record).items():
            if key in _STANDARD or key in _DJANGO_OBJECTS or key in entry or key.startswith("_"):
                continue
            entry[key] = _plain(value)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            entry["exception"] = record.exc_text
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def _request_fields(record: logging.LogRecord) -> dict:
    """method, path and status from Django's records (django.request, django.server), which carry
    the request object and `status_code`."""
    fields = {}
    request = getattr(record, "request", None)
    method, path = getattr(request, "method", None), getattr(request, "path", None)
    if isinstance(method, str) and isinstance(path, str):
        fields["method"], fields["path"] = method, path
    status = getattr(record, "status_code", None)
    if isinstance(status, int):
        fields["status"] = status
    return fields


def _plain(value):
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return str(value)


request_log = logging.getLogger("uptake.request")


class RequestLog:
    """One log record per request: method, path, status and how long the answer took (ms)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter()
        response = self.get_response(request)
        if request_log.isEnabledFor(logging.INFO):
            ms = round((time.perf_counter() - started) * 1000, 1)
            request_log.info("%s %s %s %.1f ms", request.method, request.path, response.status_code, ms,
                             extra={"method": request.method, "path": request.path,
                                    "status": response.status_code, "duration_ms": ms})
        return response


def logging_config(fmt: str, level: str) -> dict:
    """settings.LOGGING for UPTAKE_LOG_FORMAT (`text` or `json`) and UPTAKE_LOG_LEVEL."""
    fmt = (fmt or "text").strip().lower()
    if fmt not in ("text", "json"):
        raise ValueError(f"UPTAKE_LOG_FORMAT={fmt!r}: expected text or json")
    level = (level or "WARNING").strip().upper()
    if level not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
        raise ValueError(f"UPTAKE_LOG_LEVEL={level!r}: expected DEBUG, INFO, WARNING, ERROR or CRITICAL")
    formatter = {"()": "uptake.web.logging.JsonFormatter"} if fmt == "json" else \
        {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"uptake": formatter},
        "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "uptake"}},
        "root": {"handlers": ["console"], "level": level},
        # Django's own handlers (mail to admins, its console handler when DEBUG) are replaced by
        # the root's, so that every line has the same format.
        "loggers": {
            "django": {"handlers": [], "level": level, "propagate": True},
            "django.server": {"handlers": [], "level": level, "propagate": True},
        },
    }
