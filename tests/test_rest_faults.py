"""Sources that misbehave: the REST adapter against a faulty server on 127.0.0.1 (issue 11, points 4-6).

Each fault is planted in the one-stop stand-in (``demo/onestop_server.py``); what the hub promises
for it is in docs/RELIABILITY.md. None may lose a record silently or end a run with a traceback.
"""
from __future__ import annotations

import logging

import pytest
from sqlalchemy import text

from conftest import scalar
from pipeline.run import StageError, run_source
from test_rest_adapter import data_requests, onestop, records, rest_source  # noqa: F401  (fixtures)

COUNT = "SELECT count(*) FROM core.dossier"
STYLES = {"page": {"style": "page", "size": 100}, "offset": {"style": "offset", "size": 100},
          "cursor": {"style": "cursor", "size": 100}}


def keys(engine) -> set[str]:
    with engine.connect() as conn:
        return {k for (k,) in conn.execute(text("SELECT dossier_code FROM core.dossier"))}


def positions(engine) -> list[dict]:
    with engine.connect() as conn:
        return [p for (p,) in conn.execute(text("SELECT position_end FROM audit.batch ORDER BY batch_id")) if p]


@pytest.mark.parametrize("style", STYLES)
def test_a_server_capping_the_page_size_is_read_to_the_end(engine, onestop, rest_source, records, style):
    onestop.max_size = 30  # asked for 100, answers 30 a page
    source = rest_source(pagination=STYLES[style])
    result = run_source(source, engine)
    assert result.totals["read"] == 250 and result.totals["inserted"] == 250
    assert scalar(engine, COUNT) == 250
    latest = max(r["ngay_cap_nhat"] for r in records)
    assert positions(engine)[-1]["updated_since"] == latest  # the watermark is where the data ends, not past it


@pytest.mark.parametrize("style", ["page", "offset"])
def test_without_a_total_only_an_empty_page_ends_the_read(engine, onestop, rest_source, style):
    onestop.max_size = 40
    result = run_source(rest_source(pagination={**STYLES[style], "total_field": None}), engine)
    assert result.totals["inserted"] == 250
    last = data_requests(onestop)[-1]["query"]
    # 7 pages of 40 or fewer, then the empty one (offsets ask from the last record read, 249)
    assert last.get("page") == "8" if style == "page" else last.get("offset") == "249"


def _moved(records, i, when="2025-12-31T23:00:00"):
    return dict(records[i], trang_thai="Đã trả kết quả", ngay_tra_ket_qua=records[i]["ngay_hen_tra"],
                ngay_cap_nhat=when)


@pytest.mark.parametrize("change", ["update", "delete", "backdated insert"])
def test_offsets_that_shift_mid_read_restart_the_read_and_say_so(engine, onestop, rest_source, records, change,
                                                                  caplog):
    """A record updated (moved to the end), deleted, or inserted before the offsets already read,
    after page 1 was served: without a check one record was never loaded by any run."""
    ordered = sorted(records, key=lambda r: (r["ngay_cap_nhat"] or "", r["ma_ho_so"]))
    added = dict(ordered[3], ma_ho_so="BACKDATED-0001")
    actions = {"update": lambda: onestop.upsert("dossiers", _moved(ordered, 5)),
               "delete": lambda: onestop.delete("dossiers", ordered[5]["ma_ho_so"]),
               "backdated insert": lambda: onestop.upsert("dossiers", added)}
    onestop.after(1, actions[change])
    caplog.set_level(logging.WARNING)
    result = run_source(rest_source(pagination=STYLES["offset"]), engine)
    served = {r["ma_ho_so"] for r in onestop.datasets["dossiers"]}
    assert served <= keys(engine)  # every record the server holds at the end was loaded
    if change == "update":
        assert scalar(engine, "SELECT status FROM core.dossier WHERE dossier_code = :c",
                      c=ordered[5]["ma_ho_so"]) == "completed"
    restarted = [p["restarted"] for p in positions(engine) if "restarted" in p]
    assert len(restarted) == 1 and restarted[0].startswith("offsets shifted at offset 100")
    assert "read restarted from updated_since" in caplog.text
    # the invariant holds over the run: page 1 read twice is counted as unchanged, not lost or doubled
    assert result.totals["read"] == sum(result.totals[k] for k in ("inserted", "updated", "unchanged", "quarantined"))


def test_offsets_shifting_on_every_read_fail_clearly(engine, onestop, rest_source, records):
    ordered = sorted(records, key=lambda r: (r["ngay_cap_nhat"] or "", r["ma_ho_so"]))
    for n in range(1, 40, 2):  # after every first page, another record moves to the end
        onestop.after(n, lambda i=n: onestop.upsert("dossiers", _moved(ordered, i, f"2025-12-31T23:{i:02d}:00")))
    with pytest.raises(StageError, match=r"the records moved under the offsets 4 times in one read .*"
                                         r"use cursor pagination, or run when the source is quiet"):
        run_source(rest_source(pagination={**STYLES["offset"], "max_restarts": 3}), engine)
    # what loaded loaded, and the watermark kept the read's start: the next run reads it all again
    assert positions(engine)[-2]["updated_since"] is None


@pytest.mark.parametrize("changed", [False, True])
def test_a_resumed_offset_read_checks_the_record_it_stopped_at(engine, onestop, rest_source, records, interrupt_merge,
                                                               changed):
    source = rest_source(pagination=STYLES["offset"])
    heal = interrupt_merge(2)
    with pytest.raises(StageError):
        run_source(source, engine)
    heal()
    ordered = sorted(records, key=lambda r: (r["ngay_cap_nhat"] or "", r["ma_ho_so"]))
    if changed:  # between the runs, before the resume point
        onestop.delete("dossiers", ordered[10]["ma_ho_so"])
    before = len(data_requests(onestop))
    again = run_source(source, engine)
    assert data_requests(onestop)[before]["query"]["offset"] == "99"  # from the last record committed
    assert any("restarted" in p for p in positions(engine)) == changed
    assert {r["ma_ho_so"] for r in onestop.datasets["dossiers"]} <= keys(engine)
    assert again.totals["read"] == (249 if changed else 150)


@pytest.mark.parametrize("fault", ["drop_body", "truncated", ("hang_body", 120), "html"])
def test_an_answer_broken_after_its_headers_is_retried(engine, onestop, rest_source, fault):
    onestop.inject(fault, fault)
    result = run_source(rest_source(), engine)
    assert result.totals["inserted"] == 250
    assert len(data_requests(onestop)) == 3 + 2
    # a body that stops coming costs the read timeout (0.4 s): the run ended while the server still hung
    assert onestop.counts["hangs_finished"] == 0


@pytest.mark.parametrize("fault, says", [
    ("drop_body", r"broke off: ChunkedEncodingError \(2 retries made\)"),
    ("truncated", r"answered JSON cut short or malformed \(2 retries made\)"),
    (("hang_body", 120), r"broke off: ConnectionError \(2 retries made\)"),
    ("html", r"answered text/html, not JSON \(page title '502 Bad Gateway'\) \(2 retries made\)")])
def test_retries_run_out_on_a_broken_answer_with_one_line_saying_how_many(engine, onestop, rest_source, fault, says):
    onestop.inject(*[fault] * 3)
    with pytest.raises(StageError, match=f"^source 'onestop_dossiers', extract: GET {onestop.url}/api/dossiers"
                                         rf"\?page=1&size=100 {says}$"):
        run_source(rest_source(retries=2), engine)
    assert len(data_requests(onestop)) == 3
    assert scalar(engine, COUNT) == 0
    assert scalar(engine, "SELECT status FROM audit.batch ORDER BY batch_id DESC LIMIT 1") == "failed"


def test_no_retry_asked_means_one_attempt_and_the_message_says_so(engine, onestop, rest_source):
    onestop.inject("drop_body")
    with pytest.raises(StageError, match=r"broke off: ChunkedEncodingError \(0 retries made\)$"):
        run_source(rest_source(retries=0), engine)
    assert len(data_requests(onestop)) == 1


def test_an_expired_token_mid_read_is_renewed_and_nothing_is_lost(engine, onestop, rest_source):
    onestop.after(1, onestop.expire_tokens)
    result = run_source(rest_source(pagination={"style": "cursor", "size": 100}), engine)
    assert result.totals["inserted"] == 250
    assert sum(r["path"] == "/auth/token" for r in onestop.requests) == 2
