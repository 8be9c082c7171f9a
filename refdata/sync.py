"""``hub refdata sync``: load or refresh the reference data, idempotently, keeping history.

A unit that changes in a refresh is never overwritten. A unit still in force is closed the
day before the refresh and a new version opens that day; a unit of the legacy era (already
closed by the reform) is a correction, so the old row is marked superseded and the
corrected row takes its validity. A unit gone from the package is closed, not deleted.

Publishing the refreshed catalogues to the levels is not reference data's business: the
command runs :func:`sync.publish.refresh_and_publish`, which calls this and then publishes.
"""
from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from datetime import date, timedelta
from pathlib import Path

import yaml
from sqlalchemy import Engine, and_, delete, func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert

from refdata import admin_units as source
from warehouse.tables import admin_unit, admin_unit_crosswalk, code_list, indicator

CODE_LISTS = Path(__file__).with_name("code_lists.yaml")
INDICATORS = Path(__file__).with_name("indicators.yaml")
ATTRS = ("name", "type", "parent_code", "province_code", "valid_to")


@dataclass
class SyncResult:
    inserted: int = 0
    closed: int = 0
    corrected: int = 0
    unchanged: int = 0
    crosswalk: int = 0
    code_lists: int = 0
    indicators: int = 0


def served_provinces() -> list[str] | None:
    """Legacy province codes the hub keeps (``HUB_PROVINCE``, default Bắc Giang 24; ``all`` for the country)."""
    value = os.environ.get("HUB_PROVINCE", "24").strip()
    return None if value.lower() == "all" else [p.strip() for p in value.split(",") if p.strip()]


def sync(engine: Engine, provinces: list[str] | None = ..., today: date | None = None) -> SyncResult:
    provinces = served_provinces() if provinces is ... else provinces
    today = today or date.today()
    wanted = {(u.code, u.level, u.era): u for u in source.units(provinces)}
    links = source.crosswalk(provinces)
    result = SyncResult()
    with engine.begin() as conn:
        current = {}
        for row in conn.execute(select(admin_unit).where(admin_unit.c.superseded_at.is_(None))
                                .order_by(admin_unit.c.valid_from.asc().nulls_first())).mappings():
            current[(row["code"], row["level"], row["era"])] = row  # the latest version wins
        new_rows = []
        for key, unit in wanted.items():
            row = current.get(key)
            if row is None:
                new_rows.append(asdict(unit))
            elif all(row[a] == getattr(unit, a) for a in ATTRS if a != "valid_to") and \
                    (row["valid_to"] == unit.valid_to or unit.era == "2025" and row["valid_to"] is None):
                result.unchanged += 1
            elif unit.era == "2025" and (row["valid_to"] is None or row["valid_to"] >= today):
                _close(conn, row["unit_id"], today)
                new_rows.append({**asdict(unit), "valid_from": today})
                result.closed += 1
            else:
                conn.execute(update(admin_unit).where(admin_unit.c.unit_id == row["unit_id"])
                             .values(superseded_at=func.now()))
                new_rows.append({**asdict(unit), "valid_from": row["valid_from"]})
                result.corrected += 1
        for key, row in current.items():  # gone from the package: closed, kept
            if key not in wanted and row["era"] == "2025" and row["valid_to"] is None and provinces is None:
                _close(conn, row["unit_id"], today)
                result.closed += 1
        if new_rows:
            conn.execute(insert(admin_unit), new_rows)
        result.inserted = len(new_rows)
        stmt = pg_insert(admin_unit_crosswalk)
        conn.execute(stmt.on_conflict_do_update(
            index_elements=["level", "legacy_code", "new_code"], set_={"is_default": stmt.excluded.is_default},
            where=admin_unit_crosswalk.c.is_default != stmt.excluded.is_default),
            [asdict(lk) for lk in links])
        result.crosswalk = len(links)
        result.code_lists = sync_code_lists(conn)
        result.indicators = sync_indicators(conn)
    return result


def _close(conn, unit_id: int, today: date) -> None:
    conn.execute(update(admin_unit).where(admin_unit.c.unit_id == unit_id)
                 .values(valid_to=today - timedelta(days=1)))


def sync_code_lists(conn, path: Path = CODE_LISTS) -> int:
    lists = yaml.safe_load(path.read_text(encoding="utf-8"))
    rows = [{"list_name": name, "code": str(code), "label": label}
            for name, entries in lists.items() for code, label in entries.items()]
    stmt = pg_insert(code_list)
    conn.execute(stmt.on_conflict_do_update(index_elements=["list_name", "code"],
                                            set_={"label": stmt.excluded.label},
                                            where=code_list.c.label != stmt.excluded.label), rows)
    for name, entries in lists.items():  # the hub is the source of truth: drop what the file no longer has
        conn.execute(delete(code_list).where(and_(code_list.c.list_name == name,
                                                  code_list.c.code.not_in([str(c) for c in entries]))))
    return len(rows)


def sync_indicators(conn, path: Path = INDICATORS) -> int:
    catalogue = yaml.safe_load(path.read_text(encoding="utf-8"))
    rows = [{"code": code, **entry} for code, entry in catalogue.items()]
    stmt = pg_insert(indicator)
    conn.execute(stmt.on_conflict_do_update(index_elements=["code"], set_={
        k: stmt.excluded[k] for k in ("name", "unit_of_measure", "additive", "tolerance")}), rows)
    return len(rows)


def is_loaded(engine: Engine) -> bool:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(admin_unit)).scalar() > 0
