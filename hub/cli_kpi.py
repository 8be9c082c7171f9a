"""``hub kpi``: the operations centre's figures for a month, from ``mart.kpi_*``.

Registered on the main app in one line (``hub/cli.py``); the figures come from :mod:`kpi`.
"""
from __future__ import annotations

import json
import sys
from typing import Annotated, Optional

import typer
from rich.table import Table

from hub.errors import console, fail, one_line_errors

PERIOD_HELP = "The month, YYYY-MM (default: the latest month with figures)."


@one_line_errors
def kpi(
    period: Annotated[Optional[str], typer.Option(help=PERIOD_HELP)] = None,
    unit: Annotated[Optional[str], typer.Option(help="A unit code: that unit and its units (default: the province).")] = None,
    as_of_geography: Annotated[Optional[str], typer.Option(
        "--as-of-geography", help="legacy: the month on its own map; 2025: on the 2025 map "
                                  "(default: both, side by side where they differ).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Every row of the month as JSON.")] = False,
    refresh: Annotated[bool, typer.Option("--refresh", help="Recompute mart.kpi_* from the warehouse first.")] = False,
) -> None:
    """Print the operations centre's figures: one-stop on-time rates, document processing times,
    social protection, reporting discipline, telemedicine and online meetings, per unit.

    Example: hub kpi --period 2025-06 --as-of-geography 2025
    """
    import re

    from kpi import KpiError, figures, read, refresh as run_refresh
    from kpi.geo import era_of, load_map, maps_for
    from hub.cli import _engine
    from kpi.views import sections

    if period is not None and not re.fullmatch(r"[0-9]{4}-(0[1-9]|1[0-2])", period):
        fail(f"--period must be a month as YYYY-MM, not {period!r}", 2)
    if as_of_geography not in (None, "legacy", "2025"):
        fail(f"--as-of-geography must be legacy or 2025, not {as_of_geography!r}", 2)
    engine = _engine()  # it may refresh the marts: the warehouse migrated, as for any command that writes
    if refresh or _latest(engine, ["dossier", "document"]) is None:
        run_refresh(engine)
    period = period or _latest(engine, figures())
    if period is None:
        raise KpiError("no figures yet: load some sources (hub run, hub demo), then hub kpi --refresh")
    maps = maps_for(period)
    if as_of_geography:
        maps = [era_of(period) if as_of_geography == "legacy" else "2025"]
    with engine.connect() as conn:
        geo = load_map(conn)
    if unit and not any((m, unit) in geo.units for m in maps):
        raise KpiError(f"no unit {unit!r} on the {' or '.join(maps)} map of {period}")
    groups = {name: read(engine, name, period=period) for name in figures()}
    if as_json:
        body = {"period": period, "maps": maps, "groups": {
            name: [r for r in rows if r.get("geography") in (*maps, "any")
                   and (unit is None or r.get("unit_code", unit) == unit)] for name, rows in groups.items()}}
        sys.stdout.write(json.dumps(body, ensure_ascii=False, default=str, indent=1) + "\n")
        return
    console.print(f"[bold]Operations centre figures for {period}[/bold] (maps: {', '.join(maps)})", highlight=False)
    for name, figure in figures().items():
        for geography in (maps if figure.geographic else ["any"]):
            rows = [r for r in groups[name] if r["geography"] == geography]
            label = {"legacy": "legacy map", "2025": "2025 map", "any": "agencies"}[geography]
            console.print(f"\n[bold]{figure.title}[/bold] ({label})", highlight=False)
            found = sections(figure, rows, geo, geography, unit)
            if not any(s.rows for s in found):
                console.print("  (nothing this month)", highlight=False)
            for s in found:
                if s.rows:
                    _print(s)


def _print(section) -> None:
    table = Table(title=section.title + (f" (+{section.more} more: --json)" if section.more else ""),
                  title_justify="left")
    for col in section.keys + section.columns:
        table.add_column(col.replace("_", " "), overflow="fold")
    for r in section.rows:
        table.add_row(*(_cell(r.get(c)) for c in section.keys + section.columns))
    console.print(table)


def _cell(value) -> str:
    if value is None:
        return ""
    return f"{value:,}" if isinstance(value, int) else str(value)


def _latest(engine, names) -> str | None:
    """The latest month any of these groups has figures for: one max() per mart table, not its rows."""
    from sqlalchemy import func, select

    from kpi.tables import mart_table

    with engine.connect() as conn:
        periods = [conn.execute(select(func.max(mart_table(name).c.period))).scalar() for name in names]
    return max((p for p in periods if p is not None), default=None)
