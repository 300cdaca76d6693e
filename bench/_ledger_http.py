"""HTTP phase of the ledger benchmark (bench.ledger): `timebank serve` loaded with wrk.

Starts the real service as a subprocess on the benchmark's database, measures GET /health/live (what the stack
costs with no work) and POST /v1/ledger/transfer (one transfer per request, unique ids from a Lua script), then
stops it with SIGTERM. When the transfer endpoint answers 404 (not built yet) only the trivial figure is measured.
Transfers carry a service account's Bearer token (``timebank token --system``), signed with a key made for the run.
"""

from __future__ import annotations

import json
import os
import random
import re
import secrets
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from bench.asgi_servers import free_port, stop_with_sigterm, to_ms, wait_until_ready

__all__ = ["HttpFigures", "run_http_phase"]

REPO_ROOT = Path(__file__).resolve().parent.parent
TRANSFER_PATH = "/v1/ledger/transfer"

# Every request posts a fresh random UUIDv4 id; half of them earn from the community's issuance account (hot row),
# half move points between two distinct users, as in the grouped phase.
_LUA_TEMPLATE = """
local users = {%(users)s}
local issuance = "%(issuance)s"
local next_thread = 0

function setup(thread)
  thread:set("thread_no", next_thread)
  next_thread = next_thread + 1
end

function init(args)
  -- Each wrk run passes its own seed: a warm-up and the measured run must not post the same ids.
  math.randomseed(tonumber(args[1]) + (thread_no or 0) * 7919)
end

local function hex4()
  return string.format("%%04x", math.random(0, 65535))
end

local function uuid4()
  return hex4() .. hex4() .. "-" .. hex4() .. "-" .. string.format("4%%03x", math.random(0, 4095)) .. "-"
    .. string.format("%%04x", 32768 + math.random(0, 16383)) .. "-" .. hex4() .. hex4() .. hex4()
end

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
%(auth)s

function request()
  local credit_no = math.random(#users)
  local debit, code
  if math.random(2) == 1 then
    debit, code = issuance, %(issuance_code)d
  else
    local debit_no = math.random(#users - 1)
    if debit_no >= credit_no then debit_no = debit_no + 1 end
    debit, code = users[debit_no], %(gift_code)d
  end
  local body = string.format(
    '{"id":"%%s","debit_account_id":"%%s","credit_account_id":"%%s","amount":1,"code":%%d}',
    uuid4(), debit, users[credit_no], code)
  return wrk.format(nil, "%(path)s", nil, body)
end
"""


@dataclass(frozen=True, slots=True)
class WrkRun:
    rps: float
    p50_ms: float
    p99_ms: float
    requests: int
    errors: int


@dataclass(frozen=True, slots=True)
class HttpFigures:
    trivial: WrkRun
    transfer: WrkRun | None  # None: the endpoint is not there (404) or refused a valid transfer
    skipped_because: str | None
    posted: int = 0  # transfer requests answered in all (probe, warm-up, run), to compare with rows committed
    trivial_after: WrkRun | None = None  # the trivial endpoint again, right after the transfer run

    @property
    def trivial_rps(self) -> float:
        """The baseline: the mean of the trivial runs before and after, as the machine's speed drifts within a run."""
        runs = [self.trivial] + ([self.trivial_after] if self.trivial_after else [])
        return sum(run.rps for run in runs) / len(runs)


def _run_wrk(url: str, *, connections: int, duration: str, script: Path | None = None) -> WrkRun:
    command = ["wrk", "-t1", f"-c{connections}", f"-d{duration}", "--latency", url]
    if script is not None:
        command[1:1] = ["-s", str(script)]
        command += ["--", str(random.randrange(1, 2**31))]  # the script's random seed
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))  # type: ignore[union-attr]
    requests = int(re.search(r"(\d+) requests in", output).group(1))  # type: ignore[union-attr]
    percentiles = {p: to_ms(v, u) for p, v, u in re.findall(r"^\s+(50|99)%\s+([\d.]+)(us|ms|s)\s*$", output, re.M)}
    # Socket errors and non-2xx answers both mean the throughput above is not trustworthy.
    errors = sum(int(n) for n in re.findall(r"(?:connect|read|write|timeout) (\d+)", output))
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    errors += int(non_2xx.group(1)) if non_2xx else 0
    return WrkRun(rps, percentiles["50"], percentiles["99"], requests, errors)


def _post_one(base_url: str, body: dict[str, object], token: str | None) -> tuple[int, str]:
    headers = {"Content-Type": "application/json"} | ({"Authorization": f"Bearer {token}"} if token else {})
    request = urllib.request.Request(  # noqa: S310 - our own http://127.0.0.1 URL
        base_url + TRANSFER_PATH, data=json.dumps(body).encode(), headers=headers, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            return response.status, response.read().decode()
    except urllib.error.HTTPError as refused:
        return refused.code, refused.read().decode()


def _lua_script(
    issuance: uuid.UUID, users: Sequence[uuid.UUID], issuance_code: int, gift_code: int, token: str | None
) -> str:
    return _LUA_TEMPLATE % {
        "users": ",".join(f'"{user}"' for user in users),
        "issuance": issuance,
        "issuance_code": issuance_code,
        "gift_code": gift_code,
        "path": TRANSFER_PATH,
        "auth": f'wrk.headers["Authorization"] = "Bearer {token}"' if token else "",
    }


def _system_token(env: dict[str, str]) -> str | None:
    """A token for a service account, from ``timebank token --system`` with the server's key (None: no such CLI)."""
    command = [sys.executable, "-m", "timebank", "token", "--system", "bench", "--minutes", "120"]
    minted = subprocess.run(command, cwd=REPO_ROOT, env=env, capture_output=True, text=True, check=False)
    return minted.stdout.strip() or None if minted.returncode == 0 else None


def run_http_phase(
    database_url: str,
    *,
    issuance: uuid.UUID,
    users: Sequence[uuid.UUID],
    issuance_code: int,
    gift_code: int,
    connections: int,
    duration: str,
    warmup: str,
) -> HttpFigures:
    """Serve the app on ``database_url`` and load it; the server is always stopped before returning."""
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    env = {key: value for key, value in os.environ.items() if not key.startswith("TIMEBANK_")}
    env |= {"TIMEBANK_DATABASE_URL": database_url, "TIMEBANK_LOG_LEVEL": "warning", "TIMEBANK_LOG_FORMAT": "json"}
    # The API wants a Bearer token: the server and `timebank token` share this throwaway key.
    env["TIMEBANK_SECRET_KEY"] = secrets.token_hex(32)
    command = [sys.executable, "-m", "timebank", "serve", "--port", str(port)]
    with tempfile.TemporaryDirectory() as scratch, tempfile.TemporaryFile() as server_log:
        # The log goes to a file, not a pipe: a full pipe would stall the server mid-run.
        process = subprocess.Popen(command, cwd=REPO_ROOT, env=env, stdout=server_log, stderr=subprocess.STDOUT)
        try:
            wait_until_ready(f"{base_url}/health/ready", process, timeout_s=60)
            live = f"{base_url}/health/live"
            _run_wrk(live, connections=connections, duration=warmup)
            trivial = _run_wrk(live, connections=connections, duration=duration)

            token = _system_token(env)
            status, answer = _post_one(
                base_url,
                {
                    "id": str(uuid.uuid4()),
                    "debit_account_id": str(issuance),
                    "credit_account_id": str(users[0]),
                    "amount": 1,
                    "code": issuance_code,
                },
                token,
            )
            if status == 404:
                return HttpFigures(trivial, None, f"POST {TRANSFER_PATH} answered 404 (endpoint not built yet)")
            if not 200 <= status < 300:
                return HttpFigures(trivial, None, f"POST {TRANSFER_PATH} answered {status}: {answer[:300]}")

            script = Path(scratch) / "transfer.lua"
            script.write_text(_lua_script(issuance, users, issuance_code, gift_code, token), encoding="utf-8")
            url = base_url + TRANSFER_PATH
            warm = _run_wrk(url, connections=connections, duration=warmup, script=script)
            transfer = _run_wrk(url, connections=connections, duration=duration, script=script)
            after = _run_wrk(live, connections=connections, duration=duration)
            posted = 1 + warm.requests + transfer.requests
            return HttpFigures(trivial, transfer, None, posted=posted, trivial_after=after)
        finally:
            stop_with_sigterm(process)  # kills it if SIGTERM does not end it: never leave a server running
