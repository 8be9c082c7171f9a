"""The auditors' report: a static site in one folder, rebuilt from the warehouse alone.

Auditors read it without access to the database: offline (no CDN, the font shipped in the
folder), readable without JavaScript (charts are inline SVG), printable. The overview ranks the
sources; one page per pillar of data quality (freshness, volume, schema, distribution,
lineage), per unit, per batch; the quarantine and the reconciliation findings. The same figures
go to ``quality_report.json`` (``hub report --json``). It names checks, reasons and positions,
never a raw record: quarantined rows can hold personal data, which stays in the warehouse.

Each section is a module of :mod:`report.sections`; this module only runs them and writes.
"""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import matplotlib
from jinja2 import Environment, PackageLoader, select_autoescape
from sqlalchemy import Engine, func, select

from pipeline.config import ConfigError, SourceConfig, known_sources
from report.figures import COUNTS, Figures, plain, runs_kept
from report.sections import all_sections
from warehouse.tables import batch

PAGE = "quality_report.html"
FONTS = ("DejaVuSans.ttf", "DejaVuSans-Bold.ttf")


def report_dir() -> Path:
    return Path(os.environ.get("HUB_HOME", ".hub")).resolve() / "reports"


def registry() -> dict[str, SourceConfig]:
    """The sources' schedules and mappings, if a registry is at hand; the report is still built without."""
    try:
        return known_sources()
    except ConfigError:
        return {}


def _figures(conn, sources: dict[str, SourceConfig] | None) -> Figures:
    return Figures(conn, sources if sources is not None else registry(), runs_kept=runs_kept())


def collect(engine: Engine, sources: dict[str, SourceConfig] | None = None) -> dict[str, Any]:
    """Every section's figures, as plain values (the JSON), plus the old top-level keys."""
    with engine.connect() as conn:
        fig = _figures(conn, sources)
        return _collect(fig)


def _collect(fig: Figures) -> dict[str, Any]:
    data = {s.name: fig.section(s.name) for s in all_sections()}
    unbalanced = fig.conn.execute(select(func.count()).where(
        batch.c.status.not_in(["running", "failed"]),
        batch.c.rows_read != sum(batch.c[f"rows_{k}"] for k in COUNTS[1:]))).scalar_one()
    return plain({"generated_at": fig.now, "runs_kept": fig.runs_kept, "unbalanced_batches": unbalanced,
                  "sources": data["overview"]["sources"], "quarantine": data["quarantine"]["by_source_check"],
                  "reconciliation": data["reconciliation"], **{"sections": data}})


def environment() -> Environment:
    return Environment(loader=PackageLoader("report", "templates"), autoescape=select_autoescape(default=True),
                       trim_blocks=True, lstrip_blocks=True)


def build_report(engine: Engine, out_dir: Path | None = None,
                 sources: dict[str, SourceConfig] | None = None) -> Path:
    """Write the site (``quality_report.html`` and the pages it links) and ``quality_report.json``;
    return the overview's path. Data Docs are brought up to date alongside."""
    from report import data_docs

    out = Path(out_dir or report_dir())
    out.mkdir(parents=True, exist_ok=True)
    env = environment()
    with engine.connect() as conn:
        fig = _figures(conn, sources)
        data = _collect(fig)
        nav = [{"name": s.name, "title": s.title, "page": s.page} for s in all_sections()]
        common = {"generated_at": data["generated_at"][:16].replace("T", " ") + " UTC", "nav": nav,
                  "runs_kept": fig.runs_kept, "unbalanced": data["unbalanced_batches"]}
        written = set()
        for section in all_sections():
            for page in section.pages(data["sections"][section.name], fig):
                root = "../" * page.path.count("/")
                target = out / page.path
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(env.get_template(page.template).render(
                    **common, **page.context, root=root, section=section.name, title=page.title), encoding="utf-8")
                written.add(target)
        data_docs.build(conn, out / "data_docs")
    for folder in ("units", "batches"):  # pages of units and batches no longer shown
        for old in (out / folder).glob("*.html") if (out / folder).is_dir() else []:
            if old not in written:
                old.unlink()
    _fonts(out / "assets")
    (out / "quality_report.json").write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")
    return out / PAGE


def _fonts(folder: Path) -> None:
    """DejaVu Sans (Vietnamese glyphs included) from matplotlib's own copy: no CDN, no system font."""
    folder.mkdir(parents=True, exist_ok=True)
    source = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
    for name in FONTS:
        if not (folder / name).exists():
            shutil.copyfile(source / name, folder / name)
