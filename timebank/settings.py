"""Service settings, read once from ``TIMEBANK_*`` environment variables.

Every knob lives in :class:`Settings`. :meth:`Settings.from_env` is the only reader of the environment; a bad value
fails at start with a :class:`SettingsError` naming the variable, and secrets never appear in ``repr``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Literal

__all__ = ["Secret", "Settings", "SettingsError", "default_data_dir"]

LogFormat = Literal["auto", "json", "console"]
WeChatProviderName = Literal["dev", "wechat"]
_LOG_LEVELS = ("debug", "info", "warning", "error")


class SettingsError(ValueError):
    """A ``TIMEBANK_*`` variable holds a value the service cannot use."""

    def __init__(self, variable: str, problem: str) -> None:
        super().__init__(f"{variable}: {problem}")
        self.variable = variable


@dataclass(frozen=True, slots=True)
class Secret:
    """A string that keeps itself out of logs, tracebacks and ``repr``."""

    _value: str = field(repr=False)

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('**********')"

    __str__ = __repr__


def default_data_dir() -> Path:
    """The per-user data directory (XDG on Linux), where the embedded PostgreSQL keeps its files."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "timebank"


def _positive_int(raw: str) -> int:
    value = int(raw)
    if value < 1:
        raise ValueError("must be a positive integer")
    return value


def _port(raw: str) -> int:
    value = int(raw)
    if not 0 < value < 65536:
        raise ValueError("must be a TCP port between 1 and 65535")
    return value


def _choice(*allowed: str) -> Callable[[str], str]:
    def parse(raw: str) -> str:
        value = raw.strip().lower()
        if value not in allowed:
            raise ValueError(f"must be one of {', '.join(allowed)}")
        return value

    return parse


def _database_url(raw: str) -> Secret:
    if not raw.startswith(("postgres://", "postgresql://")):
        raise ValueError("must be a postgresql:// URL")
    return Secret(raw)


def _secret_key(raw: str) -> Secret:
    if len(raw) < 32:
        raise ValueError("must be at least 32 characters (e.g. `openssl rand -hex 32`)")
    return Secret(raw)


def _path(raw: str) -> Path:
    return Path(raw).expanduser()


@dataclass(frozen=True, slots=True, kw_only=True)
class Settings:
    """Everything the service can be configured with. Field metadata names the environment variable."""

    database_url: Secret | None = field(default=None, metadata={"env": "DATABASE_URL", "parse": _database_url})
    """PostgreSQL to use; when unset the service starts an embedded PostgreSQL in ``data_dir``."""

    data_dir: Path = field(default_factory=default_data_dir, metadata={"env": "DATA_DIR", "parse": _path})
    """Where the embedded PostgreSQL keeps its cluster."""

    host: str = field(default="127.0.0.1", metadata={"env": "HOST", "parse": str})
    port: int = field(default=8000, metadata={"env": "PORT", "parse": _port})
    workers: int = field(default=1, metadata={"env": "WORKERS", "parse": _positive_int})

    log_level: str = field(default="info", metadata={"env": "LOG_LEVEL", "parse": _choice(*_LOG_LEVELS)})
    log_format: LogFormat = field(
        default="auto", metadata={"env": "LOG_FORMAT", "parse": _choice("auto", "json", "console")}
    )

    db_pool_size: int = field(default=10, metadata={"env": "DB_POOL_SIZE", "parse": _positive_int})
    max_body_bytes: int = field(default=4 * 1024 * 1024, metadata={"env": "MAX_BODY_BYTES", "parse": _positive_int})
    """Largest request body accepted; a full ledger batch of 8,190 transfers fits in the default."""

    secret_key: Secret | None = field(default=None, metadata={"env": "SECRET_KEY", "parse": _secret_key})
    """Master key for token signatures and the keyed hash of ID numbers; when unset, one is generated once and kept
    in ``data_dir`` (see :mod:`timebank.keys`). Changing it signs everyone out and breaks ID-number matching."""

    wechat_provider: WeChatProviderName = field(
        default="dev", metadata={"env": "WECHAT_PROVIDER", "parse": _choice("dev", "wechat")}
    )
    """How mini-app login codes become openids: ``wechat`` calls WeChat's code2session; ``dev`` derives the openid
    from the code and returns phone verification codes in responses, for development only."""

    wechat_appid: str | None = field(default=None, metadata={"env": "WECHAT_APPID", "parse": str})
    wechat_secret: Secret | None = field(default=None, metadata={"env": "WECHAT_SECRET", "parse": Secret})
    """The mini-program's AppID and AppSecret, required with ``wechat_provider = wechat``."""

    access_token_minutes: int = field(default=15, metadata={"env": "ACCESS_TOKEN_MINUTES", "parse": _positive_int})
    refresh_token_days: int = field(default=30, metadata={"env": "REFRESH_TOKEN_DAYS", "parse": _positive_int})

    def __post_init__(self) -> None:
        if self.wechat_provider == "wechat":
            if not self.wechat_appid:
                raise SettingsError("TIMEBANK_WECHAT_APPID", "required when TIMEBANK_WECHAT_PROVIDER=wechat")
            if self.wechat_secret is None:
                raise SettingsError("TIMEBANK_WECHAT_SECRET", "required when TIMEBANK_WECHAT_PROVIDER=wechat")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Build settings from ``TIMEBANK_*`` variables; unset or empty variables keep their defaults.

        Raises:
            SettingsError: a variable is set to a value that does not parse.
        """
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for spec in fields(cls):
            variable = f"TIMEBANK_{spec.metadata['env']}"
            raw = env.get(variable, "").strip()
            if not raw:
                continue
            try:
                values[spec.name] = spec.metadata["parse"](raw)
            except ValueError as exc:
                raise SettingsError(variable, str(exc) or "invalid value") from None
        return cls(**values)
