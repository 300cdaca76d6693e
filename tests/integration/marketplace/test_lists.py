"""The three lists: owners publish and edit their own, everyone lists and searches, other communities see nothing."""

from __future__ import annotations

import uuid
from datetime import date

import pytest

from tests.integration.marketplace.conftest import Neighbourhood
from timebank.db import Database, bound
from timebank.errors import Conflict, Forbidden, InvalidInput, NotFound, RuleViolation
from timebank.marketplace import needs, orders, projects, resources
from timebank.marketplace.model import NeedKind, OrderMode, Settlement


def _resource(hood: Neighbourhood, **fields: object) -> resources.NewResource:
    values: dict[str, object] = {
        "id": uuid.uuid4(),
        "owner_kind": "unit",
        "owner_id": hood.unit,
        "category": "repair",
        "title": "物业水电维修",
        "skills": ("水电维修",),
        "capacity": 2,
        "schedule": "工作日 9:00-17:00",
        "weekdays": (1, 2, 3, 4, 5),
        "compound_id": hood.compound,
    }
    values.update(fields)
    return resources.NewResource(**values)  # type: ignore[arg-type]


async def test_a_unit_publishes_and_edits_its_own_resources_and_no_one_elses(
    database: Database, hood: Neighbourhood
) -> None:
    new = _resource(hood)
    async with hood.bound(database) as connection:
        published, created = await resources.create_resource(connection, hood.unit_admin, hood.community, new)
        replayed, created_again = await resources.create_resource(connection, hood.unit_admin, hood.community, new)
        with pytest.raises(Conflict):
            await resources.create_resource(
                connection, hood.unit_admin, hood.community, _resource(hood, id=new.id, title="别的")
            )
        with pytest.raises(Forbidden):
            await resources.create_resource(connection, hood.helper, hood.community, _resource(hood))
        with pytest.raises(Forbidden):
            await resources.update_resource(connection, hood.team_leader, new.id, {"capacity": 5})
        edited = await resources.update_resource(connection, hood.unit_admin, new.id, {"capacity": 5})
        with pytest.raises(InvalidInput):
            await resources.update_resource(connection, hood.unit_admin, new.id, {"owner_kind": "team"})
        withdrawn = await resources.update_resource(connection, hood.staff, new.id, {"status": "withdrawn"})
    assert (created, created_again) == (True, False)
    assert replayed == published
    assert (published.status, published.compound_id, edited.capacity) == ("published", hood.compound, 5)
    assert withdrawn.status == "withdrawn"


async def test_resources_list_by_category_place_and_text(database: Database, hood: Neighbourhood) -> None:
    async with hood.bound(database) as connection:
        repair, _ = await resources.create_resource(connection, hood.unit_admin, hood.community, _resource(hood))
        chat, _ = await resources.create_resource(
            connection,
            hood.neighbour,
            hood.community,
            _resource(
                hood,
                owner_kind="person",
                owner_id=hood.neighbour.person_id,
                category="companionship",
                title="周末陪老人聊天",
                skills=("陪伴",),
                compound_id=hood.far_compound,
            ),
        )
        everything = await resources.list_resources(connection, hood.community, resources.ResourceFilter())
        by_category = await resources.list_resources(
            connection, hood.community, resources.ResourceFilter(category="repair")
        )
        in_compound = await resources.list_resources(
            connection, hood.community, resources.ResourceFilter(compound_id=hood.far_compound)
        )
        by_text = await resources.list_resources(connection, hood.community, resources.ResourceFilter(text="聊天"))
        first_page = await resources.list_resources(connection, hood.community, resources.ResourceFilter(), limit=1)
        second_page = await resources.list_resources(
            connection, hood.community, resources.ResourceFilter(), before=first_page.next_before, limit=1
        )
    assert {r.id for r in everything.items} == {repair.id, chat.id}
    assert [r.id for r in by_category.items] == [repair.id]
    assert [r.id for r in in_compound.items] == [chat.id]
    assert [r.id for r in by_text.items] == [chat.id]
    # Paging walks the same order as one page, newest first, without repeats.
    assert [r.id for r in first_page.items + second_page.items] == [r.id for r in everything.items]


async def test_another_community_sees_none_of_the_lists(database: Database, hood: Neighbourhood) -> None:
    async with hood.bound(database) as connection:
        resource, _ = await resources.create_resource(connection, hood.unit_admin, hood.community, _resource(hood))
        need, _ = await needs.raise_need(
            connection,
            hood.requester,
            hood.community,
            needs.NewNeed(id=uuid.uuid4(), kind=NeedKind.need, category="repair", title="灯不亮", est_minutes=30),
        )
    async with bound(database.pool, [hood.other_community]) as connection:
        with pytest.raises(NotFound):
            await resources.get_resource(connection, resource.id)
        with pytest.raises(NotFound):
            await needs.get_need(connection, hood.outsider, need.id)
        listed = await needs.list_needs(connection, hood.outsider, hood.community, needs.NeedFilter())
        with pytest.raises(NotFound):
            await orders.place_order(
                connection, hood.outsider, orders.NewOrder(id=uuid.uuid4(), need_id=need.id, mode=OrderMode.open)
            )
    assert listed.items == []


async def test_needs_list_by_status_place_and_text(database: Database, hood: Neighbourhood) -> None:
    async with hood.bound(database) as connection:
        near, _ = await needs.raise_need(
            connection,
            hood.requester,
            hood.community,
            needs.NewNeed(
                id=uuid.uuid4(),
                kind=NeedKind.need,
                category="repair",
                title="楼道灯不亮",
                household_id=hood.household,
                est_minutes=30,
                settlement=Settlement.public_good,
            ),
        )
        far, _ = await needs.raise_need(
            connection,
            hood.staff,
            hood.community,
            needs.NewNeed(
                id=uuid.uuid4(),
                kind=NeedKind.need,
                category="cleaning",
                title="绿化带垃圾清理",
                building_id=hood.far_building,
                est_minutes=120,
            ),
        )
        await needs.withdraw_need(connection, hood.requester, near.id)
        published = await needs.list_needs(
            connection, hood.helper, hood.community, needs.NeedFilter(status="published")
        )
        in_compound = await needs.list_needs(
            connection, hood.helper, hood.community, needs.NeedFilter(compound_id=hood.far_compound)
        )
        by_text = await needs.list_needs(connection, hood.helper, hood.community, needs.NeedFilter(text="楼道"))
    assert [n.id for n in published.items] == [far.id]
    assert far.compound_id == hood.far_compound  # filled in from the building
    assert [n.id for n in in_compound.items] == [far.id]
    assert [(n.id, n.status) for n in by_text.items] == [(near.id, "withdrawn")]


async def test_a_resident_raises_needs_only_for_themselves(database: Database, hood: Neighbourhood) -> None:
    async with hood.bound(database) as connection:
        with pytest.raises(Forbidden):
            await needs.raise_need(
                connection,
                hood.helper,
                hood.community,
                needs.NewNeed(
                    id=uuid.uuid4(),
                    kind=NeedKind.need,
                    category="errands",
                    title="代买药",
                    requester_id=hood.requester.person_id,
                ),
            )


async def test_a_units_project_takes_orders_up_to_its_slots_and_reports_progress(
    database: Database, hood: Neighbourhood
) -> None:
    new = projects.NewProject(
        id=uuid.uuid4(),
        unit_id=hood.unit,
        category="repair",
        title="适老化改造",
        goal="为独居老人家中加装扶手",
        starts_on=date(2020, 1, 1),
        ends_on=date(2099, 12, 31),
        slots=1,
        points_budget=10,
    )
    async with hood.bound(database) as connection:
        project, created = await projects.create_project(connection, hood.unit_admin, hood.community, new)
        with pytest.raises(Forbidden):
            await projects.create_project(connection, hood.team_leader, hood.community, new)
        update, _ = await projects.post_update(
            connection, hood.unit_admin, project.id, id=uuid.uuid4(), body="已完成3户", progress_percent=30
        )
        placed = []
        for title in ("一号", "二号"):
            need, _ = await needs.raise_need(
                connection,
                hood.staff,
                hood.community,
                needs.NewNeed(
                    id=uuid.uuid4(), kind=NeedKind.need, category="repair", title=f"{title}扶手", est_minutes=60
                ),
            )
            placed.append(need.id)
        await orders.place_order(
            connection,
            hood.staff,
            orders.NewOrder(id=uuid.uuid4(), need_id=placed[0], mode=OrderMode.open, project_id=project.id),
        )
        with pytest.raises(RuleViolation, match="slot"):
            await orders.place_order(
                connection,
                hood.staff,
                orders.NewOrder(id=uuid.uuid4(), need_id=placed[1], mode=OrderMode.open, project_id=project.id),
            )
    async with hood.bound(database) as connection:
        after = await projects.get_project(connection, project.id)
        updates = await projects.project_updates(connection, project.id)
    assert created
    assert (after.progress_percent, after.slots_taken) == (30, 1)
    assert [u.body for u in updates] == [update.body]
