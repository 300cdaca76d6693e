"""The catalogue: a community's scored items, caps, star thresholds and review rules, in append-only versions."""

from __future__ import annotations

import itertools
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime

import asyncpg

from timebank.access.principal import Principal
from timebank.community import audit
from timebank.errors import Conflict, InvalidInput, NotFound
from timebank.scoring.model import Catalogue, Item, ItemKind, ItemSource, ReviewerScope, ReviewWeights

__all__ = ["NewCatalogue", "catalogue_on", "get_catalogue", "list_catalogues", "publish_catalogue"]

_COLUMNS = (
    "id, community_id, version, effective_from, base_score, period_cap, star_thresholds, notice_days, "
    "leader_weight, peer_weight, resident_weight, pass_mark, show_kinds, exempt_member_types, created_at"
)
#: Versions never change once published (the service may not update them), so a loaded version is kept, keyed by
#: id and creation time: a publish rolled back and retried with other content has another creation time.
_LOADED: dict[tuple[uuid.UUID, datetime], Catalogue] = {}
_LOADED_MAX = 512
_ITEM_COLUMNS = "code, name, kind, source, points, cap, evidence_required, reviewer, member_types"


@dataclass(frozen=True, slots=True, kw_only=True)
class NewCatalogue:
    """A catalogue version to publish; ``id`` is the client's, so publishing again is a replay."""

    id: uuid.UUID
    effective_from: date
    base_score: int
    items: tuple[Item, ...]
    star_thresholds: tuple[int, ...] = (60, 70, 80, 90)
    period_cap: int | None = None
    notice_days: int = 5
    weights: ReviewWeights = field(default_factory=ReviewWeights)
    pass_mark: int = 60
    show_kinds: tuple[str, ...] = ("identity", "pledge", "image")
    exempt_member_types: tuple[str, ...] = ()


def _item(row: asyncpg.Record) -> Item:
    return Item(
        code=row["code"],
        name=row["name"],
        kind=ItemKind(row["kind"]),
        source=ItemSource(row["source"]),
        points=row["points"],
        cap=row["cap"],
        evidence_required=row["evidence_required"],
        reviewer=ReviewerScope(row["reviewer"]),
        member_types=tuple(row["member_types"]),
    )


async def _load(connection: asyncpg.Connection, row: asyncpg.Record | None) -> Catalogue:
    if row is None:
        raise NotFound("no such catalogue version", field="catalogue")
    key = (row["id"], row["created_at"])
    if (cached := _LOADED.get(key)) is not None:
        return cached
    items = await connection.fetch(
        f"SELECT {_ITEM_COLUMNS} FROM scoring_item WHERE catalogue_id = $1 ORDER BY code", row["id"]
    )
    loaded = Catalogue(
        id=row["id"],
        community_id=row["community_id"],
        version=row["version"],
        effective_from=row["effective_from"],
        base_score=row["base_score"],
        period_cap=row["period_cap"],
        star_thresholds=tuple(row["star_thresholds"]),
        notice_days=row["notice_days"],
        weights=ReviewWeights(leader=row["leader_weight"], peer=row["peer_weight"], resident=row["resident_weight"]),
        pass_mark=row["pass_mark"],
        show_kinds=tuple(row["show_kinds"]),
        exempt_member_types=tuple(row["exempt_member_types"]),
        items=tuple(_item(item) for item in items),
    )
    if len(_LOADED) >= _LOADED_MAX:
        _LOADED.clear()
    _LOADED[key] = loaded
    return loaded


async def get_catalogue(connection: asyncpg.Connection, catalogue_id: uuid.UUID) -> Catalogue:
    row = await connection.fetchrow(f"SELECT {_COLUMNS} FROM scoring_catalogue WHERE id = $1", catalogue_id)
    return await _load(connection, row)


async def catalogue_on(connection: asyncpg.Connection, community_id: uuid.UUID, day: date) -> Catalogue:
    """The version in force on ``day``: the latest whose ``effective_from`` is not after it."""
    row = await connection.fetchrow(
        f"""
        SELECT {_COLUMNS} FROM scoring_catalogue
        WHERE community_id = $1 AND effective_from <= $2 ORDER BY effective_from DESC LIMIT 1
        """,
        community_id,
        day,
    )
    if row is None:
        raise NotFound(f"the community has no assessment catalogue in force on {day}", field="catalogue", day=str(day))
    return await _load(connection, row)


async def list_catalogues(connection: asyncpg.Connection, community_id: uuid.UUID) -> list[Catalogue]:
    rows = await connection.fetch(
        f"SELECT {_COLUMNS} FROM scoring_catalogue WHERE community_id = $1 ORDER BY version", community_id
    )
    return [await _load(connection, row) for row in rows]


def _validate(new: NewCatalogue) -> None:
    codes = [item.code for item in new.items]
    if len(set(codes)) != len(codes):
        raise InvalidInput("item codes must be unique within a catalogue", field="items")
    for source in (ItemSource.pledge, ItemSource.appraisal):
        if sum(item.source is source for item in new.items) > 1:
            raise InvalidInput(f"a catalogue has at most one {source.value} item", field="items")
    for index, item in enumerate(new.items):
        if item.kind is ItemKind.deduction and item.source not in (ItemSource.manual, ItemSource.automatic):
            raise InvalidInput(f"a {item.source.value} item adds points", field=f"items[{index}].kind")
    if new.weights.leader + new.weights.peer + new.weights.resident != 100:
        raise InvalidInput("review weights must sum to 100", field="weights")
    thresholds = new.star_thresholds
    if not thresholds or any(later <= earlier for earlier, later in itertools.pairwise(thresholds)):
        raise InvalidInput("star thresholds must be strictly ascending", field="star_thresholds")


async def publish_catalogue(
    connection: asyncpg.Connection, actor: Principal, community_id: uuid.UUID, new: NewCatalogue
) -> tuple[Catalogue, bool]:
    """Publish the next version; it takes effect on ``effective_from``, after every earlier version's date.

    Returns the version and whether it is new (False: the same id was published before).

    Raises:
        InvalidInput: items or thresholds are inconsistent, or the date is not after the latest version's.
        Conflict: the id names another catalogue version.
    """
    _validate(new)
    # One publisher at a time per community, so versions are numbered without gaps and dates ascend.
    await connection.execute(
        "SELECT pg_advisory_xact_lock(hashtextextended('scoring_catalogue/' || $1::text, 0))", str(community_id)
    )
    existing = await connection.fetchrow(f"SELECT {_COLUMNS} FROM scoring_catalogue WHERE id = $1", new.id)
    if existing is not None:
        if existing["community_id"] != community_id or existing["effective_from"] != new.effective_from:
            raise Conflict("this catalogue id was used for another version", field="id", id=str(new.id))
        return await _load(connection, existing), False
    latest = await connection.fetchrow(
        "SELECT max(version) AS version, max(effective_from) AS effective_from FROM scoring_catalogue "
        "WHERE community_id = $1",
        community_id,
    )
    if latest["effective_from"] is not None and new.effective_from <= latest["effective_from"]:
        raise InvalidInput(
            f"a new version must take effect after {latest['effective_from']}",
            field="effective_from",
            latest=str(latest["effective_from"]),
        )
    version = (latest["version"] or 0) + 1
    try:
        async with connection.transaction():
            await _insert(connection, actor, community_id, new, version)
    except asyncpg.CheckViolationError as exc:
        raise InvalidInput(f"the catalogue is invalid ({exc.constraint_name})", field="items") from None
    except asyncpg.UniqueViolationError:
        raise Conflict("this catalogue id was used for another version", field="id", id=str(new.id)) from None
    except (asyncpg.ForeignKeyViolationError, asyncpg.InsufficientPrivilegeError):
        raise NotFound("no such community", field="community_id") from None
    catalogue = await get_catalogue(connection, new.id)
    await audit.record(
        connection,
        actor,
        community_id=community_id,
        action="publish",
        entity="scoring_catalogue",
        entity_id=new.id,
        after={
            "version": version,
            "effective_from": new.effective_from.isoformat(),
            "base_score": new.base_score,
            "items": [item.code for item in new.items],
            "star_thresholds": list(new.star_thresholds),
        },
    )
    return catalogue, True


async def _insert(
    connection: asyncpg.Connection, actor: Principal, community_id: uuid.UUID, new: NewCatalogue, version: int
) -> None:
    await connection.execute(
        """
        INSERT INTO scoring_catalogue (id, community_id, version, effective_from, base_score, period_cap,
            star_thresholds, notice_days, leader_weight, peer_weight, resident_weight, pass_mark, show_kinds,
            exempt_member_types, created_by)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
        """,
        new.id,
        community_id,
        version,
        new.effective_from,
        new.base_score,
        new.period_cap,
        list(new.star_thresholds),
        new.notice_days,
        new.weights.leader,
        new.weights.peer,
        new.weights.resident,
        new.pass_mark,
        list(new.show_kinds),
        list(new.exempt_member_types),
        actor.person_id,
    )
    await connection.executemany(
        f"""
        INSERT INTO scoring_item (community_id, catalogue_id, {_ITEM_COLUMNS})
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
        """,
        [
            (
                community_id,
                new.id,
                item.code,
                item.name,
                item.kind.value,
                item.source.value,
                item.points,
                item.cap,
                item.evidence_required,
                item.reviewer.value,
                list(item.member_types),
            )
            for item in new.items
        ],
    )
