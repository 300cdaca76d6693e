"""Made-up but well-formed identities for the demo street, the import benchmark and tests.

Names are drawn from common surnames and given-name characters; ID numbers carry a real address code, the birth
date and a valid GB 11643 check character; phones use real mobile prefixes. Everything comes from the
``random.Random`` passed in, so a seed gives the same people on every machine.
"""

from __future__ import annotations

import datetime as dt
import random
from typing import Literal

from timebank.community.personal_data import check_character

__all__ = ["LAIXI_AREAS", "QINGDAO_AREAS", "IdentityMaker", "Sex"]

Sex = Literal["male", "female"]

# The most common surnames, the first ones repeated roughly in proportion to how often they occur.
_SURNAMES = (
    "王王王王李李李李张张张张刘刘刘陈陈杨杨黄赵赵吴周徐孙孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董"
    "袁潘于于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶"
    "黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤衣隋宫"
)
_GIVEN: dict[Sex, str] = {
    "male": "伟强磊军洋勇杰涛明超刚平辉鹏华飞鑫波斌宇浩凯健俊帆帅旭宁龙林阳建国志文振海东峰成新庆德福"
    "春雷晨博昊然睿哲轩泽宏彬兵锋毅亮光坤瑞",
    "female": "芳娜敏静丽艳娟霞秀玲桂英红梅燕萍莉兰婷雪琳晶倩颖慧佳欣怡悦涵萱彤琪琳璐瑶雯蕾洁琴云凤玉珍淑荣月蓉霖诗梦",
}
#: Address codes of birthplaces: 莱西 and its neighbours, where the demo street is (莱西 weighted as most common).
LAIXI_AREAS = ("370285",) * 6 + ("370281", "370283", "370602", "370781", "371302", "110105", "320102", "410105")
#: The districts of 青岛 proper, for sample sheets, so their people never collide with the demo street's.
QINGDAO_AREAS = ("370202", "370203", "370211", "370212", "370213", "370214", "230103", "420106")
# Mobile number prefixes of the three carriers.
_MOBILE_PREFIXES = tuple(str(prefix) for prefix in (*range(130, 140), *range(150, 160), *range(180, 190), 177, 199))


class IdentityMaker:
    """Names, ID numbers and phones from one random source; ID numbers and phones never repeat."""

    def __init__(self, rng: random.Random, areas: tuple[str, ...] = LAIXI_AREAS) -> None:
        self.rng = rng
        self.areas = areas
        self._id_numbers: set[str] = set()
        self._phones: set[str] = set()

    def sex(self) -> Sex:
        return "male" if self.rng.random() < 0.5 else "female"

    def surname(self) -> str:
        return self.rng.choice(_SURNAMES)

    def name(self, sex: Sex, surname: str | None = None) -> str:
        given = self.rng.choice(_GIVEN[sex])
        if self.rng.random() < 0.7:
            given += self.rng.choice(_GIVEN[sex])
        return (surname or self.surname()) + given

    def birth_date(self, age: int, on: dt.date) -> dt.date:
        """A birth date making someone ``age`` years old on ``on``."""
        latest = dt.date(on.year - age, on.month, min(on.day, 28))
        return latest - dt.timedelta(days=self.rng.randrange(365))

    def id_number(self, born: dt.date, sex: Sex) -> str:
        while True:
            area = self.rng.choice(self.areas)
            sequence = self.rng.randrange(500) * 2 + (1 if sex == "male" else 0)
            first17 = f"{area}{born:%Y%m%d}{sequence:03d}"
            number = first17 + check_character(first17)
            if number not in self._id_numbers:
                self._id_numbers.add(number)
                return number

    def phone(self) -> str:
        while True:
            number = self.rng.choice(_MOBILE_PREFIXES) + f"{self.rng.randrange(100_000_000):08d}"
            if number not in self._phones:
                self._phones.add(number)
                return number
