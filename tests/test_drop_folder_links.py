"""The edXML drop folder never reads through a link (issue 11, point 3).

Anyone who can drop a file in the folder can drop a symbolic link: followed, it copied
``/etc/hostname`` into quarantine. A link, or a file reached through a linked folder, is
quarantined with its name and the reason, and nothing it points to is read.
"""
from __future__ import annotations

import os
from pathlib import Path

from pipeline.run import run_source
from test_edxml import document_xml, edxml_sources, every_batch_adds_up, rows, write

SECRET = Path("/etc/hostname")


def test_links_and_files_outside_the_folder_are_refused_with_a_reason(engine, tmp_path):
    inbox, elsewhere = tmp_path / "inbox", tmp_path / "elsewhere"
    inbox.mkdir(), elsewhere.mkdir()
    write(inbox, "a_good.edxml", document_xml("D-GOOD"))
    outside = write(elsewhere, "outside.edxml", document_xml("D-OUTSIDE"))
    os.symlink(SECRET, inbox / "b_etc_hostname.edxml")
    os.symlink(outside, inbox / "c_outside.edxml")
    os.symlink(inbox / "a_good.edxml", inbox / "d_inside.edxml")  # even a link to a message in the folder
    os.symlink(tmp_path / "nowhere", inbox / "e_dangling.edxml")
    documents, traces = edxml_sources(tmp_path, inbox)
    docs = run_source(documents, engine)
    assert docs.totals == {"read": 5, "inserted": 1, "updated": 0, "unchanged": 0, "quarantined": 4}
    trs = run_source(traces, engine)
    assert trs.totals["quarantined"] == 0 and trs.totals["inserted"] == 1  # the good document's trace only
    q = {r["source_position"]: r for r in rows(engine, "SELECT * FROM quarantine.official_document")}
    assert sorted(q) == ["b_etc_hostname.edxml#message", "c_outside.edxml#message", "d_inside.edxml#message",
                         "e_dangling.edxml#message"]
    for position, row in q.items():
        name = position.partition("#")[0]
        assert row["failed_checks"] == ["edxml_link"]
        assert row["reason"] == (f"{name} is a symbolic link; the hub reads only regular files in the drop "
                                 "folder, never through a link")
        assert row["raw_record"] == {"file": name, "link": True}
    stored = str(rows(engine, "SELECT * FROM quarantine.official_document")) + str(
        rows(engine, "SELECT * FROM core.official_document"))
    assert SECRET.read_text().strip() not in stored and "D-OUTSIDE" not in stored
    every_batch_adds_up(engine)
    # a second run neither reads nor quarantines them again
    assert run_source(documents, engine).totals["read"] == 0


def test_a_file_reached_through_a_linked_folder_is_not_read(engine, tmp_path):
    inbox, elsewhere = tmp_path / "inbox", tmp_path / "elsewhere"
    (inbox / "local").mkdir(parents=True), elsewhere.mkdir()
    write(inbox / "local", "a_good.edxml", document_xml("D-GOOD"))
    write(elsewhere, "b_outside.edxml", document_xml("D-OUTSIDE"))
    os.symlink(elsewhere, inbox / "linked", target_is_directory=True)
    documents, _ = edxml_sources(tmp_path, inbox, pattern='"*/*.edxml"')
    result = run_source(documents, engine)
    assert result.totals == {"read": 2, "inserted": 1, "updated": 0, "unchanged": 0, "quarantined": 1}
    (q,) = rows(engine, "SELECT * FROM quarantine.official_document")
    assert q["failed_checks"] == ["edxml_link"]
    assert q["reason"] == ("b_outside.edxml resolves to a file outside the drop folder (a linked folder on its "
                           "path); it is not read")
    assert [r["document_id"] for r in rows(engine, "SELECT * FROM core.official_document")] == ["D-GOOD"]
