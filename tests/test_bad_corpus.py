"""The bad-input corpus (issue 11, point 14): one file or HTTP answer per class of bad input in
``tests/data/bad/``, its expected outcome one line in ``tests/data/bad/expected.yaml``.

Each case runs through the whole pipeline into one shared warehouse database (a source of its own
per case, keys unique to the case) and must end the way its line says: rows loaded and quarantined
by check, a batch held, or one clear error line. For every case, the audit adds up (rows read =
loaded + quarantined, per batch and over the case), and nothing raised past the pipeline but a
named error: a bug wrapped by the stage it happened in fails the case.
"""
from __future__ import annotations

import dataclasses
import re
import shutil
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml
from sqlalchemy import text

from common.errors import HubError
from conftest import fresh_database
from pipeline.config import REPO_ROOT, SourceConfig, load_sources
from pipeline.run import StageError, run_source

BAD = Path(__file__).parent / "data" / "bad"
CASES: dict[str, dict] = yaml.safe_load((BAD / "expected.yaml").read_text(encoding="utf-8"))
TEMPLATE = yaml.safe_load((REPO_ROOT / "demo" / "sources.template.yaml").read_text(encoding="utf-8"))
SCHEMA_OF = {"dossier": "dossier", "social": "social_beneficiary", "enterprise": "enterprise",
             "edxml_documents": "official_document", "edxml_traces": "document_trace", "rest": "dossier"}


def generated(name: str, folder: Path) -> Path:
    """Cases too big to keep in the repository, made the same way each time."""
    header = (BAD / "ragged_rows.csv").read_text(encoding="utf-8").splitlines()[:2]
    good = header[1].replace("BAD-ragged-1", "BAD-huge-1")
    huge = good.replace("BAD-huge-1", "BAD-huge-2").replace("Bộ phận một cửa", "x" * (10 << 20), 1)
    after = good.replace("BAD-huge-1", "BAD-huge-3")
    path = folder / name
    path.write_text("\n".join([header[0], good, huge, after]) + "\n", encoding="utf-8")
    return path


class _Answer(BaseHTTPRequestHandler):
    """Serves one file as the body of every page: the corpus's HTTP answers."""
    body: bytes = b""

    def log_message(self, format, *args):
        pass

    def do_GET(self):
        kind = "text/html" if self.body.lstrip().startswith(b"<") else "application/json"
        self.send_response(200)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)


@pytest.fixture(scope="module")
def warehouse(template_url):
    with fresh_database(template_url) as (engine, url):
        yield engine, url


@pytest.fixture(scope="module", autouse=True)
def one_suite_per_schema():
    """Building an expectation suite costs seconds of Great Expectations: the cases share one per
    schema, as the batches of one run do."""
    import quality.suite

    built, build = {}, quality.suite.build_suite

    def shared(schema, **kwargs):
        if schema.name not in built:
            built[schema.name] = build(schema, **kwargs)
        return built[schema.name]

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(quality.suite, "build_suite", shared)
        yield


@pytest.fixture(scope="module")
def answer_server():
    handler = type("Answer", (_Answer,), {})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server, handler
    server.shutdown()
    server.server_close()


def source_for(name: str, case: dict, folder: Path, answer_server) -> SourceConfig:
    kind, source_name = case["as"], "bad_" + re.sub(r"\W", "_", name)
    path = generated(name, folder) if case.get("generated") else BAD / name
    if kind == "dossier":
        base = load_sources(REPO_ROOT / "sources.yaml")["bacgiang_dossiers_export"]
        return dataclasses.replace(base, name=source_name, options={"path": str(path), **case.get("options", {})})
    if kind in ("social", "enterprise"):
        t = TEMPLATE[kind if kind == "social" else "enterprises"]
        return SourceConfig(name=source_name, adapter="file", schema=SCHEMA_OF[kind],
                            options={"path": str(path), **case.get("options", {})},
                            fields=t["fields"], values=t["values"],
                            date_formats=tuple(t["date_formats"]))
    if kind.startswith("edxml"):
        inbox = folder / "inbox"
        inbox.mkdir()
        shutil.copy(path, inbox / name)
        t = TEMPLATE[kind]
        return SourceConfig(name=source_name, adapter="edxml", schema=SCHEMA_OF[kind],
                            options={**t["options"], "path": str(inbox)}, values=t.get("values", {}),
                            date_formats=tuple(t["date_formats"]))
    server, handler = answer_server
    handler.body = path.read_bytes()
    t = TEMPLATE["onestop_dossiers"]
    options = {k: v for k, v in t["options"].items() if k not in ("auth", "connection")}  # a bare server
    return SourceConfig(name=source_name, adapter="rest", schema="dossier", fields=t["fields"], values=t["values"],
                        date_formats=tuple(t["date_formats"]),
                        options={**options, "base_url": f"http://127.0.0.1:{server.server_address[1]}",
                                 "pagination": {"style": "none"}, "retries": 1, "backoff": 0.01})


def observe(engine, source: SourceConfig) -> dict:
    """What the case left in the warehouse: counts from audit.batch, quarantine rows by check."""
    schema = source.schema
    with engine.connect() as conn:
        batches = [dict(r) for r in conn.execute(text(
            "SELECT * FROM audit.batch WHERE source = :s ORDER BY batch_id"), {"s": source.name}).mappings()]
        checks = Counter(c for (cs,) in conn.execute(text(
            f'SELECT failed_checks FROM quarantine."{schema}" WHERE source = :s'), {"s": source.name})
            for c in dict.fromkeys(cs))
        reasons = [r for (r,) in conn.execute(text(
            f'SELECT reason FROM quarantine."{schema}" WHERE source = :s ORDER BY source_position'),
            {"s": source.name})]
    closed = [b for b in batches if b["status"] != "failed"]
    for b in closed:  # the invariant, batch by batch (a CHECK in the database too)
        assert b["rows_read"] == b["rows_inserted"] + b["rows_updated"] + b["rows_unchanged"] + b["rows_quarantined"]
    total = {k: sum(b[f"rows_{k}"] for b in closed) for k in ("read", "inserted", "updated", "unchanged",
                                                               "quarantined")}
    return {"read": total["read"], "loaded": total["inserted"] + total["updated"] + total["unchanged"],
            "quarantined": dict(checks), "rows_quarantined": total["quarantined"], "reasons": reasons,
            "statuses": [b["status"] for b in batches], "held": [b["error"] for b in batches if b["status"] == "held"]}


@pytest.mark.parametrize("name", sorted(CASES))
def test_bad_input(name, warehouse, answer_server, tmp_path):
    case = CASES[name]
    assert case.get("expect"), f"{name}: one line saying what the hub does with it"
    engine, _ = warehouse
    source = source_for(name, case, tmp_path, answer_server)
    error = None
    try:
        run_source(source, engine)
    except StageError as exc:
        # a named error is a clear line; anything else wrapped by its stage is a crash
        assert isinstance(exc.__cause__, HubError), f"{name}: crashed: {exc}"
        error = str(exc)
    seen = observe(engine, source)
    if "error" in case:
        assert error is not None and re.search(case["error"], error), f"{name}: {error!r}"
        assert seen["statuses"][-1] == "failed" and seen["loaded"] == 0
        return
    assert error is None, f"{name}: {error}"
    assert seen["read"] == case["read"], seen
    assert seen["loaded"] == case.get("loaded", 0), seen
    assert seen["read"] == seen["loaded"] + seen["rows_quarantined"], seen
    assert seen["quarantined"] == case.get("quarantined", {}), seen
    assert seen["rows_quarantined"] == sum(1 for _ in seen["reasons"]), seen
    if "held" in case:
        assert seen["held"] and all(re.search(case["held"], h) for h in seen["held"]), seen
    else:
        assert not seen["held"], seen
    for pattern in case.get("reasons", []):
        assert any(re.search(pattern, r) for r in seen["reasons"]), (pattern, seen["reasons"])
    with engine.connect() as conn:
        for sql, value in case.get("stored", {}).items():
            assert conn.execute(text(sql)).scalar() == value, sql


def test_the_corpus_is_covered():
    """Every file in the folder has its line, and the corpus holds 40 classes or more."""
    files = {p.name for p in BAD.iterdir() if p.name != "expected.yaml"}
    listed = {n for n, c in CASES.items() if not c.get("generated")}
    assert files == listed
    assert len(CASES) >= 40
