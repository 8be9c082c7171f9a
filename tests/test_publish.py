"""Downward: versioned catalogue feeds, pushes acknowledged once, drift of a level's copy."""
from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import text

from sync.publish import PublishError, delta, publish, push, snapshot
from sync.reconcile import reconcile


@pytest.fixture
def level_system():
    """A level's system on 127.0.0.1 that acknowledges each delta it receives."""
    received = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            received.append((body, self.headers.get("Authorization")))
            reply = json.dumps({"applied_version": body["to_version"]}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/catalogues", received
    server.shutdown()


def test_publishing_makes_a_version_only_when_the_content_changes(engine):
    first = publish(engine, ["benefit_type", "admin_unit"])
    assert publish(engine, ["benefit_type", "admin_unit"]) == first
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM ref.code_list WHERE list_name = 'benefit_type' AND code = 'hiv_poor'"))
        conn.execute(text("UPDATE ref.code_list SET label = 'Trẻ mồ côi' WHERE list_name = 'benefit_type' "
                          "AND code = 'orphan'"))
    second = publish(engine, ["benefit_type"])
    assert second["benefit_type"] == first["benefit_type"] + 1
    with engine.connect() as conn:
        d = delta(conn, "benefit_type", first["benefit_type"])
        assert d["removed"] == ["hiv_poor"] and [e["code"] for e in d["changed"]] == ["orphan"] and d["added"] == []
        units = snapshot(conn, "admin_unit")
        assert units["entries"]["24@legacy"]["name"] == "Tỉnh Bắc Giang"
        assert units["entries"]["24@2025"]["name"] == "Tỉnh Bắc Ninh"


def test_a_push_is_acknowledged_once_per_version(engine, level_system, monkeypatch):
    url, received = level_system
    monkeypatch.setenv("LEVEL_TOKEN", "s3cret-token")
    publish(engine, ["document_type"])
    first = push(engine, "document_type", target="huyen_hiep_hoa", url=url, token_env="LEVEL_TOKEN")
    assert first["status"] == "acknowledged" and first["sent"]["added"] > 20
    assert push(engine, "document_type", target="huyen_hiep_hoa", url=url, token_env="LEVEL_TOKEN") == \
        {"status": "current", "version": first["version"]}
    assert len(received) == 1 and received[0][1] == "Bearer s3cret-token"
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO ref.code_list (list_name, code, label) VALUES ('document_type', 'XX', 'Thử')"))
    publish(engine, ["document_type"])
    again = push(engine, "document_type", target="huyen_hiep_hoa", url=url, token_env="LEVEL_TOKEN")
    assert again["sent"] == {"added": 1, "changed": 0, "removed": 0}
    assert received[1][0]["from_version"] == first["version"]
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT status, acknowledgement FROM audit.catalogue_push ORDER BY push_id")).all()
        assert [r.status for r in rows] == ["acknowledged", "acknowledged"]
        assert "s3cret" not in str(rows)


def test_drift_between_a_levels_copy_and_the_version_it_claims(engine):
    version = publish(engine, ["benefit_type"])["benefit_type"]
    with engine.connect() as conn:
        entries = snapshot(conn, "benefit_type", version)["entries"]
    held = {code: e["label"] for code, e in entries.items() if code != "orphan"}      # one missing
    held["disability_severe"] = "Người khuyết tật"                                    # one changed
    held["war_invalid"] = "Thương binh"                                               # one extra
    lineage = "'t', 0, 't:1', '0', '1.0'"
    with engine.begin() as conn:
        for code, label in held.items():
            conn.execute(text(f"INSERT INTO core.catalogue_entry (holder, catalogue, code, label, claimed_version, "
                              f"source, batch_id, source_position, row_hash, schema_version) VALUES "
                              f"('xa_07210', 'benefit_type', :c, :l, :v, {lineage})"),
                         {"c": code, "l": label, "v": version})
    findings = reconcile(engine, check="catalogues").findings
    assert sorted(f.subject for f in findings) == ["changed:disability_severe", "extra:war_invalid", "missing:orphan"]
    assert all(f.unit == "xa_07210" and f.period == f"benefit_type v{version}" for f in findings)


def test_a_push_whose_token_is_not_set_is_refused_not_sent_bare(engine, level_system, monkeypatch):
    url, received = level_system
    monkeypatch.delenv("LEVEL_TOKEN", raising=False)
    publish(engine, ["document_type"])
    with pytest.raises(PublishError, match=r"needs a token in \$LEVEL_TOKEN, which is not set"):
        push(engine, "document_type", target="huyen_hiep_hoa", url=url, token_env="LEVEL_TOKEN")
    assert received == []
