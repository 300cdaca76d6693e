"""The party-assessment API over HTTP: a year in short, replays, problem documents that name the field."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from tests.auth_support import SYSTEM, Org, headers_for
from tests.integration.scoring.support import Setup, build
from timebank.db import Database

CATALOGUE: dict[str, Any] = {
    "effective_from": "2026-01-01",
    "base_score": 60,
    "period_cap": 30,
    "items": [
        {"code": "three_meetings", "name": "三会一课", "kind": "bonus", "source": "manual", "points": 3, "cap": 12},
        {"code": "study_notes", "name": "学习笔记", "kind": "bonus", "source": "manual", "points": 1, "cap": 4,
         "evidence_required": True},
        {"code": "pledge_kept", "name": "承诺践诺", "kind": "bonus", "source": "pledge", "points": 10},
        {"code": "appraisal", "name": "民主评议", "kind": "bonus", "source": "appraisal", "points": 20},
    ],
}  # fmt: skip


async def _open_year(client: httpx.AsyncClient, setup: Setup) -> str:
    staff = headers_for(setup.staff)
    base = f"/v1/scoring/communities/{setup.community}"
    published = await client.post(f"{base}/catalogues", json={"id": str(uuid.uuid4()), **CATALOGUE}, headers=staff)
    assert published.status_code == 201, published.text
    period = {"id": str(uuid.uuid4()), "name": "2026", "starts_on": "2026-01-01", "ends_on": "2026-12-31"}
    opened = await client.post(f"{base}/periods", json=period, headers=staff)
    again = await client.post(f"{base}/periods", json=period, headers=staff)
    assert (opened.status_code, again.status_code) == (201, 200), opened.text
    return str(opened.json()["id"])


async def test_a_short_year_over_http(client: httpx.AsyncClient, org: Org, database: Database) -> None:
    setup = await build(org, database, members=2)
    period = await _open_year(client, setup)
    me, peer = setup.members
    member = f"/v1/scoring/periods/{period}/members/{me.id}"
    secretary, staff = headers_for(setup.secretary), headers_for(setup.staff)

    entry = {"id": str(uuid.uuid4()), "item_code": "three_meetings", "occurred_on": "2026-03-10", "quantity": 5}
    recorded = await client.post(f"{member}/entries", json=entry, headers=secretary)
    replayed = await client.post(f"{member}/entries", json=entry, headers=secretary)
    assert (recorded.status_code, replayed.status_code) == (201, 200)
    assert (recorded.json()["amount"], recorded.json()["capped"]) == (12, 3)

    report = {
        "id": str(uuid.uuid4()),
        "item_code": "study_notes",
        "occurred_on": "2026-04-01",
        "evidence": ["笔记.jpg"],
    }
    reported = await client.post(f"{member}/reports", json=report, headers=headers_for(me))
    assert reported.status_code == 201, reported.text
    queue = await client.get(f"/v1/scoring/periods/{period}/entries", headers=secretary)
    assert [e["id"] for e in queue.json()] == [report["id"]]
    own_approval = await client.post(f"/v1/scoring/entries/{report['id']}/approve", json={}, headers=headers_for(me))
    assert own_approval.status_code == 403  # members decide nothing, their own reports least of all
    approved = await client.post(f"/v1/scoring/entries/{report['id']}/approve", json={}, headers=secretary)
    assert (approved.status_code, approved.json()["status"]) == (200, "posted")

    pledge = {"id": str(uuid.uuid4()), "content": "每周为独居老人送餐", "due_on": "2026-06-30"}
    published = await client.post(f"{member}/pledges", json=pledge, headers=headers_for(me))
    assert published.status_code == 201
    kept = await client.post(
        f"/v1/scoring/pledges/{pledge['id']}/fulfilment", json={"evidence": ["送餐记录.xlsx"]}, headers=headers_for(me)
    )
    assert kept.json()["status"] == "reported"
    for who, score in ((setup.secretary, 90), (peer, 80), (setup.resident, 100)):
        review = {"id": str(uuid.uuid4()), "pledge_id": pledge["id"], "score": score}
        reviewed = await client.post(f"{member}/reviews", json=review, headers=headers_for(who))
        assert reviewed.status_code == 201, reviewed.text
    self_review = {"id": str(uuid.uuid4()), "pledge_id": pledge["id"], "score": 100}
    refused = await client.post(f"{member}/reviews", json=self_review, headers=headers_for(me))
    assert (refused.status_code, refused.json()["type"].rsplit("/", 1)[1]) == (422, "scoring-self-assessment")
    assessed = await client.post(f"/v1/scoring/pledges/{pledge['id']}/assessment", headers=secretary)
    assert (assessed.status_code, assessed.json()["status"], assessed.json()["review_score"]) == (200, "fulfilled", 90)

    appraisal = await client.post(f"{member}/appraisal", json={"points": 15}, headers=secretary)
    assert appraisal.json()["amount"] == 15
    standing = await client.get(f"{member}/standing", headers=headers_for(me))
    assert standing.status_code == 200
    body = standing.json()
    assert body["total"] == 60 + 12 + 1 + 10 + 15
    assert sum(item["points"] for item in body["breakdown"]) == body["total"]
    assert (body["community_rank"], body["group_rank"], body["group_size"]) == (1, 1, 2)
    board = await client.get(f"/v1/scoring/periods/{period}/leaderboard", headers=headers_for(setup.resident))
    assert board.json()[0]["person_id"] == str(me.id)

    closed = await client.post(f"/v1/scoring/periods/{period}/close", headers=staff)
    assert closed.json()["status"] == "closed"
    late = await client.post(
        f"{member}/entries", json={**entry, "id": str(uuid.uuid4()), "quantity": 1}, headers=secretary
    )
    assert (late.status_code, late.json()["type"].rsplit("/", 1)[1]) == (422, "scoring-period-closed")

    list_id = str(uuid.uuid4())
    drafted = await client.post(f"/v1/scoring/periods/{period}/rating-list", json={"id": list_id}, headers=staff)
    assert drafted.status_code == 201
    stars = {r["person_id"]: r["stars"] for r in drafted.json()["ratings"]}
    assert stars[str(me.id)] == 5  # 98
    await client.post(f"/v1/scoring/rating-lists/{list_id}/publish", headers=staff)
    objection = {"id": str(uuid.uuid4()), "person_id": str(peer.id), "reason": "应为三星"}
    filed = await client.post(f"/v1/scoring/rating-lists/{list_id}/objections", json=objection, headers=headers_for(me))
    assert filed.status_code == 201, filed.text
    resolved = await client.post(
        f"/v1/scoring/objections/{objection['id']}/resolution",
        json={"upheld": True, "new_stars": 3, "resolution": "支部复核同意"},
        headers=secretary,
    )
    assert resolved.json()["status"] == "upheld"
    early = await client.post(f"/v1/scoring/rating-lists/{list_id}/finalise", headers=staff)
    assert early.status_code == 409  # the notice period runs five days
    shown = await client.get(f"/v1/scoring/rating-lists/{list_id}", headers=headers_for(setup.resident))
    ratings = {r["person_id"]: r for r in shown.json()["ratings"]}
    assert (ratings[str(peer.id)]["stars"], ratings[str(peer.id)]["objection_id"]) == (3, objection["id"])


async def test_bad_input_names_the_field(client: httpx.AsyncClient, org: Org, database: Database) -> None:
    setup = await build(org, database, members=1)
    period = await _open_year(client, setup)
    member = f"/v1/scoring/periods/{period}/members/{setup.members[0].id}"
    secretary = headers_for(setup.secretary)
    cases = [
        (f"{member}/entries", {"id": str(uuid.uuid4()), "item_code": "three_meetings", "occurred_on": "2026-03-10",
                               "quantity": 0}, 400, "quantity"),
        (f"{member}/entries", {"id": str(uuid.uuid4()), "item_code": "Three Meetings", "occurred_on": "2026-03-10"},
         400, "item_code"),
        (f"{member}/entries", {"id": str(uuid.uuid4()), "item_code": "no_such_item", "occurred_on": "2026-03-10"},
         422, "item_code"),
        (f"{member}/entries", {"id": str(uuid.uuid4()), "item_code": "study_notes", "occurred_on": "2026-03-10"},
         422, "evidence"),
        (f"{member}/entries", {"id": str(uuid.uuid4()), "item_code": "three_meetings", "occurred_on": "2027-03-10"},
         422, "occurred_on"),
        (f"{member}/entries", {"id": str(uuid.uuid4()), "item_code": "three_meetings", "occurred_on": "2026-03-10",
                               "note": "nul\u0000"}, 400, "note"),
        (f"{member}/appraisal", {"points": 21}, 422, "points"),
    ]  # fmt: skip
    for path, body, status, field in cases:
        response = await client.post(path, json=body, headers=secretary)
        assert response.status_code == status, (body, response.text)
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["field"] == field, response.json()
    catalogue = {"id": str(uuid.uuid4()), **CATALOGUE, "effective_from": "2026-06-01", "star_thresholds": [70, 60]}
    refused = await client.post(
        f"/v1/scoring/communities/{setup.community}/catalogues", json=catalogue, headers=headers_for(setup.staff)
    )
    assert (refused.status_code, refused.json()["field"]) == (422, "star_thresholds")


async def test_outsiders_find_nothing_and_members_act_only_for_themselves(
    client: httpx.AsyncClient, org: Org, database: Database
) -> None:
    setup = await build(org, database, members=2)
    period = await _open_year(client, setup)
    me, other = setup.members
    elsewhere = await build(org, database, members=0)
    member = f"/v1/scoring/periods/{period}/members/{me.id}"
    pledge = {"id": str(uuid.uuid4()), "content": "x", "due_on": "2026-06-30"}
    for_someone_else = await client.post(f"{member}/pledges", json=pledge, headers=headers_for(other))
    assert for_someone_else.status_code == 403
    other_branch_staff = await client.get(f"{member}/standing", headers=headers_for(elsewhere.staff))
    assert other_branch_staff.status_code == 404
    missing = await client.get(
        f"/v1/scoring/periods/{uuid.uuid4()}/members/{me.id}/standing", headers=headers_for(SYSTEM)
    )
    assert missing.status_code == 404
    anonymous = await client.get(f"/v1/scoring/periods/{period}/leaderboard")
    assert anonymous.status_code == 401
