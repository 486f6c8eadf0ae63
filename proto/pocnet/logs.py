"""Structured logs of both daemons: one JSON object per line, which journald stores as is.

Fields passed with `extra=` (event, reason, …) become top-level keys, so an owner can
`journalctl -u pocnet-hotspot -o cat | jq 'select(.event=="beacon_sent")'`, and an operator the
same with `-u pocnet-oracle`. One format for both roles: one set of tools reads either.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from typing import Any, TextIO

_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                out[key] = value
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return json.dumps(out, default=str)


def configure(level: str, stream: TextIO | None = None) -> None:
    """Route every logger to one JSON handler at `level` (the daemon's only logging setup);
    stdout unless `stream` says otherwise (the oracle keeps stdout for its ready line)."""
    handler = logging.StreamHandler(stream or sys.stdout)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    logging.getLogger("grpc").setLevel(logging.WARNING)
