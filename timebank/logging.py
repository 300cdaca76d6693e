"""structlog configuration: readable lines on a terminal, one JSON object per line everywhere else."""

from __future__ import annotations

import logging
import sys

import msgspec
import structlog

from timebank.settings import Settings

__all__ = ["configure_logging"]

_ENCODER = msgspec.json.Encoder(enc_hook=str)


def _to_json(event: object, **_: object) -> bytes:
    # structlog passes json.dumps-style keywords (``default=``); msgspec's ``enc_hook`` plays that part.
    return _ENCODER.encode(event)


_LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING, "error": logging.ERROR}


def configure_logging(settings: Settings, *, cache: bool = True) -> None:
    """Route structlog to stdout, rendering JSON unless stdout is a terminal (or the format is forced).

    Args:
        settings: supplies the level and the format.
        cache: cache bound loggers; tests switch it off so ``capture_logs`` sees every call.
    """
    as_json = settings.log_format == "json" or (settings.log_format == "auto" and not sys.stdout.isatty())
    shared: list[structlog.typing.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    processors: list[structlog.typing.Processor]
    if as_json:
        # Tracebacks as data, without local variables: locals can hold secrets and personal data.
        tracebacks = structlog.processors.ExceptionRenderer(
            structlog.tracebacks.ExceptionDictTransformer(show_locals=False)
        )
        processors = [*shared, tracebacks, structlog.processors.JSONRenderer(_to_json)]
        factory: structlog.typing.WrappedLogger = structlog.BytesLoggerFactory()
    else:
        processors = [*shared, structlog.dev.ConsoleRenderer()]
        factory = structlog.PrintLoggerFactory()
    structlog.configure(
        processors=processors,
        wrapper_class=structlog.make_filtering_bound_logger(_LEVELS[settings.log_level]),
        logger_factory=factory,
        cache_logger_on_first_use=cache,
    )
    # Libraries that log through the standard library (asyncpg, uvicorn) stay quiet below warnings.
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format="%(levelname)s %(name)s %(message)s")
