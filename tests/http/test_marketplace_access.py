"""Marketplace rows read the same whether they are in another community or not there at all."""

from __future__ import annotations

import uuid

import httpx

from tests.auth_support import Org, headers_for
from tests.http.authz.marketplace import M, _need, _order
from timebank.access.principal import Role
from timebank.db import EVERY_COMMUNITY, bound


async def test_a_foreign_order_reads_exactly_like_a_missing_one(client: httpx.AsyncClient, org: Org) -> None:
    home, foreign = await org.community(), await org.community()
    staff = await org.person(home, Role.community_staff)
    stranger = await org.person(foreign)
    async with bound(org.pool, EVERY_COMMUNITY) as connection:
        order_id = await _order(connection, await _need(connection, stranger.id, foreign))
    answers = []
    for target in (order_id, uuid.uuid4()):
        response = await client.post(
            f"{M}/orders/{target}/claims", json={"id": str(uuid.uuid4())}, headers=headers_for(staff)
        )
        answers.append(
            (
                response.status_code,
                {k: v for k, v in response.json().items() if k not in ("instance", "request_id", "order_id")},
            )
        )
    assert answers[0] == answers[1]
    assert answers[0][0] == 404
