"""The columns of a people import: what each holds, the headers it is known by, and the words its cells may use.

One row is one person. Headers may be the Chinese ones community spreadsheets use or the English keys; the
README's "Importing residents" section is the reader's version of this module.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from enum import StrEnum

__all__ = [
    "HOUSEHOLD_KINDS",
    "IGNORED_HEADERS",
    "MEMBER_TYPES",
    "Column",
    "column_for_header",
]


class Column(StrEnum):
    """A column the importer understands, by its English key."""

    name = "name"
    id_number = "id_number"
    phone = "phone"
    compound = "compound"
    building = "building"
    room = "room"
    household_kind = "household_kind"
    member_type = "member_type"
    branch = "branch"
    group = "group"
    unit = "unit"
    skills = "skills"

    @property
    def label(self) -> str:
        """The Chinese header, used when a report names a column the file lacks."""
        return _SPECS[self].headers[0]


@dataclass(frozen=True, slots=True)
class _Spec:
    headers: tuple[str, ...]


_SPECS: dict[Column, _Spec] = {
    Column.name: _Spec(("姓名",)),
    Column.id_number: _Spec(("身份证号", "身份证号码", "公民身份号码", "证件号码")),
    Column.phone: _Spec(("手机号", "手机号码", "手机", "联系电话", "电话")),
    Column.compound: _Spec(("小区",)),
    Column.building: _Spec(("楼栋", "楼号", "楼栋号")),
    Column.room: _Spec(("房号", "门牌号", "房间号")),
    Column.household_kind: _Spec(("户类型", "户别")),
    Column.member_type: _Spec(("党员类型",)),
    Column.branch: _Spec(("党支部",)),
    Column.group: _Spec(("党小组",)),
    Column.unit: _Spec(("报到单位", "工作单位")),
    Column.skills: _Spec(("志愿者技能", "志愿服务技能", "技能")),
}

#: Headers found in community spreadsheets that carry nothing the importer needs: a running number, remarks, and
#: sex and birth date, which the ID number already holds (and which it wins against).
IGNORED_HEADERS = frozenset({"序号", "备注", "性别", "出生日期", "年龄"})

#: 户类型: who needs help first (domain rules §4); the stored value, by every word a sheet may use.
HOUSEHOLD_KINDS: dict[str, str] = {
    "普通": "ordinary",
    "普通户": "ordinary",
    "独居老人": "solitary_elder",
    "失独老人": "bereaved_elder",
    "失独家庭": "bereaved_elder",
    "困难户": "hardship",
    "困难家庭": "hardship",
    "低保户": "hardship",
    "残疾人户": "disabled",
    "残疾人家庭": "disabled",
    "退役军人户": "veteran",
    "退役军人家庭": "veteran",
}

#: 党员类型 (domain rules §1): the stored member_type, by every word a sheet may use.
MEMBER_TYPES: dict[str, str] = {
    "自管党员": "community_managed",
    "社区直管党员": "community_managed",
    "直管党员": "community_managed",
    "双报到党员": "dual_registered",
    "双报到": "dual_registered",
    "在职党员": "dual_registered",
    "物业企业党员": "property_company",
    "物业党员": "property_company",
    "志愿者党员": "volunteer",
    "离退休党员": "retired",
    "退休党员": "retired",
    "流动党员": "mobile",
}

# The stored values themselves are accepted too, so an export of timebank's own data imports unchanged.
HOUSEHOLD_KINDS.update({value: value for value in set(HOUSEHOLD_KINDS.values())})
MEMBER_TYPES.update({value: value for value in set(MEMBER_TYPES.values())})

_BY_HEADER = {header: column for column, spec in _SPECS.items() for header in spec.headers} | {
    column.value: column for column in Column
}


def column_for_header(header: str) -> Column | None:
    """The column a header names, forgiving width, case and spaces (``身份证号 ``, ``ID_Number``)."""
    key = "".join(unicodedata.normalize("NFKC", header).split()).lower()
    return _BY_HEADER.get(key)
