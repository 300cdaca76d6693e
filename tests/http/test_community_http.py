"""The community API over HTTP: registering people, masking, memberships, family links, grants and the audit log."""

from __future__ import annotations

import uuid

import httpx

from tests.auth_support import SYSTEM, Org, headers_for
from timebank.access.principal import Role
from timebank.community.accounts import account_id
from timebank.community.personal_data import check_character
from timebank.ledger import Asset


def id_number(serial: int) -> str:
    first17 = f"37028519800101{serial:03d}"
    return first17 + check_character(first17)


async def register(client: httpx.AsyncClient, community: uuid.UUID, staff: object, **fields: object) -> httpx.Response:
    body = {"id": str(uuid.uuid4()), "name": "王秀英", "phone": "138 0532 1234"} | fields
    return await client.post(f"/v1/communities/{community}/people", json=body, headers=headers_for(staff))  # type: ignore[arg-type]


async def test_staff_register_a_person_once_and_the_id_number_never_comes_back(
    client: httpx.AsyncClient, org: Org
) -> None:
    community = await org.community()
    staff = await org.person(community, Role.community_staff)
    body = {"id": str(uuid.uuid4()), "name": "李建国", "phone": "13805321234", "id_number": id_number(17)}
    first = await client.post(f"/v1/communities/{community}/people", json=body, headers=headers_for(staff))
    again = await client.post(f"/v1/communities/{community}/people", json=body, headers=headers_for(staff))
    assert (first.status_code, again.status_code) == (201, 200)
    person = first.json()
    assert person["id_number_last4"] == body["id_number"][-4:]
    assert person["birth_date"] == "1980-01-01"
    assert body["id_number"] not in first.text
    clash = await client.post(
        f"/v1/communities/{community}/people", json=body | {"id": str(uuid.uuid4())}, headers=headers_for(staff)
    )
    assert clash.status_code == 409
    assert clash.json()["field"] == "id_number"


async def test_a_bad_id_number_or_phone_is_refused_naming_the_field(client: httpx.AsyncClient, org: Org) -> None:
    community = await org.community()
    staff = await org.person(community, Role.community_staff)
    wrong_check = id_number(5)[:-1] + ("0" if id_number(5)[-1] != "0" else "1")
    bad_id = await register(client, community, staff, id_number=wrong_check)
    bad_phone = await register(client, community, staff, phone="12345")
    assert (bad_id.status_code, bad_phone.status_code) == (422, 422)
    assert bad_id.headers["content-type"].startswith("application/problem+json")
    assert (bad_id.json()["field"], bad_phone.json()["field"]) == ("id_number", "phone")
    listed = await client.get(f"/v1/communities/{community}/people", headers=headers_for(staff))
    assert [p["id"] for p in listed.json()["people"]] == [str(staff.id)]  # nothing half written


async def test_phones_are_masked_except_for_the_person_and_their_staff(client: httpx.AsyncClient, org: Org) -> None:
    community = await org.community()
    staff = await org.person(community, Role.community_staff)
    grid_worker = await org.person(community, Role.grid_worker)
    person = (await register(client, community, staff)).json()
    url = f"/v1/people/{person['id']}"
    as_staff = (await client.get(url, headers=headers_for(staff))).json()
    as_grid_worker = (await client.get(url, headers=headers_for(grid_worker))).json()
    listed = (await client.get(f"/v1/communities/{community}/people", headers=headers_for(grid_worker))).json()
    assert as_staff["phone"] == "13805321234"
    assert as_grid_worker["phone"] == "138****1234"
    assert {p["phone"] for p in listed["people"] if p["id"] == person["id"]} == {"138****1234"}
    assert [m["kind"] for m in as_staff["memberships"]] == ["resident"]


async def test_another_community_answers_not_found_and_a_neighbour_forbidden(
    client: httpx.AsyncClient, org: Org
) -> None:
    community, elsewhere = await org.community(), await org.community()
    staff = await org.person(community, Role.community_staff)
    foreign_staff = await org.person(elsewhere, Role.community_staff)
    neighbour = await org.person(community, Role.resident)
    person = (await register(client, community, staff)).json()
    url = f"/v1/people/{person['id']}"
    assert (await client.get(url, headers=headers_for(foreign_staff))).status_code == 404
    assert (await client.get(f"/v1/people/{uuid.uuid4()}", headers=headers_for(foreign_staff))).status_code == 404
    assert (await client.get(url, headers=headers_for(neighbour))).status_code == 403
    assert (await client.get(url, headers=headers_for(None))).status_code == 401
    foreign_register = await register(client, community, foreign_staff)
    assert foreign_register.status_code == 404


async def test_joining_the_party_opens_the_score_account(client: httpx.AsyncClient, org: Org, database: object) -> None:
    community = await org.community()
    staff = await org.person(community, Role.community_staff)
    person = (await register(client, community, staff)).json()
    body = {"id": str(uuid.uuid4()), "person_id": person["id"], "kind": "party_member", "member_type": "retired"}
    joined = await client.post(f"/v1/communities/{community}/memberships", json=body, headers=headers_for(staff))
    assert joined.status_code == 201
    score = account_id(community, "person", uuid.UUID(person["id"]), Asset.party_score)
    account = await client.get(f"/v1/ledger/accounts/{score}", headers=headers_for(staff))
    assert account.status_code == 200
    incomplete = await client.post(
        f"/v1/communities/{community}/memberships",
        json={"id": str(uuid.uuid4()), "person_id": person["id"], "kind": "team_member"},
        headers=headers_for(staff),
    )
    assert incomplete.status_code == 422
    ended = await client.post(f"/v1/memberships/{body['id']}/end", json={}, headers=headers_for(staff))
    assert ended.status_code == 200
    assert ended.json()["left_on"] is not None


async def test_family_links_are_asked_by_the_member_and_verified_by_staff(client: httpx.AsyncClient, org: Org) -> None:
    community = await org.community()
    staff = await org.person(community, Role.community_staff)
    child = await org.person(community, Role.resident)
    elder = await org.person(community, Role.resident)
    stranger = await org.person(community, Role.resident)
    body = {"id": str(uuid.uuid4()), "person_id": str(child.id), "relative_id": str(elder.id), "relation": "parent"}
    asked = await client.post("/v1/family-links", json=body, headers=headers_for(child))
    for_someone_else = await client.post(
        "/v1/family-links", json=body | {"id": str(uuid.uuid4())}, headers=headers_for(stranger)
    )
    self_verify = await client.post(f"/v1/family-links/{body['id']}/verify", headers=headers_for(child))
    verified = await client.post(f"/v1/family-links/{body['id']}/verify", headers=headers_for(staff))
    assert asked.status_code == 201
    assert for_someone_else.status_code == 403
    assert self_verify.status_code == 403
    assert verified.status_code == 200
    assert verified.json()["verified_by"] == str(staff.id)


async def test_every_staff_action_is_in_the_audit_log(client: httpx.AsyncClient, org: Org) -> None:
    community = await org.community()
    street = await org.street_of(community)
    staff = await org.person(community, Role.community_staff)
    auditor = await org.person(community, (Role.auditor, street))
    resident = await org.person(community, Role.resident)
    team = {"id": str(uuid.uuid4()), "name": "红心志愿服务队"}
    assert (
        await client.post(f"/v1/communities/{community}/teams", json=team, headers=headers_for(staff))
    ).status_code == 201
    person = (await register(client, community, staff)).json()
    grant = {"id": str(uuid.uuid4()), "person_id": person["id"], "role": "team_leader", "scope_id": team["id"]}
    granted = await client.post(f"/v1/communities/{community}/role-grants", json=grant, headers=headers_for(staff))
    assert granted.status_code == 201
    log = await client.get(f"/v1/communities/{community}/audit", headers=headers_for(auditor))
    events = [(e["action"], e["entity"], e["actor_id"]) for e in log.json()["events"]]
    assert ("create", "volunteer_team", str(staff.id)) in events
    assert ("register", "person", str(staff.id)) in events
    assert ("grant", "role_grant", str(staff.id)) in events
    assert all(e["request_id"] for e in log.json()["events"])
    assert (await client.get(f"/v1/communities/{community}/audit", headers=headers_for(resident))).status_code == 403


async def test_a_member_reports_to_the_paired_community(client: httpx.AsyncClient, org: Org) -> None:
    home, paired = await org.community(), await org.community()
    member = await org.person(home, Role.resident)
    paired_staff = await org.person(paired, Role.community_staff)
    unit = await org.unit(paired)
    body = {"id": str(uuid.uuid4()), "community_id": str(paired), "unit_id": str(unit)}
    reported = await client.post("/v1/me/dual-registrations", json=body, headers=headers_for(member))
    wrong_unit = await client.post(
        "/v1/me/dual-registrations",
        json=body | {"id": str(uuid.uuid4()), "unit_id": str(uuid.uuid4())},
        headers=headers_for(member),
    )
    seen = await client.get(
        f"/v1/communities/{paired}/people", params={"kind": "party_member"}, headers=headers_for(paired_staff)
    )
    as_person = await client.get(f"/v1/people/{member.id}", headers=headers_for(paired_staff))
    assert reported.status_code == 201
    assert wrong_unit.status_code == 404
    assert [p["id"] for p in seen.json()["people"]] == [str(member.id)]
    assert as_person.status_code == 200


async def test_communities_list_only_what_the_caller_sees(client: httpx.AsyncClient, org: Org) -> None:
    community, elsewhere = await org.community(), await org.community()
    resident = await org.person(community, Role.resident)
    seen = await client.get("/v1/communities", headers=headers_for(resident))
    everything = await client.get("/v1/communities", headers=headers_for(SYSTEM))
    assert [c["id"] for c in seen.json()] == [str(community)]
    assert {str(community), str(elsewhere)} <= {c["id"] for c in everything.json()}


async def test_text_with_nul_is_refused_naming_the_field_and_writes_nothing(
    client: httpx.AsyncClient, org: Org
) -> None:
    community = await org.community()
    staff = await org.person(community, Role.community_staff)
    refused = await register(client, community, staff, name="王\u0000秀英")
    searched = await client.get(
        f"/v1/communities/{community}/people", params={"name": "王\u0000"}, headers=headers_for(staff)
    )
    listed = await client.get(f"/v1/communities/{community}/people", headers=headers_for(staff))
    assert refused.status_code == 400
    assert refused.json()["field"] == "name"
    assert searched.status_code == 400
    assert searched.json()["field"] == "name"
    assert [p["id"] for p in listed.json()["people"]] == [str(staff.id)]


async def test_staff_build_the_party_tree_and_grids_cover_buildings(client: httpx.AsyncClient, org: Org) -> None:
    community = await org.community()
    staff = await org.person(community, Role.community_staff)
    resident = await org.person(community, Role.resident)
    url = f"/v1/communities/{community}"

    async def add(level: str, parent: str | None) -> httpx.Response:
        body = {"id": str(uuid.uuid4()), "level": level, "name": f"{level}-{uuid.uuid4().hex[:6]}", "parent_id": parent}
        return await client.post(f"{url}/party-orgs", json=body, headers=headers_for(staff))

    committee = (await add("committee", None)).json()
    branch = (await add("branch", committee["id"])).json()
    group = await add("group", branch["id"])
    misplaced = await add("group", committee["id"])
    assert group.status_code == 201
    assert (misplaced.status_code, misplaced.json()["field"]) == (422, "parent_id")
    tree = await client.get(f"{url}/party-orgs", headers=headers_for(resident))
    assert [o["level"] for o in tree.json()] == ["committee", "branch", "group"]

    places = {}
    for kind, parent in (("compound", None), ("building", "compound"), ("grid", None), ("grid", None)):
        body = {"id": str(uuid.uuid4()), "kind": kind, "name": uuid.uuid4().hex, "parent_id": places.get(parent)}
        assert (await client.post(f"{url}/places", json=body, headers=headers_for(staff))).status_code == 201
        places[kind if kind not in places else "other_grid"] = body["id"]
    cover = {"grid_id": places["grid"], "building_id": places["building"]}
    first = await client.post(f"{url}/grid-buildings", json=cover, headers=headers_for(staff))
    again = await client.post(f"{url}/grid-buildings", json=cover, headers=headers_for(staff))
    elsewhere = await client.post(
        f"{url}/grid-buildings", json=cover | {"grid_id": places["other_grid"]}, headers=headers_for(staff)
    )
    by_resident = await client.post(f"{url}/grid-buildings", json=cover, headers=headers_for(resident))
    assert (first.status_code, again.status_code, elsewhere.status_code) == (201, 200, 409)
    assert by_resident.status_code == 403
