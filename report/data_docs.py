"""Great Expectations Data Docs for the validation results the warehouse keeps.

Each kept result (``audit.validation_result``: the last N per source) becomes one page rendered
by GX's own renderer and page view, in ``reports/data_docs/batch-<id>.html``, linked from the
batch's page. A page is rendered once: a rebuild renders only results kept since, and removes
pages whose result is no longer kept, so its cost follows what changed, not the history.

GX's page template loads Bootstrap, jQuery and Vega from CDNs; the report is read offline, so
the templates in ``report/templates/gx`` take the place of those that fetch or script anything.
"""
from __future__ import annotations

import re
from pathlib import Path

from sqlalchemy import Connection, select

from warehouse.tables import validation_result

TEMPLATES = Path(__file__).with_name("templates") / "gx"
PAGE = re.compile(r"batch-(\d+)\.html")


def page_name(batch_id: int) -> str:
    return f"batch-{batch_id}.html"


def build(conn: Connection, folder: Path) -> dict[str, int]:
    """Render the pages of results not yet rendered, drop those of results no longer kept."""
    folder.mkdir(parents=True, exist_ok=True)
    kept = set(conn.execute(select(validation_result.c.batch_id)).scalars())
    have = {int(m.group(1)): p for p in folder.glob("batch-*.html") if (m := PAGE.fullmatch(p.name))}
    for batch_id in set(have) - kept:
        have[batch_id].unlink()
    missing = sorted(kept - set(have))
    if missing:
        view, renderer, schema = _gx()
        for row in conn.execute(select(validation_result).where(validation_result.c.batch_id.in_(missing))):
            document = renderer.render(schema.load(row.result))
            (folder / page_name(row.batch_id)).write_text(view.render(document), encoding="utf-8")
    return {"rendered": len(missing), "removed": len(set(have) - kept), "kept": len(kept)}


def _gx():
    """GX's renderer and page view (imported only when a page is to be rendered: GX is slow to import)."""
    from jinja2 import ChoiceLoader, FileSystemLoader

    import quality.checks  # noqa: F401  (registers the hub's own expectations, which the results name)
    from quality.context import gx_context
    from great_expectations.core.expectation_validation_result import ExpectationSuiteValidationResultSchema
    from great_expectations.render.renderer import ValidationResultsPageRenderer
    from great_expectations.render.view import DefaultJinjaPageView

    gx_context()  # GX's result objects want a context in the process
    view = DefaultJinjaPageView()
    view.env.loader = ChoiceLoader([FileSystemLoader(str(TEMPLATES)), view.env.loader])
    return view, ValidationResultsPageRenderer(), ExpectationSuiteValidationResultSchema()
