"""The auditors' report (issue 13) built by ``hub demo``, opened page by page in headless Chromium.

One demo run for the module. The figures the pages show are computed again here from the
audit rows and the quarantine and core tables, by queries of this test's own.
"""
from __future__ import annotations

import html
import json
import re

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from browser import Chromium
from conftest import demo_run
from hub.cli import app
from pipeline.config import REPO_ROOT

ARTEFACTS = REPO_ROOT / "tests" / "artefacts"
SCREENSHOT = ARTEFACTS / "quality_report_overview.png"
UNIT_COLUMNS = {  # schema: (unit column, date column) in core, as the schema files say
    "dossier": ("admin_unit_code", "received_at"), "dossier_statistic": ("unit_code", "period_end"),
    "enterprise": ("address_unit_code", "updated_at"), "indicator_report": ("reporting_unit_code", "period_end"),
    "social_beneficiary": ("commune_code", "list_month"), "teleconsultation": ("requesting_unit_code", "requested_at"),
    "online_meeting": ("host_unit_code", "started_at")}


@pytest.fixture(scope="module")
def demo(template_url, tmp_path_factory):
    with demo_run(template_url, tmp_path_factory.mktemp("home")) as ran:
        ran.data = json.loads((ran.reports / "quality_report.json").read_text(encoding="utf-8"))
        yield ran


@pytest.fixture(scope="module")
def browser():
    b = Chromium(width=1366, height=768)
    yield b
    b.close()


def rows(engine, sql: str, **params) -> list[dict]:
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(text(sql), params).mappings()]


def pages(reports) -> list:
    return sorted(p for p in reports.rglob("*.html"))


def test_the_first_screen_names_the_worst_source_and_units_with_their_top_reason(demo, browser):
    assert demo.cli.exit_code == 0, demo.cli.output
    printed = " ".join(demo.cli.output.split()).split("report: ")[1].split()[0]
    assert printed == str(demo.reports / "quality_report.html")
    loaded = browser.open(f"file://{printed}")
    assert not loaded["errors"] and not loaded["failed"]
    first_screen = browser.visible_text()
    browser.screenshot(SCREENSHOT)
    overview = demo.data["sections"]["overview"]
    worst = overview["worst_source"]
    rates = [s["pass_rate"] for s in overview["sources"] if s["pass_rate"] is not None]
    assert worst["pass_rate"] == min(rates) < 100
    assert worst["source"] in first_screen and worst["top_reason"]["check"] in first_screen
    assert f"{worst['pass_rate']:.1f}%" in first_screen
    units = overview["worst_units"]
    assert units and all(u["level"] == "commune" for u in units)
    for u in units[:3]:
        assert u["name"] in first_screen and u["top_reasons"][0]["check"] in first_screen
    assert SCREENSHOT.stat().st_size > 20_000


def test_every_page_opens_in_chromium_without_error_request_outside_or_overflow_at_1366px(demo, browser):
    seen = pages(demo.reports)
    names = {p.relative_to(demo.reports).as_posix() for p in seen}
    assert {"quality_report.html", "freshness.html", "volume.html", "schema.html", "distribution.html",
            "units.html", "quarantine.html", "reconciliation.html", "lineage.html"} <= names
    assert any(n.startswith("units/") for n in names) and any(n.startswith("batches/") for n in names)
    assert any(n.startswith("data_docs/") for n in names)
    for page in seen:
        got = browser.open(page.as_uri())
        where = page.relative_to(demo.reports)
        assert got["errors"] == [], (where, got["errors"])
        assert got["failed"] == [], (where, got["failed"])
        assert all(u.startswith(("file://", "data:")) for u in got["requests"]), (where, got["requests"])
        assert got["scroll_width"] <= got["window_width"], (where, got["scroll_width"])
        assert not got["dialogs"]


def test_the_report_needs_no_script_and_ships_a_font_with_vietnamese_glyphs(demo, browser):
    for page in pages(demo.reports):
        assert "<script" not in page.read_text(encoding="utf-8"), page
    assert (demo.reports / "assets" / "DejaVuSans.ttf").stat().st_size > 100_000
    browser.open((demo.reports / "units.html").as_uri())
    has_glyphs = browser.call("Runtime.evaluate", awaitPromise=True, returnByValue=True, expression=(
        "document.fonts.ready.then(() => document.fonts.check('14px \"DejaVu Sans\"', 'Phường Xã Điện Hương ỹ'))"))
    assert has_glyphs["result"]["value"] is True
    used = browser.call("Runtime.evaluate", returnByValue=True, expression=(
        "Array.from(document.fonts).filter(f => f.status === 'loaded').map(f => f.family)"))["result"]["value"]
    assert "DejaVu Sans" in used


def test_the_overview_figures_equal_the_audit_rows(demo):
    audit = {r["source"]: r for r in rows(demo.engine, """
        SELECT source, count(DISTINCT run_id) AS runs, sum(rows_read)::int AS read, sum(rows_quarantined)::int AS quarantined
        FROM audit.batch WHERE status NOT IN ('failed', 'running') AND adapter <> 'replay' GROUP BY source""")}
    shown = {s["source"]: s for s in demo.data["sections"]["overview"]["sources"]}
    assert set(shown) >= set(audit)
    page = (demo.reports / "quality_report.html").read_text(encoding="utf-8")
    for name, a in audit.items():
        s = shown[name]
        assert (s["runs"], s["read"], s["quarantined"]) == (a["runs"], a["read"], a["quarantined"]), name
        rate = None if not a["read"] else round(100 - 100 * a["quarantined"] / a["read"], 2)
        assert s["pass_rate"] == rate, name
        row = page.split(f"<td><strong>{name}</strong>")[1].split("</tr>")[0]
        assert f"{rate:.1f}%" in row and f'<td class="n">{a["read"]}</td>' in row
        assert f'<td class="n">{a["quarantined"]}</td>' in row
    ranked = [s["pass_rate"] for s in demo.data["sections"]["overview"]["sources"] if s["pass_rate"] is not None]
    assert ranked == sorted(ranked)  # worst first
    order = [m.group(1) for m in re.finditer(r"<td class=\"n\">\d+</td><td><strong>([a-z0-9_]+)</strong>", page)]
    assert order == [s["source"] for s in demo.data["sections"]["overview"]["sources"]]


def test_the_quarantine_figures_equal_the_quarantine_tables(demo):
    expected = {}
    for schema in UNIT_COLUMNS | {"official_document": None, "document_trace": None, "catalogue_entry": None}:
        for r in rows(demo.engine, f"SELECT source, c AS check, count(*) AS n FROM quarantine.{schema}, "
                                   "unnest(failed_checks) c GROUP BY source, c"):
            expected[(r["source"], r["check"])] = r["n"]
    shown = {(r["source"], r["check"]): r["rows"] for r in demo.data["quarantine"]}
    assert shown == expected and expected
    page = (demo.reports / "quarantine.html").read_text(encoding="utf-8")
    for (source, check), n in expected.items():
        assert f"<tr><td>{html.escape(check)}</td><td>{n}</td>" in page
    total = sum(r["open"] for r in demo.data["sections"]["quarantine"]["reasons"])
    assert total == sum(expected.values())


def test_each_quarantined_record_links_to_its_position_and_its_batch_page(demo):
    page = (demo.reports / "quarantine.html").read_text(encoding="utf-8")
    listed = [q for r in demo.data["sections"]["quarantine"]["reasons"] for q in r["listed"]]
    assert listed
    for q in listed:
        assert html.escape(q["position"]) in page
        assert f'href="batches/{q["batch_id"]}.html"' in page
        assert (demo.reports / "batches" / f"{q['batch_id']}.html").is_file()
    batch_id = listed[0]["batch_id"]
    batch_page = (demo.reports / "batches" / f"{batch_id}.html").read_text(encoding="utf-8")
    [audit_row] = rows(demo.engine, "SELECT * FROM audit.batch WHERE batch_id = :b", b=batch_id)
    assert f"<th>rows_read</th><td>{audit_row['rows_read']}</td>" in batch_page
    assert f"<th>schema_version</th><td>{audit_row['schema_version']}</td>" in batch_page
    assert "Expectation results" in batch_page


def test_per_unit_figures_equal_core_and_quarantine_on_the_period_map(demo):
    worst = demo.data["sections"]["overview"]["worst_units"][0]
    loaded = 0
    for schema, (unit, day) in UNIT_COLUMNS.items():
        cutoff = "DATE '2025-07-01'" if day in ("period_end", "list_month") else "TIMESTAMPTZ '2025-07-01 00:00+07'"
        era = "<" if worst["era"] == "legacy" else ">="
        loaded += rows(demo.engine, f"SELECT count(*) AS n FROM core.{schema} WHERE {unit} = :c AND {day} {era} {cutoff}",
                       c=worst["code"])[0]["n"]
    assert worst["loaded"] == loaded
    assert worst["pass_rate"] == round(100 * worst["loaded"] / worst["read"], 2)
    name = rows(demo.engine, "SELECT name FROM ref.admin_unit WHERE code = :c AND era = :e AND superseded_at IS NULL",
                c=worst["code"], e=worst["era"])[0]["name"]
    assert worst["name"] == name
    unit_page = (demo.reports / worst["page"]).read_text(encoding="utf-8")
    assert html.escape(name) in unit_page and worst["top_reasons"][0]["check"] in unit_page


def test_findings_name_units_and_show_people_masked(demo):
    site = "".join(p.read_text(encoding="utf-8") for p in pages(demo.reports) if "data_docs" not in p.parts)
    site += (demo.reports / "quality_report.json").read_text(encoding="utf-8")
    hashes = {r["h"] for r in rows(demo.engine, "SELECT DISTINCT citizen_id_hash AS h FROM core.social_beneficiary")}
    assert hashes and not [h for h in hashes if h in site]
    page = (demo.reports / "reconciliation.html").read_text(encoding="utf-8")
    findings = demo.data["sections"]["reconciliation"]["open"]
    named = [f for f in findings if f["check"].startswith(("indicator", "beneficiary"))]
    assert named
    for f in named:
        for u in f["units"]:
            assert u["name"], f
            assert html.escape(f"{u['name']} ({u['code']})") in page
    people = [f for f in findings if f["check"].startswith("beneficiary")]
    assert people and all(re.fullmatch(r"\d{3}\*+\d{2}", f["subject"]) for f in people)


def test_charts_are_inline_svg_with_titles_axes_and_units(demo):
    overview = (demo.reports / "quality_report.html").read_text(encoding="utf-8")
    assert overview.count("<svg ") >= len(demo.data["sources"])
    assert 'aria-label="Pass rate per run' in overview and "pass rate (%)" in overview
    volume = (demo.reports / "volume.html").read_text(encoding="utf-8")
    assert "rows read per run" in volume and "rows read" in volume and "run (oldest → newest)" in volume
    distribution = (demo.reports / "distribution.html").read_text(encoding="utf-8")
    assert "null rate (% of rows read)" in distribution


def test_hub_report_json_prints_the_same_figures(demo, monkeypatch):
    monkeypatch.setenv("HUB_HOME", str(demo.home))
    out = CliRunner().invoke(app, ["report", "--json"])
    assert out.exit_code == 0, out.output
    printed = json.loads(out.stdout)
    again = json.loads((demo.reports / "quality_report.json").read_text(encoding="utf-8"))
    assert without_clock(printed) == without_clock(again)
    assert set(printed["sections"]) == {"overview", "freshness", "volume", "schema", "distribution", "units",
                                        "quarantine", "reconciliation", "lineage", "access"}


def without_clock(value):
    """The figures less those that depend on when the report was built."""
    if isinstance(value, dict):
        return {k: without_clock(v) for k, v in value.items() if k not in ("generated_at", "overdue_hours")}
    if isinstance(value, list):
        return [without_clock(v) for v in value]
    return value


def test_data_docs_are_linked_from_batch_pages_and_rebuilt_only_for_new_results(demo):
    from report import data_docs

    kept = rows(demo.engine, "SELECT batch_id FROM audit.validation_result ORDER BY batch_id")
    assert kept
    for r in kept:
        assert (demo.reports / "data_docs" / f"batch-{r['batch_id']}.html").is_file()
        batch_page = (demo.reports / "batches" / f"{r['batch_id']}.html")
        if batch_page.is_file():
            assert f'href="../data_docs/batch-{r["batch_id"]}.html"' in batch_page.read_text(encoding="utf-8")
    with demo.engine.connect() as conn:
        assert data_docs.build(conn, demo.reports / "data_docs") == {"rendered": 0, "removed": 0, "kept": len(kept)}


def test_the_overview_prints_with_its_charts(demo, browser):
    import base64

    browser.open((demo.reports / "quality_report.html").as_uri())
    media = browser.call("Runtime.evaluate", returnByValue=True, expression=(
        "Array.from(document.styleSheets).some(s => Array.from(s.cssRules).some(r => r.media && "
        "r.media.mediaText === 'print'))"))["result"]["value"]
    assert media is True
    pdf = base64.b64decode(browser.call("Page.printToPDF", printBackground=False, paperWidth=8.27,
                                        paperHeight=11.69)["data"])
    assert pdf.startswith(b"%PDF") and len(pdf) > 20_000
