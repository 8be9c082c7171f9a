"""The overview flags what peer tools are blamed for missing (issue 13): a source that read 0 rows,
a source overdue on its schedule, a source whose columns changed; and data never becomes markup."""
from __future__ import annotations

import dataclasses
import json
import re

from sqlalchemy import MetaData, create_engine, insert, text

from browser import Chromium
from conftest import demo_rows, write_csv
from pipeline.run import run_source
from test_sql_adapter import enterprise, register_table, sql_source, times
from report import build_report, data_docs


def named(make_source, path, name, **changes):
    return dataclasses.replace(make_source(path), name=name, **changes)


def test_zero_rows_an_overdue_source_and_changed_columns_are_flagged_on_the_overview(engine, make_source, tmp_path):
    header, clean = demo_rows()
    second = clean[40:80]
    # a department database that usually has new rows, then a run that reads none
    dept = create_engine(f"sqlite:///{tmp_path / 'dkkd.sqlite'}")
    register = register_table(MetaData(), sqlite=True)
    register.metadata.create_all(dept)
    with dept.begin() as conn:
        conn.execute(insert(register), [enterprise(i, t, sqlite=True) for i, t in enumerate(times(30))])
    zero = dataclasses.replace(sql_source(url=f"sqlite:///{tmp_path / 'dkkd.sqlite'}"), name="zero_rows")
    assert run_source(zero, engine).totals["read"] == 30
    assert run_source(zero, engine).totals["read"] == 0
    # an export file read again unchanged: nothing new, and no flag (its checksum says so)
    same = named(make_source, write_csv(tmp_path / "same.csv", header, clean[200:240]), "same_file")
    run_source(same, engine)
    assert run_source(same, engine).totals["read"] == 0
    # a source scheduled hourly whose last load is five hours old
    late = named(make_source, write_csv(tmp_path / "late.csv", header, second), "late_source", schedule="@hourly")
    run_source(late, engine)
    with engine.begin() as conn:
        conn.execute(text("UPDATE audit.batch SET started_at = started_at - interval '5 hours', "
                          "ended_at = ended_at - interval '5 hours' WHERE source = 'late_source'"))
    # a source whose export gained a column and lost another
    changed = named(make_source, write_csv(tmp_path / "changed.csv", header, clean[80:120]), "changed_columns")
    run_source(changed, engine)
    due = header.index("Ngày hẹn trả")
    write_csv(tmp_path / "changed.csv", [c for c in header if c != "Ngày hẹn trả"] + ["Ghi chú"],
              [[v for i, v in enumerate(r) if i != due] + ["ghi chú"] for r in clean[120:160]])
    assert not run_source(changed, engine).held
    # a source that is fine, for contrast
    fine = named(make_source, write_csv(tmp_path / "fine.csv", header, clean[160:200]), "fine_source",
                 schedule="@daily")
    run_source(fine, engine)

    sources = {s.name: s for s in (zero, same, late, changed, fine)}
    page = build_report(engine, tmp_path / "reports", sources=sources)
    data = json.loads(page.with_name("quality_report.json").read_text(encoding="utf-8"))
    by_name = {s["source"]: s for s in data["sections"]["overview"]["sources"]}
    assert by_name["zero_rows"]["status"] == "degraded"
    assert any(f.startswith("succeeded with 0 rows") for f in by_name["zero_rows"]["flags"])
    assert by_name["late_source"]["status"] == "stale"
    assert by_name["late_source"]["flags"][0].startswith("stale: overdue")
    assert by_name["changed_columns"]["status"] == "degraded"
    assert any("new columns Ghi chú" in f and "missing columns Ngày hẹn trả" in f
               for f in by_name["changed_columns"]["flags"])
    assert (by_name["fine_source"]["status"], by_name["fine_source"]["flags"]) == ("ok", [])
    assert (by_name["same_file"]["status"], by_name["same_file"]["flags"]) == ("ok", [])
    overview = page.read_text(encoding="utf-8")
    for name, words in (("zero_rows", "succeeded with 0 rows"), ("late_source", "stale: overdue"),
                        ("changed_columns", "new columns Ghi chú")):
        row = overview.split(f"<td><strong>{name}</strong>")[1].split("</tr>")[0]
        assert words in row, name
    freshness = {s["source"]: s for s in data["sections"]["freshness"]["sources"]}
    assert freshness["late_source"]["state"] == "stale" and freshness["late_source"]["overdue_hours"] >= 3.9
    assert freshness["fine_source"]["state"] == "fresh"


def test_html_and_script_in_data_render_escaped(engine, make_source, tmp_path):
    header, clean = demo_rows()
    agency = header.index("Cơ quan tiếp nhận")
    planted = '<script>alert("lienthong")</script><b>' + "Bộ phận một cửa " * 20
    rows = [list(r) for r in clean[:30]]
    rows[3][agency] = planted  # longer than 255 characters: quarantined, and its reason quotes it
    source = named(make_source, write_csv(tmp_path / "x.csv", header, rows), "script_in_data")
    assert run_source(source, engine).totals["quarantined"] == 1
    page = build_report(engine, tmp_path / "reports", sources={source.name: source})
    site = {p: p.read_text(encoding="utf-8") for p in page.parent.rglob("*.html")}
    shown = [p for p, body in site.items() if "&lt;script&gt;alert(&#34;lienthong&#34;)&lt;/script&gt;" in body]
    assert shown, "the planted agency name is quoted by its reason somewhere"
    assert not [p for p, body in site.items() if "<script>alert" in body or "<b>Bộ phận" in body]
    browser = Chromium()
    try:
        for p in shown:
            got = browser.open(p.as_uri())
            assert not got["dialogs"] and not got["errors"]
            assert '<script>alert("lienthong")</script>' in got["text"]  # shown as text, not run
    finally:
        browser.close()


def test_validation_results_are_kept_bounded_and_data_docs_follow_what_changed(engine, make_source, tmp_path,
                                                                               monkeypatch):
    monkeypatch.setenv("HUB_VALIDATIONS_KEPT", "2")
    header, clean = demo_rows()
    path = tmp_path / "d.csv"
    source = named(make_source, path, "bounded")
    batch_ids = []
    for n in range(3):
        write_csv(path, header, clean[40 * n:40 * n + 40])
        batch_ids += [b.batch_id for b in run_source(source, engine).batches]
    with engine.connect() as conn:
        kept = [r for (r,) in conn.execute(text("SELECT batch_id FROM audit.validation_result ORDER BY batch_id"))]
        assert kept == batch_ids[-2:]
        folder = tmp_path / "docs"
        assert data_docs.build(conn, folder) == {"rendered": 2, "removed": 0, "kept": 2}
        assert data_docs.build(conn, folder) == {"rendered": 0, "removed": 0, "kept": 2}
    write_csv(path, header, clean[200:240])
    [newest] = run_source(source, engine).batches
    with engine.connect() as conn:
        assert data_docs.build(conn, folder) == {"rendered": 1, "removed": 1, "kept": 2}
    assert sorted(p.name for p in folder.iterdir()) == sorted(f"batch-{b}.html" for b in (batch_ids[-1],
                                                                                        newest.batch_id))
    body = (folder / f"batch-{newest.batch_id}.html").read_text(encoding="utf-8")
    words = " ".join(re.sub(r"<[^>]+>", " ", body).split())
    assert "Expectation Suite: dossier" in words and "Evaluated Expectations" in words
    assert "<script" not in body and "https://" not in body
