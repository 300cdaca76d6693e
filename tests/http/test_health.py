"""Probes: liveness always answers; readiness needs the database and a current schema."""

import httpx

from timebank.app import create_app
from timebank.db import Database
from timebank.settings import Settings


async def test_live(client: httpx.AsyncClient) -> None:
    response = await client.get("/health/live")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_ready_when_migrated(client: httpx.AsyncClient) -> None:
    response = await client.get("/health/ready")
    assert response.status_code == 200
    assert response.json()["migrations_current"] is True


async def test_not_ready_when_database_unreachable() -> None:
    # Never opened: stands for a database that is gone.
    unreachable = Database("postgresql://nobody@127.0.0.1:1/none")
    app = create_app(Settings(), database=unreachable)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        response = await client.get("/health/ready")
    assert response.status_code == 503
    assert response.json()["database"] is False
