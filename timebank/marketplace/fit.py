"""How well a candidate fits a need, as numbers and as reasons a person can read. Pure functions, no I/O.

A candidate (a resource, a project, a team, a unit or a member) is scored on five things, each 0 to 1: fit of
category and skills, distance in the place tree, availability, past ratings and current load. The weighted sum
ranks the candidates; every part that speaks for or against a candidate adds a reason in plain words.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from timebank.marketplace.model import Category

__all__ = [
    "WEIGHTS",
    "Distance",
    "Reason",
    "Score",
    "category_of_skill",
    "distance_score",
    "load_score",
    "matching_skills",
    "rating_score",
]

#: The parts of a score and their weights; category and skills count most, and a fair spread of work next.
WEIGHTS = {"fit": 0.40, "distance": 0.20, "availability": 0.10, "rating": 0.15, "load": 0.15}

#: Words that place a free-text skill (as members and teams state them, e.g. 家电维修, 陪伴老人) in a category.
_KEYWORDS: dict[Category, tuple[str, ...]] = {
    Category.elder_care: ("老人", "助老", "养老", "护理", "陪护", "助餐", "理发", "适老"),
    Category.child_care: ("儿童", "托管", "看护", "亲子", "幼儿"),
    Category.disability_support: ("助残", "残疾", "康复", "轮椅", "适老化"),
    Category.health: ("医疗", "保健", "义诊", "健康", "医生", "护士", "理疗", "心理"),
    Category.legal: ("法律", "律师", "调解", "普法", "财务"),
    Category.repair: ("维修", "水电", "电工", "修理", "家电", "管道", "改造"),
    Category.cleaning: ("保洁", "清洁", "卫生", "垃圾", "环境"),
    Category.errands: ("代办", "跑腿", "代购", "送餐", "买菜", "配送"),
    Category.companionship: ("陪伴", "聊天", "探访", "心理", "读报"),
    Category.education: ("辅导", "教育", "教学", "作业", "培训", "讲座", "课堂", "阅读"),
    Category.culture_sports: ("文艺", "演出", "合唱", "舞蹈", "健身", "体育", "书法", "摄影", "阅读"),
    Category.safety_patrol: ("巡逻", "安全", "消防", "治安", "反诈", "隐患"),
    Category.governance: ("宣传", "楼栋长", "治理", "议事", "规划", "调研", "网格"),
    Category.employment: ("就业", "招聘", "岗位", "创业", "技能培训"),
    Category.goods: ("物资", "捐赠", "礼品", "图书", "衣物"),
    Category.other: (),
}


def category_of_skill(skill: str, category: Category) -> bool:
    """Whether a stated skill belongs to ``category`` (its words, or the category's own name)."""
    text = skill.strip().casefold()
    return text == category.value or any(word in text for word in _KEYWORDS[category])


def matching_skills(wanted: tuple[str, ...], offered: tuple[str, ...]) -> list[str]:
    """The offered skills that answer a wanted one: equal, or one contains the other (电工 in 水电工)."""
    found = []
    for skill in offered:
        have = skill.strip().casefold()
        if have and any(want.strip().casefold() in have or have in want.strip().casefold() for want in wanted if want):
            found.append(skill)
    return found


@dataclass(frozen=True, slots=True)
class Reason:
    """One reason for (or against) a suggestion: a stable ``code`` for clients, ``text`` in plain words."""

    code: str
    text: str


@dataclass(slots=True)
class Score:
    """The parts of a candidate's score and the reasons behind them."""

    fit: float = 0.0
    distance: float = 0.0
    availability: float = 0.0
    rating: float = 0.0
    load: float = 0.0
    reasons: list[Reason] = field(default_factory=list)

    @property
    def total(self) -> float:
        parts = {
            "fit": self.fit,
            "distance": self.distance,
            "availability": self.availability,
            "rating": self.rating,
            "load": self.load,
        }
        return round(sum(WEIGHTS[part] * value for part, value in parts.items()), 4)

    @property
    def fits(self) -> bool:
        """Whether the candidate answers the need's category or skills at all."""
        return self.fit > 0

    def because(self, code: str, text: str) -> None:
        self.reasons.append(Reason(code, text))


@dataclass(frozen=True, slots=True)
class Distance:
    """Where a candidate is, relative to the need's place."""

    same_building: bool = False
    same_compound: bool = False
    same_community: bool = True


def distance_score(where: Distance, score: Score, *, who: str) -> None:
    if where.same_building:
        score.distance = 1.0
        score.because("same_building", f"{who} in the same building")
    elif where.same_compound:
        score.distance = 0.75
        score.because("same_compound", f"{who} in the same compound")
    elif where.same_community:
        score.distance = 0.5
        score.because("same_community", f"{who} in this community")
    else:
        score.distance = 0.25
        score.because("other_community", f"{who} in another community (registered here)")


#: Ratings are averaged with two imagined 4-star ratings, so one lucky 5 does not outrank a steady record.
_PRIOR_RATING, _PRIOR_WEIGHT = 4.0, 2


def rating_score(total: int, count: int, score: Score) -> None:
    mean = (total + _PRIOR_RATING * _PRIOR_WEIGHT) / (count + _PRIOR_WEIGHT)
    score.rating = (mean - 1) / 4
    if count:
        shown = total / count
        score.because("rating", f"rated {shown:.1f} of 5 on average over {count} closed order{'s' * (count != 1)}")
    else:
        score.because("no_rating", "no ratings yet")


def load_score(live: int, score: Score) -> None:
    """Fewer orders in hand scores higher, so work spreads instead of piling on the best-rated."""
    score.load = 1 / (1 + live)
    if live:
        score.because("load", f"{live} order{'s' * (live != 1)} in hand now")
    else:
        score.because("free", "no orders in hand now")
