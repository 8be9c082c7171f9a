"""sources.yaml checked when it is read: each adapter's declared options, and every user mistake as one line.

The mistakes go through the real command line (the console script, or typer's runner where a
warehouse is needed): the exact line, the exit code, and no traceback.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from adapter_options import OptionError, options_class
from adapter_options.rest import CursorPagination, OffsetPagination, RestOptions
from adapters.pagination import paginator
from adapters.text import as_text
from conftest import demo_rows, write_csv
from hub.cli import app
from pipeline.config import REPO_ROOT, ConfigError, load_sources

runner = CliRunner()
HUB = Path(sys.executable).parent / "hub"
ACCEPTED_FILE = "chunk_size, datetime_format, delimiter, encoding, fast, format, path, sheet"


def registry(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "sources.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def hub(*args: str, sources: Path) -> subprocess.CompletedProcess:
    """The console script as a user runs it, with this registry."""
    env = {**os.environ, "HUB_SOURCES": str(sources)}
    return subprocess.run([HUB, *args], env=env, capture_output=True, text=True, timeout=120)


def misspelled(tmp_path: Path) -> Path:
    text = (REPO_ROOT / "sources.yaml").read_text(encoding="utf-8")
    assert "      chunk_size: 50000\n" in text
    return registry(tmp_path, text.replace("      chunk_size: 50000\n", "      chunk_sise: 50000\n"))


def line_of(path: Path, needle: str) -> int:
    return next(i for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if needle in line)


# --- options declared per adapter, checked at load ----------------------------------------------------

def test_a_misspelled_option_key_in_sources_yaml_is_refused_at_load_with_its_name(tmp_path):
    path = misspelled(tmp_path)
    line = line_of(path, "chunk_sise")
    with pytest.raises(ConfigError) as refused:
        load_sources(path)
    assert str(refused.value) == (
        f"sources.yaml, line {line}: source 'bacgiang_dossiers_export': unknown option 'chunk_sise' in options "
        f"(did you mean 'chunk_size'? accepted: {ACCEPTED_FILE})")
    # and from the command line, before anything runs: one line, exit 1, no traceback
    result = hub("run", "bacgiang_dossiers_export", sources=path)
    assert result.returncode == 1
    assert result.stderr.splitlines() == [f"error: {refused.value}"]
    assert "Traceback" not in result.stderr and result.stdout == ""


def test_a_nested_option_is_checked_against_its_own_keys(tmp_path):
    path = registry(tmp_path, """
sources:
  - name: onestop
    adapter: rest
    schema: dossier
    options:
      base_url: http://127.0.0.1:1
      pagination: {style: cursor, page_param: p}
""")
    with pytest.raises(ConfigError) as refused:
        load_sources(path)
    assert str(refused.value) == (
        "sources.yaml, line 8: source 'onestop': unknown option 'page_param' in options.pagination "
        "(accepted: cursor_param, limit_param, next_cursor_field, size, style)")


@pytest.mark.parametrize("options, message", [
    ("{table: t, chunk_size: many}", "options.chunk_size must be an integer, not str 'many'"),
    ("{table: t, query: SELECT 1}", "a sql source names either options.table or options.query"),
    ("[table, t]", "options must be a mapping of option: value, not list ['table', 't']"),
])
def test_a_wrong_value_is_refused_at_load_with_the_option_named(tmp_path, options, message):
    path = registry(tmp_path, f"sources:\n  - name: register\n    adapter: sql\n    schema: enterprise\n"
                              f"    options: {options}\n")
    with pytest.raises(ConfigError) as refused:
        load_sources(path)
    assert str(refused.value) == f"sources.yaml, line 5: source 'register': {message}"


def test_every_registry_the_project_ships_validates():
    assert load_sources(REPO_ROOT / "sources.yaml")
    template = yaml.safe_load((REPO_ROOT / "demo" / "sources.template.yaml").read_text(encoding="utf-8"))
    for kind in template.values():  # `hub demo` adds the path or URL of what it generated
        added = {"file": {"path": "x"}, "edxml": {"path": "x"}, "rest": {"base_url": "http://127.0.0.1"},
                 "sql": {"url": "sqlite://"}}[kind["adapter"]]
        options_class(kind["adapter"]).parse({**kind.get("options", {}), **added})


def test_options_are_typed_and_defaulted():
    o = RestOptions.parse({"base_url": "http://h", "pagination": {"style": "cursor", "size": "200"},
                           "timeout": {"read": 2}})
    assert isinstance(o.pagination, CursorPagination) and o.pagination.size == 200
    assert (o.timeout.connect, o.timeout.read, o.retries, o.items_field) == (5.0, 2.0, 3, "items")
    with pytest.raises(OptionError, match=r"unknown style 'pages' in options.pagination.style "
                                          r"\(known: page, offset, cursor, none\)"):
        RestOptions.parse({"base_url": "http://h", "pagination": {"style": "pages"}})
    with pytest.raises(OptionError, match=r"^options.base_url is required$"):
        RestOptions.parse({})


# --- REST pagination: one small class per style ---------------------------------------------------------

def test_each_pagination_style_asks_for_its_pages():
    def make(style: str, **more):
        return paginator(RestOptions.parse({"base_url": "h", "pagination": {"style": style, **more}}).pagination)

    pages = {style: make(style, size=2) for style in ("page", "offset", "cursor")} | {"none": make("none")}
    # a short page is not the end (issue 11: servers cap the size asked for): an empty page or the total is
    assert [pages["page"].params(None), pages["page"].following(None, [1, 2], {}),
            pages["page"].following(2, [1], {}), pages["page"].following(2, [], {}),
            pages["page"].following(2, [1], {"total": 3})] == [{"page": 1, "size": 2}, 2, 3, None, None]
    assert [pages["offset"].params(None), pages["offset"].following(None, [1, 2], {}),
            pages["offset"].params(2), pages["offset"].following(2, [1], {}), pages["offset"].following(2, [], {}),
            pages["offset"].following(2, [1], {"total": 3})] == [
        {"offset": 0, "limit": 2}, 2, {"offset": 2, "limit": 2}, 3, None, None]
    assert [pages["cursor"].params(None), pages["cursor"].params("c2"),
            pages["cursor"].following(None, [1], {"next_cursor": "c2"}), pages["cursor"].following("c2", [1], {})] == [
        {"limit": 2}, {"limit": 2, "cursor": "c2"}, "c2", None]
    assert pages["none"].params(None) == {} and pages["none"].following(None, [1, 2], {}) is None
    assert isinstance(RestOptions.parse({"base_url": "h", "pagination": {"style": "offset"}}).pagination,
                      OffsetPagination)


def test_one_value_to_text_for_every_adapter():
    from datetime import date, datetime, timezone
    from zoneinfo import ZoneInfo

    assert [as_text(v) for v in (None, float("nan"), "Hoa\u0300", True, 5.0, 5.5, date(2025, 7, 1), b"\x01",
                                 {"a": [1]})] == [None, None, "Hoà", "true", "5", "5.5", "2025-07-01", "01",
                                                  '{"a": [1]}']
    utc = datetime(2025, 6, 30, 17, 0, tzinfo=timezone.utc)
    assert as_text(utc, tz=ZoneInfo("Asia/Ho_Chi_Minh")) == "2025-07-01 00:00:00"
    assert as_text(datetime(2025, 7, 1, 8), datetime_format="%d/%m/%Y %H:%M") == "01/07/2025 08:00"


# --- every mistake is one line (point 6) -------------------------------------------------------------

def test_a_malformed_sources_yaml_names_the_file_and_the_line(tmp_path):
    path = registry(tmp_path, "sources:\n  - name: dossiers\n    adapter: file\n   schema: dossier\n")
    result = hub("run", "dossiers", sources=path)
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        "error: sources.yaml, line 4, column 4: not valid YAML: expected <block end>, but found "
        "'<block mapping start>'"]
    assert "Traceback" not in result.stderr
    not_a_list = registry(tmp_path, "defaults: {owner: x}\nsources:\n  - dossiers\n")
    result = hub("run", "dossiers", sources=not_a_list)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr.splitlines() == [
        "error: sources.yaml, line 2: source 1 is not a mapping of key: value ('dossiers')"]


def test_wrong_column_names_list_the_columns_the_file_has(engine, tmp_path, monkeypatch):
    header, rows = demo_rows()
    renamed = [("Ma DVHC" if c == "Mã ĐVHC" else c) for c in header]
    write_csv(tmp_path / "dossiers.csv", renamed, rows[:5])
    text = (REPO_ROOT / "sources.yaml").read_text(encoding="utf-8")
    monkeypatch.setenv("HUB_SOURCES", str(registry(tmp_path, text.replace("demo/data/dossiers.csv", "dossiers.csv"))))
    result = runner.invoke(app, ["run", "bacgiang_dossiers_export"])
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        "error: source 'bacgiang_dossiers_export', map: missing required columns: Mã ĐVHC (admin_unit_code); "
        f"the source's columns are: {', '.join(renamed)}"]
    assert "Traceback" not in result.output


def test_a_folder_with_no_file_matching_the_pattern_says_so(engine, tmp_path, monkeypatch):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "message.xml").write_text("<edXML/>", encoding="utf-8")  # the pattern wants *.edxml
    monkeypatch.setenv("HUB_SOURCES", str(registry(tmp_path, """
sources:
  - name: edxml_documents
    adapter: edxml
    schema: official_document
    options: {path: inbox, record: document, settle_seconds: 0}
""")))
    result = runner.invoke(app, ["run", "edxml_documents"])
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        f"error: source 'edxml_documents', extract: drop folder {inbox} has no files matching '*.edxml' "
        "(options.pattern)"]
    assert "Traceback" not in result.output


def test_offset_pages_read_every_record_from_a_real_server(monkeypatch):
    from adapters.rest_json import RestJson
    from demo.onestop_server import OneStopServer, dossier_records

    records = dossier_records(demo_rows()[1][:45])
    with OneStopServer({"dossiers": records}, static_tokens=("t0ken",)) as server:
        monkeypatch.setenv("OFFSET_TEST_TOKEN", "t0ken")
        adapter = RestJson("onestop", {"base_url": server.url, "endpoint": "/api/dossiers", "key_field": "ma_ho_so",
                                       "pagination": {"style": "offset", "size": 20},
                                       "auth": {"env": "OFFSET_TEST_TOKEN"}})
        batches = list(adapter.batches())
        offsets = [r["query"]["offset"] for r in server.requests if r["method"] == "GET"]
    # each page after the first is asked from the last record read, to prove the offsets did not shift
    assert offsets == ["0", "19", "38"]
    assert [len(b.records) for b in batches] == [20, 19, 6]
    assert sorted(k for b in batches for k in b.records["ma_ho_so"]) == sorted(r["ma_ho_so"] for r in records)
