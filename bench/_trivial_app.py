"""Trivial Litestar app served by the ASGI-server benchmark (bench.asgi_servers).

The lifespan hooks print to stderr so a human can check that a server runs
Litestar's startup/shutdown correctly (e.g. after SIGTERM or Ctrl-C).
"""

import os
import sys

import msgspec
from litestar import Litestar, get


class Pong(msgspec.Struct):
    message: str
    pid: int


@get("/ping", sync_to_thread=False)
def ping() -> Pong:
    return Pong(message="pong", pid=os.getpid())


def _on_startup() -> None:
    print(f"LIFESPAN startup pid={os.getpid()}", file=sys.stderr, flush=True)


def _on_shutdown() -> None:
    print(f"LIFESPAN shutdown pid={os.getpid()}", file=sys.stderr, flush=True)


def create_app() -> Litestar:
    """Factory target, so servers can also be tested in factory mode."""
    return Litestar(route_handlers=[ping], on_startup=[_on_startup], on_shutdown=[_on_shutdown])


app = create_app()
