"""A year's need list for the demo street (``timebank demo seed``): sixty needs (cf. 中山's 63 a year) of the kinds
these communities report, raised deterministically for residents of a community. The demo matching test and
``bench.marketplace`` measure matching on it."""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass

import asyncpg

from timebank.access.principal import Principal
from timebank.marketplace import needs
from timebank.marketplace.model import NeedKind, Settlement

__all__ = ["TEMPLATES", "raise_demo_needs"]


@dataclass(frozen=True, slots=True)
class NeedTemplate:
    category: str
    title: str
    skills: tuple[str, ...]
    weight: int


#: What residents ask for, weighted by how often (elders' care and company first, as in the seed reports).
TEMPLATES = (
    NeedTemplate("companionship", "独居老人希望有人陪着聊聊天", ("陪伴老人",), 10),
    NeedTemplate("elder_care", "行动不便，需要每天送午餐", ("助餐送餐",), 8),
    NeedTemplate("repair", "家里电视机没有信号了", ("家电维修",), 8),
    NeedTemplate("repair", "洗衣机不转，想请人看看", ("家电维修",), 4),
    NeedTemplate("education", "孩子放学后需要课业辅导", ("课业辅导",), 6),
    NeedTemplate("elder_care", "卧床老人需要上门理发", ("理发",), 4),
    NeedTemplate("legal", "房屋租赁纠纷想咨询律师", ("法律咨询",), 4),
    NeedTemplate("health", "高血压老人想定期量血压", ("医疗保健",), 4),
    NeedTemplate("companionship", "失独老人需要心理疏导", ("心理咨询",), 3),
    NeedTemplate("safety_patrol", "楼道夜里有陌生人，希望加强巡逻", ("巡逻",), 3),
    NeedTemplate("governance", "想了解新的医保报销政策", ("政策宣传",), 2),
    NeedTemplate("culture_sports", "想学广场舞，找人教一教", ("舞蹈",), 2),
    NeedTemplate("errands", "腿脚不好，请人代买药品", (), 4),
    NeedTemplate("cleaning", "楼道堆满杂物需要清理", (), 2),
    NeedTemplate("employment", "下岗职工想找一份工作", ("就业指导",), 2),
    NeedTemplate("child_care", "双职工家庭暑假需要看护孩子", ("儿童看护",), 2),
)


async def raise_demo_needs(
    connection: asyncpg.Connection, community_id: uuid.UUID, staff: Principal, *, count: int = 60, seed: int = 8
) -> list[uuid.UUID]:
    """Raise ``count`` needs for residents of the community (by staff, on their behalf); returns their ids."""
    rng = random.Random(seed)  # noqa: S311 -- a reproducible demo, not a secret
    residents = await connection.fetch(
        """
        SELECT p.id, p.household_id FROM person p JOIN membership m ON m.person_id = p.id
        WHERE m.community_id = $1 AND m.kind = 'resident' AND m.left_on IS NULL AND p.household_id IS NOT NULL
        ORDER BY p.id
        """,
        community_id,
    )
    chosen = rng.sample(list(residents), count)
    templates = rng.choices(TEMPLATES, weights=[t.weight for t in TEMPLATES], k=count)
    raised = []
    for resident, template in zip(chosen, templates, strict=True):
        need, _ = await needs.raise_need(
            connection,
            staff,
            community_id,
            needs.NewNeed(
                id=uuid.UUID(int=rng.getrandbits(128), version=4),
                kind=NeedKind.need,
                category=template.category,
                title=template.title,
                skills=template.skills,
                requester_id=resident["id"],
                household_id=resident["household_id"],
                est_minutes=60,
                settlement=Settlement.public_good,
            ),
        )
        raised.append(need.id)
    return raised
