"""Paging shared by the lists: newest first, continued from the last row seen (``before``)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Generic, TypeVar

__all__ = ["Page", "page_clause"]

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    items: list[T]
    #: Pass as ``before`` for the next page; None on the last page.
    next_before: uuid.UUID | None

    @classmethod
    def of(cls, items: list[T], limit: int) -> Page[T]:
        last = getattr(items[-1], "id", None) if len(items) == limit and items else None
        return cls(items=items, next_before=last)


def page_clause(table: str, parameter: str, *, stamp: str = "created_at", alias: str | None = None) -> str:
    """A WHERE term keeping rows older than the row ``parameter`` names (all rows when it is NULL).

    ``table``, ``stamp`` and ``alias`` (the outer query's name for ``table``) are constants of the caller, never input.
    """
    outer = f"{alias}." if alias else ""
    return (
        f"({parameter}::uuid IS NULL OR ({outer}{stamp}, {outer}id) < "
        f"(SELECT cursor_row.{stamp}, cursor_row.id FROM {table} cursor_row WHERE cursor_row.id = {parameter}))"
    )
