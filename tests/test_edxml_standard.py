"""edXML read the way the standard reads it (issue 15): agency codes against the structure of
electronic identifiers (QCVN 102:2016 and its 2022 amendment), ``null`` a missing value, the
document types of Decree 30/2020 and of the legal documents, and the status messages of a
quarantined document linked to it rather than reported as never received."""
from __future__ import annotations

from datetime import date

import pytest
import yaml

from conftest import scalar
from refdata.agency_id import agency_level, agency_problem, is_missing
from refdata.sync import CODE_LISTS
from sync.reconcile import reconcile
from test_edxml import SAMPLES, document_xml, edxml_sources, rows, status_xml, write
from pipeline.run import run_source


@pytest.mark.parametrize("code,level", [
    ("000.00.00.H41", 1), ("000.00.00.G22", 1), ("000.00.12.H53", 2), ("000.03.12.H06", 3), ("001.03.12.H06", 4),
    ("002.00.20.H13", 4),  # a level skipped, as a real sample does: the structure is what is checked
])
def test_a_valid_identifier_and_its_level(code, level):
    assert agency_problem(code) is None and agency_level(code) == level


@pytest.mark.parametrize("code,why", [
    ("vxp.saas.03", "is not an agency identifier"),        # a platform's system id (a public SDK's default)
    ("28.22.H17", "is not an agency identifier"),          # a group missing (a real sample)
    ("001.00.20.JB2", "is not an agency identifier"),      # level 1 is a letter and two digits
    ("000.00.00.h41", "is not an agency identifier"),
    ("000.00.00.H6", "is not an agency identifier"),
])
def test_a_malformed_identifier_is_named(code, why):
    assert why in agency_problem(code) and repr(code) in agency_problem(code) and agency_level(code) is None


@pytest.mark.parametrize("word", ["null", "NULL", " null ", "", None, "None"])
def test_null_is_a_missing_value_never_a_code(word):
    assert is_missing(word) and agency_problem(word) is None


def test_every_agency_code_in_the_real_samples_is_checked():
    """The samples as they are: the well-formed ones carry only valid codes; the two malformed ones
    carry the malformed codes above (and are quarantined for their XML first)."""
    import re

    for path in SAMPLES.glob("*.edxml"):
        codes = re.findall(r"<edXML:OrganId>([^<]*)</edXML:OrganId>", path.read_text(encoding="utf-8"))
        bad = {c for c in codes if agency_problem(c)}
        assert bad == ({"001.00.20.JB2", "01.02.G22"} if path.name == "edoc.edxml" else
                       {"28.22.H17"} if path.name == "edoc_new.edxml" else set()), path.name


DECREE_30 = ["Nghị quyết", "Quyết định", "Chỉ thị", "Quy chế", "Quy định", "Thông cáo", "Thông báo", "Hướng dẫn",
             "Chương trình", "Kế hoạch", "Phương án", "Đề án", "Dự án", "Báo cáo", "Biên bản", "Tờ trình", "Hợp đồng",
             "Công văn", "Công điện", "Bản ghi nhớ", "Bản thỏa thuận", "Giấy ủy quyền", "Giấy mời", "Giấy giới thiệu",
             "Giấy nghỉ phép", "Phiếu gửi", "Phiếu chuyển", "Phiếu báo", "Thư công"]
LEGAL = ["Hiến pháp", "Bộ luật", "Luật", "Pháp lệnh", "Lệnh", "Nghị định", "Nghị quyết liên tịch", "Thông tư",
         "Thông tư liên tịch", "Nghị quyết", "Quyết định"]


def test_the_document_type_list_holds_both_lists():
    labels = yaml.safe_load(CODE_LISTS.read_text(encoding="utf-8"))["document_type"]
    assert len(DECREE_30) == 29
    assert set(DECREE_30) | set(LEGAL) <= set(labels.values())
    assert {labels[c] for c in ("CV", "QĐ", "TB", "TTr", "GM", "TT", "NĐ")} == \
        {"Công văn", "Quyết định", "Thông báo", "Tờ trình", "Giấy mời", "Thông tư", "Nghị định"}


@pytest.fixture
def inbox(tmp_path):
    folder = tmp_path / "inbox"
    folder.mkdir()
    return folder


def test_document_types_of_both_lists_load_with_the_standards_codes(engine, tmp_path, inbox):
    names = {"Thông tư": "TT", "Nghị định": "NĐ", "giấy mời": "GM", "Thư công": "TCV", "Luật": "LUAT", "TTr": "TTr"}
    for i, name in enumerate(names):
        write(inbox, f"d{i}.edxml", document_xml(f"000.00.00.H41,2024/03/01,{i}/UBND", type_name=name))
    documents, _ = edxml_sources(tmp_path, inbox)
    result = run_source(documents, engine)
    assert result.totals["inserted"] == len(names) and result.totals["quarantined"] == 0
    loaded = {r["document_id"].split(",")[2].split("/")[0]: r["document_type"]
              for r in rows(engine, "SELECT * FROM core.official_document")}
    assert loaded == {str(i): code for i, code in enumerate(names.values())}


def test_agency_codes_vxp_and_null_are_read_as_the_standard_reads_them(engine, tmp_path, inbox):
    platform = document_xml("vxp.saas.03,2024/03/01,7/TEST", traces=(("vxp.saas.03", "2024/03/01 08:00:00"),))
    write(inbox, "a_platform.edxml", platform.replace("<edXML:OrganId>000.00.00.H41</edXML:OrganId><edXML:OrganName>",
                                                      "<edXML:OrganId>vxp.saas.03</edXML:OrganId><edXML:OrganName>"))
    write(inbox, "b_null_recipient.edxml", document_xml("D-NULL").replace(
        "<edXML:OrganId>000.00.00.G17</edXML:OrganId>", "<edXML:OrganId>null</edXML:OrganId>"))
    write(inbox, "c_null_sender.edxml", document_xml("D-NOSENDER").replace(
        "<edXML:OrganId>000.00.00.H41</edXML:OrganId><edXML:OrganName>", "<edXML:OrganId>null</edXML:OrganId><edXML:OrganName>"))
    write(inbox, "d_platform_status.edxml", status_xml("D-NULL", "vxp.saas.03", "01"))
    documents, traces = edxml_sources(tmp_path, inbox)
    docs, trs = run_source(documents, engine), run_source(traces, engine)
    assert docs.totals == {"read": 3, "inserted": 1, "updated": 0, "unchanged": 0, "quarantined": 2}
    q = {r["source_position"]: r for r in rows(engine, "SELECT * FROM quarantine.official_document")}
    assert q["a_platform.edxml#message"]["failed_checks"] == ["agency_id"]
    assert "'vxp.saas.03' is not an agency identifier" in q["a_platform.edxml#message"]["reason"]
    assert q["a_platform.edxml#message"]["raw_record"]["document_id"] == "vxp.saas.03,2024/03/01,7/TEST"
    assert q["c_null_sender.edxml#doc"]["failed_checks"] == ["not_null:organ_id"]  # missing, not a code
    (doc,) = rows(engine, "SELECT * FROM core.official_document")
    assert doc["document_id"] == "D-NULL" and doc["recipients"] == "000.00.00.H14"  # null dropped
    assert doc["agency_code_problems"] is None
    (status_q,) = rows(engine, "SELECT * FROM quarantine.document_trace")
    assert status_q["source_position"] == "d_platform_status.edxml#message" and status_q["failed_checks"] == ["agency_id"]
    assert scalar(engine, "SELECT count(*) FROM core.document_trace WHERE recipient_organ_id IN ('vxp.saas.03', 'null')") == 0
    assert trs.totals["quarantined"] == 1


def test_agency_codes_flag_loads_the_message_with_its_problems(engine, tmp_path, inbox):
    write(inbox, "a_platform.edxml", document_xml("D-VXP").replace(
        "<edXML:OrganId>000.00.00.G17</edXML:OrganId>", "<edXML:OrganId>vxp.saas.03</edXML:OrganId>"))
    documents, _ = edxml_sources(tmp_path, inbox, agency_codes="flag")
    assert run_source(documents, engine).totals["inserted"] == 1
    (doc,) = rows(engine, "SELECT * FROM core.official_document")
    assert "'vxp.saas.03' is not an agency identifier" in doc["agency_code_problems"]
    from report.quality_report import collect

    flagged = collect(engine)["flagged_agency_codes"]
    assert flagged == [{"document_id": "D-VXP", "source": "edxml_documents",
                        "problems": doc["agency_code_problems"]}]


def test_a_status_of_a_quarantined_document_reads_document_quarantined(engine, tmp_path, inbox):
    write(inbox, "a_doc.edxml", document_xml("D-TYPE", type_name="Thông tư khẩn"))  # in neither list
    write(inbox, "b_status.edxml", status_xml("D-TYPE", "000.00.00.H14", "01"))
    write(inbox, "c_ghost.edxml", status_xml("D-GHOST", "000.00.00.H14", "01"))
    documents, traces = edxml_sources(tmp_path, inbox)
    run_source(documents, engine)
    assert run_source(traces, engine).totals["inserted"] == 3  # both statuses and the document's trace: kept
    found = reconcile(engine, check="documents", as_of=date(2024, 4, 1)).findings
    kinds = {(f.check, f.period) for f in found}
    assert ("document_quarantined", "D-TYPE") in kinds and ("document_unknown", "D-GHOST") in kinds
    assert not any(f.check == "document_unknown" and f.period == "D-TYPE" for f in found)
    detail = next(f.detail for f in found if f.check == "document_quarantined" and f.subject == "01"
                  and f.unit == "000.00.00.H14")
    assert "document quarantined" in detail and "Thông tư khẩn" in detail
