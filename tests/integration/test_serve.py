"""`timebank serve` on the embedded path: starts, becomes ready, stops cleanly, and finds its data again."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

_READY_WITHIN_S = 60


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _serve(data_dir: Path, port: int) -> subprocess.Popen[bytes]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("TIMEBANK_")}
    env["TIMEBANK_DATA_DIR"] = str(data_dir)
    env["TIMEBANK_LOG_FORMAT"] = "json"
    return subprocess.Popen(
        [sys.executable, "-m", "timebank", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )


def _wait_ready(process: subprocess.Popen[bytes], port: int) -> dict[str, object]:
    deadline = time.monotonic() + _READY_WITHIN_S
    while time.monotonic() < deadline:
        assert process.poll() is None, process.stdout.read().decode() if process.stdout else "exited"
        try:
            response = httpx.get(f"http://127.0.0.1:{port}/health/ready", timeout=1)
            if response.status_code == 200:
                return dict(response.json())
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise AssertionError("timebank serve did not become ready")


def _stop(process: subprocess.Popen[bytes]) -> str:
    process.send_signal(signal.SIGTERM)
    output, _ = process.communicate(timeout=30)
    assert process.returncode == 0, output.decode()
    return output.decode()


def test_serve_embedded_starts_stops_and_restarts(tmp_path: Path) -> None:
    port = _free_port()
    first = _serve(tmp_path, port)
    try:
        assert _wait_ready(first, port)["migrations_current"] is True
    finally:
        output = _stop(first)
    assert '"event":"listening"' in output
    assert str(tmp_path / "pgdata") in output
    pgdata = tmp_path / "pgdata"
    assert (pgdata / "PG_VERSION").exists()
    assert not (pgdata / "postmaster.pid").exists(), "the embedded server outlived serve"

    second = _serve(tmp_path, port)
    try:
        ready = _wait_ready(second, port)
    finally:
        output = _stop(second)
    assert ready["pending_migrations"] == []
    assert '"applied":0' in output, "the second start should find the schema already migrated"
