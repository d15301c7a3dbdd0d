"""structlog for the whole process: our own events, mockhttp's stdlib loggers and Granian's.

Every record goes through one `ProcessorFormatter`: human-readable on a terminal, JSON lines
otherwise (log shippers read JSON; people read consoles).
"""

import logging
import logging.config
import sys
from typing import Any

import msgspec
import structlog

_JSON_ENCODER = msgspec.json.Encoder(enc_hook=repr)


def _json_serializer(value: Any, **_ignored: Any) -> str:
    """Adapt msgspec to structlog: its JSONRenderer passes `default=`; msgspec's encoder has its own hook."""
    return _JSON_ENCODER.encode(value).decode()


def _shared_processors() -> list[Any]:
    return [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.stdlib.ExtraAdder(),
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]


def make_formatter(json_output: bool) -> structlog.stdlib.ProcessorFormatter:
    """The one formatter (referenced by name from the dictConfig, so workers can build it)."""
    renderer: Any = (
        structlog.processors.JSONRenderer(serializer=_json_serializer)
        if json_output
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    return structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=_shared_processors(),
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            renderer,
        ],
    )


class InjectedAbortFilter(logging.Filter):
    """Drop Granian's traceback for an answer broken on purpose (an `abort` fault).

    An injected abort leaves the app as an exception, which is how an ASGI app makes the
    server drop a connection; Granian logs every such exception as an error. The fault itself
    is logged once, as a warning, when it is drawn.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        """Keep every record but the traceback of an injected abort."""
        exc_info = record.exc_info
        if exc_info and type(exc_info[1]).__name__ == "InjectedAbort":
            return False
        return "InjectedAbort" not in record.getMessage()


def wants_json() -> bool:
    """JSON unless a person is watching the terminal."""
    return not sys.stderr.isatty()


def logging_dictconfig(level: str, json_output: bool) -> dict[str, Any]:
    """A complete dictConfig (Granian merges top-level keys, so give them all)."""
    handler = {"class": "logging.StreamHandler", "formatter": "structured", "stream": "ext://sys.stderr"}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"structured": {"()": "mockcli.logs.make_formatter", "json_output": json_output}},
        "filters": {"injected_abort": {"()": "mockcli.logs.InjectedAbortFilter"}},
        "handlers": {"stderr": {**handler, "filters": ["injected_abort"]}},
        "root": {"handlers": ["stderr"], "level": level},
        "loggers": {
            "_granian": {"handlers": ["stderr"], "level": level, "propagate": False},
            "granian.access": {"handlers": ["stderr"], "level": level, "propagate": False},
        },
    }


def configure_logging(level: str, json_output: bool) -> None:
    """Configure stdlib logging and structlog in this process (master or worker)."""
    logging.config.dictConfig(logging_dictconfig(level, json_output))
    structlog.configure(
        processors=[*_shared_processors(), structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelNamesMapping()[level]),
        cache_logger_on_first_use=True,
    )
