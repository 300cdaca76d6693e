"""Who may order an item, and when: the item's availability window, age range and household kinds."""

from __future__ import annotations

from datetime import date, datetime

from timebank.rewards.errors import NotEligible
from timebank.rewards.model import LOCAL_TIME, Item

__all__ = ["age_on", "check_eligible"]


def age_on(birth_date: date, day: date) -> int:
    """Full years of age on ``day``."""
    return day.year - birth_date.year - ((day.month, day.day) < (birth_date.month, birth_date.day))


def check_eligible(item: Item, *, now: datetime, birth_date: date | None, household_kind: str | None) -> None:
    """Refuse an order of ``item`` for a person born on ``birth_date`` living in a household of ``household_kind``.

    Raises:
        NotEligible: naming the rule and the item.
    """
    where = {"field": "lines", "item_id": str(item.id)}
    if not item.listed:
        raise NotEligible(f"{item.name} is not on offer", **where)
    if item.available_from is not None and now < item.available_from:
        raise NotEligible(f"{item.name} is offered from {item.available_from.isoformat()}", **where)
    if item.available_until is not None and now >= item.available_until:
        raise NotEligible(f"{item.name} was offered until {item.available_until.isoformat()}", **where)
    if item.min_age is not None or item.max_age is not None:
        if birth_date is None:
            raise NotEligible(f"{item.name} has an age rule and the person's birth date is not on record", **where)
        age = age_on(birth_date, now.astimezone(LOCAL_TIME).date())
        if item.min_age is not None and age < item.min_age:
            raise NotEligible(f"{item.name} is for people aged {item.min_age} or over", age=age, **where)
        if item.max_age is not None and age > item.max_age:
            raise NotEligible(f"{item.name} is for people aged {item.max_age} or under", age=age, **where)
    if item.household_kinds is not None and household_kind not in item.household_kinds:
        raise NotEligible(
            f"{item.name} is for households of kind {', '.join(item.household_kinds)}",
            household_kind=household_kind,
            **where,
        )
