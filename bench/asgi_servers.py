"""Benchmark ASGI servers (uvicorn vs granian) on a trivial Litestar endpoint.

Run from the repository root:  python -m bench.asgi_servers [--connections 64]

Each server is started as a subprocess with one worker on a free 127.0.0.1 port,
loaded with wrk against GET /ping, then stopped with SIGTERM. Prints one line per
server and, last, one JSON line with the numbers. Needs `wrk` on PATH and the
servers installed in the running interpreter; the driver itself is stdlib-only.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

APP_TARGET = "bench._trivial_app:app"
REPO_ROOT = Path(__file__).resolve().parent.parent

# Both servers get the fast event loop and no access log, so the comparison is fair.
SERVER_COMMANDS: dict[str, list[str]] = {
    "uvicorn": f"-m uvicorn {APP_TARGET} --workers 1 --loop uvloop --http httptools"
    " --no-access-log --log-level warning".split(),
    "granian": f"-m granian {APP_TARGET} --interface asgi --workers 1 --loop uvloop --log-level warning".split(),
    "granian_rloop": f"-m granian {APP_TARGET} --interface asgi --workers 1 --loop rloop --log-level warning".split(),
}


@dataclass
class Result:
    server: str
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int
    rss_mb: float
    exit_code: int | None
    shutdown_hook_ran: bool


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_ready(url: str, process: subprocess.Popen[bytes], timeout_s: float = 20.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited early with code {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=1) as response:  # noqa: S310 - our own http://127.0.0.1 URL
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"server did not answer {url} within {timeout_s}s")


def stop_with_sigterm(process: subprocess.Popen[bytes], timeout_s: float = 15.0) -> int | None:
    """SIGTERM is what systemd/docker send; return the exit code, or None if it had to be killed."""
    process.send_signal(signal.SIGTERM)
    try:
        return process.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        return None


def process_tree_rss_mb(root_pid: int) -> float:
    """RSS of a process and its descendants: granian serves from a child worker process."""
    pending, total_kb = [root_pid], 0
    while pending:
        pid = pending.pop()
        try:
            status = Path(f"/proc/{pid}/status").read_text()
            total_kb += int(re.search(r"VmRSS:\s+(\d+)", status).group(1))  # type: ignore[union-attr]
            for task in Path(f"/proc/{pid}/task").iterdir():
                pending += [int(child) for child in (task / "children").read_text().split()]
        except (OSError, AttributeError):
            continue  # process vanished or is a zombie without RSS
    return total_kb / 1024


def to_ms(value: str, unit: str) -> float:
    return float(value) * {"us": 1e-3, "ms": 1.0, "s": 1e3}[unit]


def run_wrk(url: str, threads: int, connections: int, duration: str) -> tuple[float, float, float, int]:
    """Return (requests/s, p50 ms, p99 ms, error count) parsed from `wrk --latency`.

    wrk pads second-valued latencies with spaces ("1.20s   "), so the pattern allows trailing blanks.
    """
    command = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{duration}", "--latency", url]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))  # type: ignore[union-attr]
    percentiles = {p: to_ms(v, u) for p, v, u in re.findall(r"^\s+(50|99)%\s+([\d.]+)(us|ms|s)\s*$", output, re.M)}
    # Socket errors and non-2xx answers both mean the number above is not trustworthy.
    errors = sum(int(n) for n in re.findall(r"(?:connect|read|write|timeout) (\d+)", output))
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    errors += int(non_2xx.group(1)) if non_2xx else 0
    return rps, percentiles["50"], percentiles["99"], errors


def benchmark(server: str, args: argparse.Namespace) -> Result:
    port = free_port()
    command = [sys.executable, *SERVER_COMMANDS[server], "--host", "127.0.0.1", "--port", str(port)]
    url = f"http://127.0.0.1:{port}/ping"
    # stderr goes to a file, not a pipe: a full pipe would stall the server mid-run.
    with tempfile.TemporaryFile() as server_log:
        process = subprocess.Popen(command, cwd=REPO_ROOT, stdout=server_log, stderr=subprocess.STDOUT)
        try:
            wait_until_ready(url, process)
            # A short warm-up so connection setup and lazy imports don't count.
            run_wrk(url, args.threads, args.connections, args.warmup)
            rps, p50_ms, p99_ms, errors = run_wrk(url, args.threads, args.connections, args.duration)
            rss_mb = process_tree_rss_mb(process.pid)
            exit_code = stop_with_sigterm(process)
        finally:
            if process.poll() is None:  # only on errors above: never leave a server running
                process.kill()
                process.wait()
        server_log.seek(0)
        shutdown_hook_ran = b"LIFESPAN shutdown" in server_log.read()
    return Result(server, rps, p50_ms, p99_ms, errors, rss_mb, exit_code, shutdown_hook_ran)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--servers",
        nargs="+",
        choices=SERVER_COMMANDS,
        default=["uvicorn", "granian"],
        help="servers to run, in this order (alternate it between runs: the machine is noisy)",
    )
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--threads", type=int, default=1, help="wrk threads (one core left for the server)")
    parser.add_argument("--duration", default="10s")
    parser.add_argument("--warmup", default="2s")
    return parser.parse_args()


def main() -> int:
    args = parse_args()
    if shutil.which("wrk") is None:
        print("error: `wrk` is not installed or not on PATH (Debian: apt-get install wrk)", file=sys.stderr)
        return 2
    summary: dict[str, float | int | bool | str | None] = {"connections": args.connections, "duration": args.duration}
    for server in args.servers:
        result = benchmark(server, args)
        print(
            f"{server:14} {result.rps:10.0f} req/s  p50 {result.p50_ms:6.2f} ms  p99 {result.p99_ms:6.2f} ms  "
            f"errors {result.errors}  rss {result.rss_mb:5.1f} MB  "
            f"sigterm exit {result.exit_code}  shutdown hook {'ran' if result.shutdown_hook_ran else 'NOT run'}"
        )
        summary |= {
            f"{server}_rps": round(result.rps, 1),
            f"{server}_p50_ms": result.p50_ms,
            f"{server}_p99_ms": result.p99_ms,
            f"{server}_errors": result.errors,
            f"{server}_rss_mb": round(result.rss_mb, 1),
        }
    if "uvicorn_rps" in summary and "granian_rps" in summary:
        summary["ratio_granian_over_uvicorn"] = round(summary["granian_rps"] / summary["uvicorn_rps"], 3)  # type: ignore[operator]
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
