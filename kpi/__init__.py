"""The operations centre's figures (trung tâm điều hành thông minh, IOC), computed once in the
warehouse per unit, month and level, on each side of the 2025 reform: ``mart.kpi_*``.

Each figure group is one module with one :class:`Figure` (``register``-ed here): what facts it
reads from ``core`` (one row per dossier-month, document recipient, beneficiary, report,
consultation, meeting participant), the dimensions it is broken down by and how each measure
adds up. The rest is shared: each fact is placed on the map of its month and, for a legacy
month, re-expressed on the 2025 map too (``kpi.geo``), counted at its unit and every ancestor
(commune, district, province), and written to the group's table in one transaction with every
other group (``refresh``), so a reader never sees half a refresh.

    refresh(engine)                              # after loads: the kpi_refresh DAG, hub demo, hub kpi
    read(engine, "dossier", period="2025-06")    # rows as dicts
"""
from __future__ import annotations

import itertools
import os
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from datetime import datetime, timezone

import pandas as pd
from sqlalchemy import Connection, Engine, delete, insert, select

from common.errors import HubError
from common.vietnam import TIMEZONE
from kpi.geo import Map, load_map, maps_for

ALL = "*"
"""A dimension summed over (every agency, every procedure ...)."""


class KpiError(HubError, ValueError):
    """A figure asked for in a way that can't be answered (an unknown group, period or geography)."""


@dataclass(frozen=True)
class Settings:
    """What the published definitions leave to the province, from the environment at the edge."""

    due_within_days: int = 3
    """A dossier in progress is *about to be late* when due within this many working days of the period's end."""
    report_due_days: int = 5
    """A unit's indicator report is on time when sent within this many working days of the period's end."""

    @classmethod
    def from_env(cls) -> "Settings":
        try:
            return cls(int(os.environ.get("HUB_KPI_DUE_WITHIN_DAYS", 3)), int(os.environ.get("HUB_KPI_REPORT_DUE_DAYS", 5)))
        except ValueError as exc:
            raise KpiError(f"HUB_KPI_DUE_WITHIN_DAYS and HUB_KPI_REPORT_DUE_DAYS must be whole numbers ({exc})") from None


@dataclass
class Facts:
    """One row per counted thing: ``period``, ``era`` (the map its unit code is read on), ``unit``,
    the figure's dimensions and the columns its measures aggregate."""

    frame: pd.DataFrame


class Figure(ABC):
    name: str
    """The table is ``mart.kpi_<name>``; ``hub kpi`` shows the group under ``title``."""
    title: str
    dims: tuple[str, ...] = ()
    """Broken down by these, each also summed over (``*``)."""
    fixed: tuple[str, ...] = ()
    """Broken down by these, never summed over."""
    measures: dict[str, tuple[str, str]] = {}
    """Output column -> (source column, aggregation: sum, nunique, median, p90, count)."""
    geographic: bool = True

    @abstractmethod
    def facts(self, conn: Connection, geo: Map, settings: Settings) -> pd.DataFrame:
        """The figure's facts, read from ``core``."""

    def finish(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Derived columns (rates), once the measures are summed."""
        return frame

    def compute(self, conn: Connection, geo: Map, settings: Settings) -> pd.DataFrame:
        facts = self.facts(conn, geo, settings)
        parts = []
        for period, of_period in facts.groupby("period", sort=True):
            for geography in (maps_for(period) if self.geographic else ["any"]):
                placed = self._place(of_period, geo, geography) if self.geographic else of_period
                if not placed.empty:
                    parts.append(rollup(placed, self.dims, self.fixed, self.measures).assign(
                        period=period, geography=geography))
        if not parts:
            return pd.DataFrame(columns=self.columns())
        return self.finish(pd.concat(parts, ignore_index=True))[self.columns()]

    def _place(self, facts: pd.DataFrame, geo: Map, geography: str) -> pd.DataFrame:
        """The facts at their unit on ``geography``'s map and at each of its ancestors."""
        era = geography
        units = [geo.on(u, e, geography) for u, e in zip(facts["unit"], facts["era"])]
        placed = facts.assign(unit=units).dropna(subset=["unit"])
        ancestry = {u: geo.ancestry(era, u) for u in placed["unit"].unique()}
        placed = placed.assign(unit_code=placed["unit"].map(ancestry)).explode("unit_code").dropna(subset=["unit_code"])
        return placed.assign(level=[geo.level(era, c) for c in placed["unit_code"]])

    def columns(self) -> list[str]:
        keys = ["period", "geography"] + (["unit_code", "level"] if self.geographic else [])
        return keys + list(self.fixed) + list(self.dims) + list(self.measures) + list(self.derived)

    derived: tuple[str, ...] = ()


def rollup(facts: pd.DataFrame, dims: tuple[str, ...], fixed: tuple[str, ...],
           measures: dict[str, tuple[str, str]]) -> pd.DataFrame:
    """Measures per unit (and level) and fixed dimension, for every combination of the
    dimensions kept or summed over (``*``): grouping sets, vectorised."""
    base = [c for c in ("unit_code", "level") if c in facts.columns] + list(fixed)
    facts = facts.copy()
    for m, (source, how) in measures.items():
        if how in ("nunique",):
            continue
        facts[source] = pd.to_numeric(facts[source], errors="coerce")
    out = []
    for kept in itertools.product([True, False], repeat=len(dims)):
        keys = base + [d for d, keep in zip(dims, kept) if keep] or ["_all"]
        grouped = facts.assign(_all=0).groupby(keys, dropna=False, sort=True)
        frame = pd.DataFrame({m: _aggregate(grouped, source, how) for m, (source, how) in measures.items()})
        frame = frame.reset_index().drop(columns="_all", errors="ignore")
        for d, keep in zip(dims, kept):
            if not keep:
                frame[d] = ALL
        out.append(frame)
    return pd.concat(out, ignore_index=True)


def _aggregate(grouped, source: str, how: str) -> pd.Series:
    column = grouped[source]
    if how == "sum":
        return column.sum(min_count=0)
    if how == "count":
        return column.count()
    if how == "nunique":
        return column.nunique()
    if how == "median":
        return column.median()
    if how == "p90":
        return column.quantile(0.9)
    raise ValueError(how)


def rate(numerator: pd.Series, denominator: pd.Series) -> pd.Series:
    """A percentage with two decimals, NULL where there is nothing to divide by."""
    num, den = numerator.astype(float), denominator.astype(float)
    return (100 * num / den.where(den > 0)).round(2)


def local(series: pd.Series) -> pd.Series:
    """Timestamps as Vietnam wall-clock time, naive (a day is a local day)."""
    s = pd.to_datetime(series, utc=True)
    return s.dt.tz_convert(TIMEZONE).dt.tz_localize(None)


_FIGURES: dict[str, Figure] = {}


def register(cls: type[Figure]) -> type[Figure]:
    _FIGURES[cls.name] = cls()
    return cls


def figures() -> dict[str, Figure]:
    from kpi import dossiers, documents, social, reporting, telemedicine, meetings  # noqa: F401  (they register)

    return dict(_FIGURES)


@dataclass
class Refresh:
    rows: dict[str, int] = field(default_factory=dict)
    refreshed_at: datetime | None = None


def refresh(engine: Engine, settings: Settings | None = None) -> Refresh:
    """Recompute every figure group and replace ``mart.kpi_*`` in one transaction."""
    from kpi.tables import mart_table

    settings = settings or Settings.from_env()
    result = Refresh(refreshed_at=datetime.now(timezone.utc))
    with engine.begin() as conn:
        geo = load_map(conn)
        for name, figure in figures().items():
            frame = figure.compute(conn, geo, settings)
            table = mart_table(name)
            conn.execute(delete(table))
            rows = _records(frame)
            if rows:
                conn.execute(insert(table), [{**r, "refreshed_at": result.refreshed_at} for r in rows])
            result.rows[name] = len(rows)
    return result


def _records(frame: pd.DataFrame) -> list[dict]:
    """Rows of Python values, None where missing: ``to_dict`` of an all-object frame already boxes
    numpy scalars (``np.int64`` -> ``int``) itself."""
    return frame.astype(object).where(frame.notna(), None).to_dict("records")


def read(engine: Engine, name: str, *, period: str | None = None, unit: str | None = None,
         geography: str | None = None) -> list[dict]:
    """Rows of ``mart.kpi_<name>``, filtered by month, map and unit (its children: ``kpi.views``)."""
    from kpi.tables import mart_table

    if name not in figures():
        raise KpiError(f"unknown figure group {name!r} (known: {', '.join(figures())})")
    table = mart_table(name)
    query = select(table)
    if period:
        query = query.where(table.c.period == period)
    if geography and "geography" in table.c:
        query = query.where(table.c.geography == geography)
    with engine.connect() as conn:
        rows = [dict(r) for r in conn.execute(query).mappings()]
    if unit and "unit_code" in table.c:
        rows = [r for r in rows if r["unit_code"] == unit]
    for r in rows:
        r.pop("refreshed_at", None)
    return rows
