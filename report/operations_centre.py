"""The auditors' report's "Operations centre" page: the IOC's figures (``mart.kpi_*``) per month,
ranked units and one chart per figure group, on each map a month has.

A separate page (``operations_centre.html`` beside ``quality_report.html``), built from the mart
alone by :func:`build_page`; :func:`render` returns its HTML for a report that embeds it as a
section. Charts are matplotlib SVG (Agg backend, no display), inlined so the page stands alone.
"""
from __future__ import annotations

import html
import io
from pathlib import Path

from sqlalchemy import Engine

from kpi import figures, read
from kpi.geo import load_map, maps_for
from kpi.views import RANK_BY, SIZE, sections

TITLE = "Operations centre"
MAP_LABEL = {"legacy": "legacy map (before 2025-07-01)", "2025": "2025 map", "any": "agencies"}


def collect(engine: Engine) -> dict:
    """Every group's rows per month, with the map the units are named on."""
    with engine.connect() as conn:
        geo = load_map(conn)
    groups = {name: read(engine, name) for name in figures()}
    periods = sorted({r["period"] for rows in groups.values() for r in rows})
    return {"geo": geo, "periods": periods, "groups": groups}


def render(engine: Engine, periods: list[str] | None = None) -> str:
    """The page's body: per month, per group and map, the ranked units and a chart."""
    data = collect(engine)
    geo, parts = data["geo"], []
    for period in periods or data["periods"]:
        parts.append(f"<h2>{html.escape(period)}</h2>")
        for name, figure in figures().items():
            for geography in (maps_for(period) if figure.geographic else ["any"]):
                rows = [r for r in data["groups"][name] if r["period"] == period and r["geography"] == geography]
                found = [s for s in sections(figure, rows, geo, geography) if s.rows]
                if not found:
                    continue
                parts.append(f"<h3>{html.escape(figure.title)}: {html.escape(MAP_LABEL[geography])}</h3>")
                ranked = found[0] if figure.geographic else found[-1]
                parts.append(_chart(ranked, RANK_BY[name] if figure.geographic else SIZE[name]))
                parts += [_table(s) for s in found]
    if not parts:
        parts.append("<p><em>No figures yet: they are computed after loads (the kpi_refresh DAG, hub demo, "
                     "hub kpi --refresh).</em></p>")
    return "".join(parts)


def build_page(engine: Engine, out_dir: Path) -> Path:
    style = ("body{font-family:sans-serif;margin:2em;max-width:100em}table{border-collapse:collapse;margin:.5em 0 1.5em}"
             "td,th{border:1px solid #bbb;padding:.2em .5em;font-size:85%}th{background:#eee}svg{max-width:60em}")
    intro = ("<p>Figures per unit, month and level, computed in the warehouse (<code>mart.kpi_*</code>) after each "
             "load. A month before 2025-07-01 is shown on its own map and re-expressed on the 2025 map (a legacy "
             "commune counts at its default successor). One-stop rates follow the published definitions: late "
             "rate = (in progress overdue + completed late) / to handle; on-time rate = 100% - late rate. Document "
             "times are in working hours. <a href='quality_report.html'>Data-quality report</a>.</p>")
    page = Path(out_dir) / "operations_centre.html"
    page.write_text(f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>lienthong: {TITLE}</title>"
                    f"<style>{style}</style></head><body><h1>{TITLE}</h1>{intro}{render(engine)}</body></html>\n",
                    encoding="utf-8")
    return page


def _table(section) -> str:
    columns = section.keys + section.columns
    head = "".join(f"<th>{html.escape(c.replace('_', ' '))}</th>" for c in columns)
    body = "".join("<tr>" + "".join(f"<td>{html.escape('' if r.get(c) is None else str(r.get(c)))}</td>"
                                    for c in columns) + "</tr>" for r in section.rows)
    more = f"<p><em>{section.more} more in mart.kpi_*</em></p>" if section.more else ""
    return f"<h4>{html.escape(section.title)}</h4><table><tr>{head}</tr>{body}</table>{more}"


def _chart(section, measure: str) -> str:
    """A horizontal bar chart of one measure over the section's rows, as inline SVG."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    rows = [r for r in section.rows if r.get(measure) is not None]
    if not rows:
        return ""
    labels = [" ".join(str(r.get(k) or "") for k in ("unit_code", "name") if k in r) or
              " / ".join(str(r[k]) for k in section.keys) for r in rows]
    values = [float(r[measure]) for r in rows]
    fig = Figure(figsize=(8, 0.3 * len(rows) + 1))
    ax = fig.subplots()
    ax.barh(range(len(rows)), values, color="#3a7ca5")
    ax.set_yticks(range(len(rows)), labels, fontsize=7)
    ax.invert_yaxis()
    ax.set_xlabel(measure.replace("_", " "))
    fig.tight_layout()
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg")
    svg = buffer.getvalue()
    return svg[svg.index("<svg"):]
