"""Plumbing for the crash test: a throwaway database, ``timebank serve`` in a process group of its own, kill -9.

Every wait here has a deadline, so a server that never comes up or never dies fails the test instead of hanging it.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import httpx

from tests.conftest import _with_database

READY_WITHIN_S = 30
GONE_WITHIN_S = 10
VERIFY_WITHIN_S = 60

# Client sessions only: an autovacuum worker may visit the database at any time and is no concern of ours.
_SESSIONS = "SELECT count(*) FROM pg_stat_activity WHERE datname = $1 AND backend_type = 'client backend'"


@asynccontextmanager
async def throwaway_database(server_url: str) -> AsyncIterator[str]:
    """An empty database of its own (``timebank serve`` migrates it), dropped at the end whatever happened."""
    name = f"timebank_crash_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(server_url)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    try:
        yield _with_database(server_url, name)
    finally:
        admin = await asyncpg.connect(server_url)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()


async def wait_sessions_gone(server_url: str, database_url: str) -> None:
    """Wait until no session is connected to ``database_url``'s database: the killed server's work has settled.

    PostgreSQL ends a backend whose client died and rolls back its open transaction; a COMMIT it was already running
    still completes. Once every such backend is gone, what the database holds can no longer change behind our back.
    """
    name = database_url.partition("?")[0].rsplit("/", 1)[1]
    admin = await asyncpg.connect(server_url)
    try:
        deadline = time.monotonic() + GONE_WITHIN_S
        while remaining := await admin.fetchval(_SESSIONS, name):
            assert time.monotonic() < deadline, f"{remaining} session(s) of the killed server outlived it"
            await asyncio.sleep(0.05)
    finally:
        await admin.close()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _group_members(pgid: int) -> list[int]:
    """Live (not zombie) processes of process group ``pgid``, read from /proc."""
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:  # the process ended while we looked
            continue
        # pid (comm) state ppid pgrp ...; comm may hold spaces and parentheses, so split after the last ')'.
        state, _ppid, pgrp = stat.rpartition(")")[2].split()[:3]
        if int(pgrp) == pgid and state != "Z":
            members.append(int(entry.name))
    return members


@dataclass
class Server:
    """A ``timebank serve`` process (Granian's master, leader of its own process group) and its workers."""

    process: subprocess.Popen[bytes]
    port: int
    log: Path

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def group(self) -> list[int]:
        return _group_members(self.process.pid)

    def output(self) -> str:
        """The tail of what the server wrote, for assertion messages."""
        return self.log.read_text(errors="replace")[-4000:]


def start_serve(database_url: str, log: Path) -> Server:
    """``python -m timebank serve`` on ``database_url`` with one worker on a free port, output to ``log``.

    Output goes to a file, not a pipe: the service writes a line per request, and a pipe nobody reads would fill
    and stall it.
    """
    env = {key: value for key, value in os.environ.items() if not key.startswith("TIMEBANK_")}
    env |= {"TIMEBANK_DATABASE_URL": database_url, "TIMEBANK_LOG_FORMAT": "json", "TIMEBANK_DATA_DIR": str(log.parent)}
    port = _free_port()
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "timebank", "serve", "--port", str(port), "--workers", "1"],
            env=env, stdout=sink, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    return Server(process, port, log)


async def wait_ready(server: Server, client: httpx.AsyncClient) -> None:
    deadline = time.monotonic() + READY_WITHIN_S
    while time.monotonic() < deadline:
        assert server.process.poll() is None, f"serve exited with {server.process.returncode}:\n{server.output()}"
        try:
            response = await client.get(f"{server.base_url}/health/ready", timeout=1)
            if response.status_code == 200:
                return
        except httpx.TransportError:
            pass
        await asyncio.sleep(0.05)
    raise AssertionError(f"serve was not ready within {READY_WITHIN_S}s:\n{server.output()}")


async def kill_group(server: Server) -> None:
    """kill -9 the whole process group at once (master and workers): no handler runs, nothing is flushed."""
    os.killpg(server.process.pid, signal.SIGKILL)
    await wait_gone(server)


async def wait_gone(server: Server) -> None:
    """Reap the master and wait until no process of its group is alive."""
    deadline = time.monotonic() + GONE_WITHIN_S
    while server.process.poll() is None or server.group():
        assert time.monotonic() < deadline, f"still alive after {GONE_WITHIN_S}s: {server.group()}"
        await asyncio.sleep(0.02)


async def stop(server: Server) -> None:
    """Cleanup: SIGTERM, then SIGKILL to whatever of the group is left; safe on a server already dead."""
    if server.process.poll() is None:
        server.process.send_signal(signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            await asyncio.to_thread(server.process.wait, GONE_WITHIN_S)
    if server.process.poll() is None or server.group():
        os.killpg(server.process.pid, signal.SIGKILL)
        await wait_gone(server)


def verify_ledger(database_url: str) -> subprocess.CompletedProcess[str]:
    """``python -m timebank ledger verify`` against ``database_url`` (blocking; run it in a thread)."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("TIMEBANK_")}
    env["TIMEBANK_DATABASE_URL"] = database_url
    return subprocess.run(
        [sys.executable, "-m", "timebank", "ledger", "verify"],
        env=env, capture_output=True, text=True, timeout=VERIFY_WITHIN_S, check=False,
    )  # fmt: skip
