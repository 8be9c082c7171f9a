"""Look up administrative units by (code, date), never by code alone.

Codes are reused across the 2025 reform with a different meaning (province 24 was Bắc Giang,
is now the new Bắc Ninh; commune 07210 was Phường Hoàng Văn Thụ, is now Phường Bắc Giang),
so every lookup names the date at which the code is read.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import Connection, FromClause, and_, case, literal_column, or_, select
from sqlalchemy.dialects import postgresql

from warehouse.tables import admin_unit, admin_unit_crosswalk


@dataclass(frozen=True)
class AdminUnit:
    code: str
    name: str
    type: str
    level: str
    parent_code: str | None
    era: str
    valid_from: date | None
    valid_to: date | None


def valid_on(on, units: FromClause = admin_unit):
    """A unit version in force on ``on`` (a date or a column): the one place this rule is written.

    A superseded row was a mistake corrected later, so it never counts; an open bound is open.
    ``units`` is ``ref.admin_unit`` or an alias of it, so a query joining the table twice (a
    unit and its parent) asks the same question of each.
    """
    return and_(units.c.superseded_at.is_(None),
                or_(units.c.valid_from.is_(None), units.c.valid_from <= on),
                or_(units.c.valid_to.is_(None), units.c.valid_to >= on))


def valid_on_sql(alias: str, on: str) -> str:
    """:func:`valid_on` rendered for the reconciliation queries written as SQL text: ``alias``
    names ``ref.admin_unit`` in the query and ``on`` the column holding the day. Rendered by
    SQLAlchemy from the same construct, so the rule is never copied or patched as text."""
    return str(valid_on(literal_column(on), admin_unit.alias(alias)).compile(dialect=postgresql.dialect()))


def _day(on: date | datetime) -> date:
    return on.date() if isinstance(on, datetime) else on


def _unit(row) -> AdminUnit:
    return AdminUnit(**{f: row[f] for f in AdminUnit.__dataclass_fields__})


def unit_at(conn: Connection, code: str, on: date | datetime) -> AdminUnit | None:
    """The unit ``code`` named on ``on``, or None if no unit had that code that day."""
    row = conn.execute(select(admin_unit).where(admin_unit.c.code == code, valid_on(_day(on)))).mappings().first()
    return _unit(row) if row else None


def units_at(conn: Connection, on: date | datetime, *, level: str | None = None,
             parent_code: str | None = None) -> list[AdminUnit]:
    query = select(admin_unit).where(valid_on(_day(on))).order_by(admin_unit.c.code)
    if level:
        query = query.where(admin_unit.c.level == level)
    if parent_code:
        query = query.where(admin_unit.c.parent_code == parent_code)
    return [_unit(r) for r in conn.execute(query).mappings()]


def parent_at(conn: Connection, code: str, on: date | datetime) -> AdminUnit | None:
    unit = unit_at(conn, code, on)
    return unit_at(conn, unit.parent_code, on) if unit and unit.parent_code else None


def ancestors_at(conn: Connection, code: str, on: date | datetime) -> list[AdminUnit]:
    """Nearest first: commune -> district -> province -> central before the reform,
    commune -> province -> central after it."""
    chain, unit = [], unit_at(conn, code, on)
    while unit and unit.parent_code:
        unit = unit_at(conn, unit.parent_code, on)
        if unit:
            chain.append(unit)
    return chain


def successors(conn: Connection, code: str) -> list[tuple[AdminUnit, bool]]:
    """The 2025 units a legacy unit became, each with the crosswalk's default flag."""
    xw = admin_unit_crosswalk
    rows = conn.execute(select(admin_unit, xw.c.is_default)
                        .join(xw, and_(xw.c.new_code == admin_unit.c.code,
                                       admin_unit.c.level == case((xw.c.level == "province", "province"),
                                                                  else_="commune")))
                        .where(xw.c.legacy_code == code, admin_unit.c.era == "2025",
                               admin_unit.c.superseded_at.is_(None), admin_unit.c.valid_to.is_(None))
                        .order_by(xw.c.is_default.desc(), admin_unit.c.code)).mappings()
    return [(_unit(r), r["is_default"]) for r in rows]


def successor(conn: Connection, code: str) -> AdminUnit | None:
    """The default 2025 successor of a legacy unit (a district's is its province's successor)."""
    found = successors(conn, code)
    if found:
        return found[0][0]
    legacy = conn.execute(select(admin_unit).where(admin_unit.c.code == code, admin_unit.c.era == "legacy",
                                                   admin_unit.c.level == "district",
                                                   admin_unit.c.superseded_at.is_(None))).mappings().first()
    return successor(conn, legacy["province_code"]) if legacy else None
