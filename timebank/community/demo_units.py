"""The named organisations of the demo street: partner units, co-building projects and volunteer teams.

Names in seed document 000 are used where it gives them (莱西市政府办公室, 青岛聚莱人才集团有限公司, 团市委, the
city library's donated books, 苏州路小学 and the 实验学校, the 红心惠万家 team and the teams it brought in); the
rest are the kinds of unit a street office in 莱西 pairs communities with.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["PROJECTS", "SUZHOULU_UNITS", "TEAMS", "YANTAILU_UNITS", "TeamSpec"]

#: 苏州路社区's 23 partner units (党建联盟单位): name, kind, and how many of its party members registered with the
#: community (双报到). Eleven units send members (进社区报到党组织11个), 443 in all.
SUZHOULU_UNITS: tuple[tuple[str, str, int], ...] = (
    ("莱西市政府办公室", "government", 80),
    ("青岛聚莱人才集团有限公司", "enterprise", 62),
    ("共青团莱西市委员会", "government", 55),
    ("莱西市教育和体育局", "government", 48),
    ("莱西市人民医院", "public_institution", 40),
    ("莱西市市场监督管理局", "government", 36),
    ("国网莱西市供电公司", "enterprise", 33),
    ("莱西市税务局", "government", 30),
    ("莱西市公安局望城派出所", "government", 25),
    ("莱西市住房和城乡建设局", "government", 20),
    ("莱西市图书馆", "public_institution", 14),
    ("苏州路小学", "public_institution", 0),
    ("莱西市实验学校", "public_institution", 0),
    ("莱西市司法局", "government", 0),
    ("莱西市卫生健康局", "government", 0),
    ("莱西市民政局", "government", 0),
    ("中国建设银行莱西支行", "enterprise", 0),
    ("莱西农商银行望城支行", "enterprise", 0),
    ("中国邮政莱西分公司", "enterprise", 0),
    ("莱西市融媒体中心", "public_institution", 0),
    ("青岛红心物业服务有限公司", "enterprise", 0),
    ("莱西市消防救援大队", "government", 0),
    ("莱西市志愿者协会", "social_organisation", 0),
)

YANTAILU_UNITS: tuple[tuple[str, str, int], ...] = (
    ("烟台路幼儿园", "public_institution", 0),
    ("莱西市城市管理局", "government", 0),
    ("青岛瑞丰物业有限公司", "enterprise", 0),
)

#: Co-building projects (共建项目); each agreement commits its unit to two, 46 for 苏州路社区's 23 units.
PROJECTS: tuple[str, ...] = (
    "假期小课堂",
    "爱心理发进社区",
    "法律进社区",
    "图书捐赠与阅读角",
    "“阅”来越好读书会",
    "老年人健康义诊",
    "夏送清凉",
    "冬送温暖",
    "金秋助学",
    "春送岗位",
    "就业技能培训",
    "消防安全演练",
    "反诈宣传",
    "用电安全检查",
    "开学第一课",
    "邻居节",
    "红色物业共建",
    "微心愿认领",
    "文艺志愿演出",
    "心理健康讲座",
    "垃圾分类督导",
    "适老化改造",
    "亲子运动会",
)


@dataclass(frozen=True, slots=True)
class TeamSpec:
    """A volunteer team: its size (leader included), the skills its members bring, and the share of party members
    among them (红心惠万家 is the party brand's own team)."""

    name: str
    area: str
    size: int
    skills: tuple[str, ...]
    party_share: float = 0.0


TEAMS: tuple[TeamSpec, ...] = (
    TeamSpec("红心惠万家志愿服务队", "全社区", 120, ("陪伴老人", "课业辅导", "家电维修", "巡逻", "政策宣传"), 0.5),
    TeamSpec("心暖心志愿服务队", "全社区", 40, ("陪伴老人", "助餐送餐", "课业辅导")),
    TeamSpec("幸福护航心理咨询志愿团队", "全社区", 15, ("心理咨询",)),
    TeamSpec("爱心移动发廊志愿服务队", "党群服务中心", 12, ("理发",)),
    TeamSpec("幸福合唱队", "党群服务中心", 30, ("文艺演出", "合唱")),
    TeamSpec("锦绣健身舞蹈队", "党群服务中心", 25, ("舞蹈", "健身指导")),
    TeamSpec("红色智囊团", "全社区", 24, ("法律咨询", "医疗保健", "教育辅导", "财务咨询", "规划设计")),
)
