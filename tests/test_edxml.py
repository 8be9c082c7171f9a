"""edXML drop folders: every real sample, malformed and hostile messages, large attachments, resume."""
from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import os
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest
from lxml import etree
from sqlalchemy import text

from adapters.edxml import DOCUMENT_COLUMNS, EDXML_NS, TRACE_COLUMNS, EdxmlFolder, read_message
from conftest import fresh_database, scalar
from pipeline.config import REPO_ROOT, load_sources
from pipeline.run import StageError, run_source
from schemas import get_schema
from schemas.pii import scrub_value

# the shared samples sit beside the clone (/work/main -> /work/shared) or beside its worktrees' folder
SAMPLES = next((p / "shared" / "samples" / "edxml" for p in (REPO_ROOT.parent, REPO_ROOT.parent.parent)
                if (p / "shared" / "samples" / "edxml").is_dir()), REPO_ROOT.parent / "shared" / "samples" / "edxml")
DOC_7816 = "000.00.00.G22,2015/09/30,7816/VPCP-TTĐT"
DOC_2491 = "000.00.11.H53,2020/10/30,2491/STC-BCTC"
# The samples as published (see their README). Well-formed documents: file -> DocumentId.
DOCUMENTS = {
    "edoc-integrator_edoc_new.edxml": DOC_2491,
    "edoc-integrator_edoc_update.edxml": DOC_7816,
    "edoc_replacement.edxml": DOC_7816,
    "edoc_revocation.edxml": DOC_7816,
    "edoc_update.edxml": DOC_7816,
}
# Status messages: file -> (organ that reports, StatusCode, Timestamp); all answer document 7816.
STATUSES = {
    "edoc-integrator_status_processing_05.edxml": ("000.00.00.H41", "05", "2015/09/20 11:08:36"),
    "status.edxml": ("000.00.00.H41", "01", "2018/09/28 17:25:11"),
    "status_acceptance_03.edxml": ("000.00.00.H41", "03", "2015/09/20 11:08:36"),
    "status_assignment_04.edxml": ("000.00.00.H41", "04", "2015/09/20 11:08:36"),
    "status_cancellation_13.edxml": ("000.00.00.G22", "13", "2015/09/20 11:08:36"),
    "status_change-acceptance_15.edxml": ("000.00.00.H41", "15", "2015/09/20 11:08:36"),
    "status_change-rejection_16.edxml": ("000.00.00.H41", "16", "2015/09/20 11:08:36"),
    "status_finish_06.edxml": ("000.00.00.H41", "06", "2015/09/20 11:08:36"),
    "status_inbox_01.edxml": ("000.00.00.H41", "01", "2015/09/20 11:08:36"),
    "status_processing_05.edxml": ("000.00.00.H41", "05", "2015/09/20 11:08:36"),
    "status_rejection_02.edxml": ("000.00.00.H41", "02", "2015/09/20 11:08:36"),
}
# Not well-formed: file -> what lxml says (an undeclared xlink prefix; stray "1212" before the declaration).
MALFORMED = {
    "edoc.edxml": "Namespace prefix xlink for href on Reference is not defined, line 116, column 39",
    "edoc_new.edxml": "Start tag expected, '<' not found, line 1, column 1",
}

SOURCES_YAML = """
sources:
  - name: edxml_documents
    adapter: edxml
    schema: official_document
    options: {{path: {path}, record: document, settle_seconds: 0{extra}}}
    date_formats: ["%Y/%m/%d %H:%M:%S", "%Y/%m/%d", "%d/%m/%Y %H:%M:%S", "%d/%m/%Y"]
    values:
      document_type:
        Công văn: CV
        Quyết định: QĐ
        Thông báo: TB
        Kế hoạch: KH
        Báo cáo: BC
        Giấy mời: GM
        Tờ trình: TTr
  - name: edxml_traces
    adapter: edxml
    schema: document_trace
    options: {{path: {path}, record: trace, settle_seconds: 0{extra}}}
    date_formats: ["%Y/%m/%d %H:%M:%S", "%Y/%m/%d", "%d/%m/%Y %H:%M:%S", "%d/%m/%Y"]
"""


def edxml_sources(tmp: Path, folder: Path, **options) -> tuple:
    """The folder's two sources, read from a sources.yaml as a deployment would write them."""
    extra = "".join(f", {k}: {v}" for k, v in options.items())
    registry = tmp / "sources.yaml"
    registry.write_text(SOURCES_YAML.format(path=json.dumps(str(folder)), extra=extra), encoding="utf-8")
    sources = load_sources(registry)
    return sources["edxml_documents"], sources["edxml_traces"]


def rows(engine, sql: str, **params) -> list[dict]:
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(text(sql), params).mappings()]


def every_batch_adds_up(engine) -> None:
    for b in rows(engine, "SELECT * FROM audit.batch WHERE status <> 'failed'"):
        assert b["rows_read"] == (b["rows_inserted"] + b["rows_updated"] + b["rows_unchanged"]
                                  + b["rows_quarantined"]), b


# ---------------------------------------------------------------- the real samples, loaded once

@pytest.fixture(scope="module")
def samples(template_url, tmp_path_factory):
    """Both sources run over the samples folder as it is, in a database of this module's own."""
    with fresh_database(template_url) as (engine, _):
        documents, traces = edxml_sources(tmp_path_factory.mktemp("reg"), SAMPLES)
        yield engine, {"documents": run_source(documents, engine), "traces": run_source(traces, engine)}


def test_every_sample_is_covered_here():
    """A sample added to the folder (or a folder missing on CI) fails here rather than going untested."""
    assert sorted(p.name for p in SAMPLES.glob("*.edxml")) == sorted({**DOCUMENTS, **STATUSES, **MALFORMED})


def test_the_samples_load_and_add_up(samples):
    engine, results = samples
    # 7 documents read: 2 distinct ids (four messages update 7816 in turn), 2 malformed quarantined
    assert results["documents"].totals == {"read": 7, "inserted": 2, "updated": 3, "unchanged": 0,
                                           "quarantined": 2}
    # 11 status messages + one TraceHeader in each of the 5 documents; 11 distinct keys
    assert results["traces"].totals == {"read": 16, "inserted": 11, "updated": 5, "unchanged": 0,
                                        "quarantined": 0}
    assert scalar(engine, "SELECT count(*) FROM core.official_document") == 2
    assert scalar(engine, "SELECT count(*) FROM core.document_trace") == 11
    assert scalar(engine, "SELECT count(*) FROM quarantine.document_trace") == 0
    every_batch_adds_up(engine)


@pytest.mark.parametrize("name", sorted(DOCUMENTS))
def test_sample_document_loads(samples, name):
    engine, _ = samples
    document_id = DOCUMENTS[name]
    (row,) = rows(engine, "SELECT * FROM core.official_document WHERE document_id = :d", d=document_id)
    # several messages carry one document: the row is the one read last, and it is that message's
    assert row["message_id"] in [f for f, d in DOCUMENTS.items() if d == document_id]
    assert row["source_position"] == f"{row['message_id']}#doc"
    with (SAMPLES / row["message_id"]).open("rb") as fh:
        message = read_message(fh, row["message_id"])
    assert row["code_number"] == message.first("Code", "CodeNumber")
    assert row["recipients"] == ";".join(message.header[("To", "OrganId")])
    assert row["document_type"] == "CV" and row["priority"] == "0" and row["steering_type"] == "1"
    assert row["has_signature"] is True  # an XMLDSig-shaped Signature, but in the edXML namespace
    assert row["signature_verified"] is False  # ... with a truncated certificate ("MIIFqTCCBJG")
    assert json.loads(row["attachments"]) == expected_attachments(SAMPLES / row["message_id"])
    # its trace list: one TraceHeader, recorded as arrived (01) at that organ
    trace = rows(engine, "SELECT * FROM core.document_trace WHERE document_id = :d AND recipient_organ_id = "
                         "'000.00.00.G22' AND status_code = '01'", d=document_id)
    assert len(trace) == 1 and trace[0]["status_at"] == tz_time("2018/09/28 00:00:00")
    assert trace[0]["source_position"] == f"{trace[0]['message_id']}#trace:1"


def test_a_date_written_dd_mm_yyyy_is_read_too(samples):
    engine, _ = samples
    row = rows(engine, "SELECT * FROM core.official_document WHERE document_id = :d", d=DOC_2491)[0]
    assert row["promulgation_date"] == dt.date(2020, 10, 30) and row["due_date"] is None
    assert row["signer_name"] is None and row["signer_position"] is None  # SignerInfo present but empty


@pytest.mark.parametrize("name", sorted(STATUSES))
def test_sample_status_message_loads(samples, name):
    engine, _ = samples
    organ, code, _ = STATUSES[name]
    (row,) = rows(engine, "SELECT * FROM core.document_trace WHERE document_id = :d AND recipient_organ_id = :o "
                          "AND status_code = :c", d=DOC_7816, o=organ, c=code)
    # two messages report 01 and two 05 from the same organ: the row is the later one's
    assert row["message_id"] in [f for f, s in STATUSES.items() if s[:2] == (organ, code)]
    assert row["source_position"] == f"{row['message_id']}#status"
    assert row["status_at"] == tz_time(STATUSES[row["message_id"]][2])
    assert row["description"]


@pytest.mark.parametrize("name", sorted(MALFORMED))
def test_malformed_sample_is_quarantined_whole_with_the_parsers_reason(samples, name):
    engine, _ = samples
    (q,) = rows(engine, "SELECT * FROM quarantine.official_document WHERE source_position = :p",
                p=f"{name}#message")
    assert q["failed_checks"] == ["xml_well_formed"]
    assert q["reason"] == f"not well-formed XML: {MALFORMED[name]}"
    content = (SAMPLES / name).read_bytes()
    assert q["raw_record"] == {"file": name, "bytes": len(content), "sha256": hashlib.sha256(content).hexdigest(),
                               "text": scrub_value(content.decode("utf-8"))}  # kept whole, citizen IDs masked
    # with lxml's own words: the same message as a plain parse gives
    with pytest.raises(etree.XMLSyntaxError) as lxml_says:
        etree.fromstring(content, etree.XMLParser(resolve_entities=False, no_network=True))
    assert MALFORMED[name].split(", line")[0] in str(lxml_says.value)
    # nothing of it loaded, and it is quarantined once (by the document source only)
    assert scalar(engine, "SELECT count(*) FROM core.official_document WHERE message_id = :m", m=name) == 0
    assert scalar(engine, "SELECT count(*) FROM core.document_trace WHERE message_id = :m", m=name) == 0
    assert scalar(engine, "SELECT count(*) FROM quarantine.document_trace") == 0


def test_a_second_run_over_the_samples_reads_nothing(samples, tmp_path):
    engine, _ = samples
    for source in edxml_sources(tmp_path, SAMPLES):
        again = run_source(source, engine)
        assert [b.status for b in again.batches] == ["unchanged"] and again.totals["read"] == 0


def expected_attachments(path: Path) -> list[dict]:
    """Attachment digests computed the plain way (whole document in memory), to check the streamed ones."""
    root = etree.parse(str(path), etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=True)).getroot()
    out = []
    for a in root.iter(f"{{{EDXML_NS}}}Attachment"):
        data = base64.b64decode(a.findtext(f"{{{EDXML_NS}}}ContentTransferEncoded"))
        out.append({"name": a.findtext(f"{{{EDXML_NS}}}AttachmentName"),
                    "content_type": a.findtext(f"{{{EDXML_NS}}}ContentType"),
                    "size": len(data), "sha256": hashlib.sha256(data).hexdigest()})
    assert out  # every sample document carries one
    return out


def tz_time(value: str) -> dt.datetime:
    from zoneinfo import ZoneInfo

    return dt.datetime.strptime(value, "%Y/%m/%d %H:%M:%S").replace(tzinfo=ZoneInfo("Asia/Ho_Chi_Minh"))


# ---------------------------------------------------------------- synthetic messages

def document_xml(document_id: str = "000.00.00.H41,2024/03/01,15/UBND-VP", *, subject: str = "Về việc thử liên thông",
                 type_name: str = "Công văn", code: str | None = "15", traces: tuple = (("000.00.00.H41",
                 "2024/03/01 08:00:00"),), attachment: str = "", root_ns: str = EDXML_NS, extra: str = "") -> str:
    code_xml = f"<edXML:Code><edXML:CodeNumber>{code}</edXML:CodeNumber><edXML:CodeNotation>UBND-VP</edXML:CodeNotation>" \
               f"</edXML:Code>" if code is not None else ""
    subject_xml = f"<edXML:Subject>{subject}</edXML:Subject>" if subject is not None else ""
    trace_xml = "".join(f"<edXML:TraceHeader><edXML:OrganId>{o}</edXML:OrganId><edXML:Timestamp>{t}"
                        f"</edXML:Timestamp></edXML:TraceHeader>" for o, t in traces)
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<edXML xmlns="{root_ns}" xmlns:edXML="{root_ns}">
  <edXML:edXMLEnvelope><edXML:edXMLHeader><edXML:MessageHeader>
    <edXML:From><edXML:OrganId>000.00.00.H41</edXML:OrganId><edXML:OrganName>UBND Tỉnh Nghệ An</edXML:OrganName></edXML:From>
    <edXML:To><edXML:OrganId>000.00.00.H14</edXML:OrganId></edXML:To>
    <edXML:To><edXML:OrganId>000.00.00.G17</edXML:OrganId></edXML:To>
    <edXML:DocumentId>{document_id}</edXML:DocumentId>{code_xml}
    <edXML:PromulgationInfo><edXML:Place>Vinh</edXML:Place><edXML:PromulgationDate>2024/03/01</edXML:PromulgationDate></edXML:PromulgationInfo>
    <edXML:DocumentType><edXML:Type>1</edXML:Type><edXML:TypeName>{type_name}</edXML:TypeName></edXML:DocumentType>
    {subject_xml}{extra}
    <edXML:SignerInfo><edXML:Position>Chủ tịch</edXML:Position><edXML:FullName>Nguyễn Văn An</edXML:FullName></edXML:SignerInfo>
  </edXML:MessageHeader><edXML:TraceHeaderList>{trace_xml}</edXML:TraceHeaderList></edXML:edXMLHeader></edXML:edXMLEnvelope>
  <AttachmentEncoded>{attachment}</AttachmentEncoded>
</edXML>
"""


def status_xml(document_id: str, organ: str, code: str | None, at: str = "2024/03/02 09:30:00") -> str:
    code_xml = f"<StatusCode>{code}</StatusCode>" if code is not None else ""
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<edXML xmlns="{EDXML_NS}"><edXMLEnvelope><edXMLHeader><MessageHeader>
  <From><OrganId>{organ}</OrganId></From>
  <ResponseFor><OrganId>000.00.00.H41</OrganId><DocumentId>{document_id}</DocumentId></ResponseFor>
  <StaffInfo><Staff>Trần Thị Bình</Staff></StaffInfo>{code_xml}
  <Description>Đã tiếp nhận</Description><Timestamp>{at}</Timestamp>
</MessageHeader></edXMLHeader></edXMLEnvelope></edXML>
"""


def write(folder: Path, name: str, content: str | bytes) -> Path:
    path = folder / name
    path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
    return path


def test_wrong_namespace_and_missing_elements_are_quarantined_and_the_next_message_goes_on(engine, tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    write(inbox, "a_wrong_ns.edxml", document_xml("D-NS", root_ns="http://example.org/not-edxml"))
    write(inbox, "b_no_subject_no_code.edxml", document_xml("D-MISSING", subject=None, code=None))
    write(inbox, "c_status_no_code.edxml", status_xml("D-OK", "000.00.00.H14", None))
    write(inbox, "d_good.edxml", document_xml("D-OK"))
    write(inbox, "e_status.edxml", status_xml("D-OK", "000.00.00.H14", "03"))
    write(inbox, "f_unknown_type.edxml", document_xml("D-TYPE", type_name="Thông tư khẩn"))  # in neither list
    documents, traces = edxml_sources(tmp_path, inbox)
    docs = run_source(documents, engine)
    assert docs.totals == {"read": 4, "inserted": 1, "updated": 0, "unchanged": 0, "quarantined": 3}
    trs = run_source(traces, engine)
    assert trs.totals == {"read": 4, "inserted": 3, "updated": 0, "unchanged": 0, "quarantined": 1}
    every_batch_adds_up(engine)
    q = {r["source_position"]: r for r in rows(engine, "SELECT * FROM quarantine.official_document")}
    assert q["a_wrong_ns.edxml#message"]["failed_checks"] == ["edxml_namespace"]
    assert q["a_wrong_ns.edxml#message"]["reason"] == (
        "wrong namespace: the root element is {http://example.org/not-edxml}edXML, an edXML message's is "
        f"{{{EDXML_NS}}}edXML")
    assert q["b_no_subject_no_code.edxml#message"]["failed_checks"] == ["edxml_required"]
    assert q["b_no_subject_no_code.edxml#message"]["reason"] == \
        "document message lacks required elements: Code/CodeNumber, Subject"
    # well-formed and complete but of a type the code list lacks: quarantined by the check, field by field
    assert "code_list:document_type" in q["f_unknown_type.edxml#doc"]["failed_checks"]
    assert "Thông tư khẩn" in q["f_unknown_type.edxml#doc"]["reason"]
    (status_q,) = rows(engine, "SELECT * FROM quarantine.document_trace")
    assert status_q["source_position"] == "c_status_no_code.edxml#message"
    assert status_q["reason"] == "status message lacks required elements: StatusCode"
    (doc,) = rows(engine, "SELECT * FROM core.official_document")
    assert doc["document_id"] == "D-OK" and doc["recipients"] == "000.00.00.H14;000.00.00.G17"
    assert doc["has_signature"] is False and doc["signature_verified"] is None
    assert doc["attachments"] == "[]" and doc["signer_name"] == "Nguyễn Văn An"
    traces_loaded = {(r["document_id"], r["recipient_organ_id"], r["status_code"], r["staff_name"] is None)
                     for r in rows(engine, "SELECT * FROM core.document_trace")}
    # the document with an unknown type still travelled: its trace is kept
    assert traces_loaded == {("D-OK", "000.00.00.H41", "01", True), ("D-TYPE", "000.00.00.H41", "01", True),
                             ("D-OK", "000.00.00.H14", "03", False)}


def test_a_doctype_with_external_entities_is_refused_and_nothing_is_read(engine, tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    secret = tmp_path / "secret.txt"
    secret.write_text("TOPSECRET-CONTENT")
    probe = tmp_path / "probe.fifo"
    os.mkfifo(probe)  # anyone opening it to read wakes the writer below
    opened = threading.Event()

    def writer():
        fd = os.open(probe, os.O_WRONLY)  # blocks until a reader opens the pipe
        opened.set()
        try:
            os.write(fd, b"PROBE-CONTENT")
        except BrokenPipeError:  # released by the test itself, which reads nothing
            pass
        os.close(fd)

    threading.Thread(target=writer, daemon=True).start()
    hostile = document_xml("D-XXE", subject="&xxe;&probe;&lol2;").replace(
        '<?xml version="1.0" encoding="UTF-8"?>\n',
        f'<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE edXML [\n'
        f'  <!ENTITY xxe SYSTEM "file://{secret}">\n  <!ENTITY probe SYSTEM "file://{probe}">\n'
        f'  <!ENTITY % remote SYSTEM "file://{probe}"> %remote;\n'
        f'  <!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">\n]>\n')
    write(inbox, "xxe.edxml", hostile)
    documents, traces = edxml_sources(tmp_path, inbox)
    assert run_source(documents, engine).totals["quarantined"] == 1
    assert run_source(traces, engine).totals["read"] == 0
    was_opened = opened.wait(0.5)
    os.close(os.open(probe, os.O_RDONLY | os.O_NONBLOCK))  # release the writer thread
    assert not was_opened, "the parser opened a file named by an external entity"
    (q,) = rows(engine, "SELECT * FROM quarantine.official_document")
    assert q["failed_checks"] == ["xml_doctype"] and "declares a DOCTYPE" in q["reason"]
    everything = json.dumps(rows(engine, "SELECT raw_record, reason FROM quarantine.official_document"))
    assert "TOPSECRET" not in everything and "PROBE-CONTENT" not in everything and "lollol" not in everything
    assert scalar(engine, "SELECT count(*) FROM core.official_document") == 0
    assert scalar(engine, "SELECT count(*) FROM core.document_trace") == 0


# ---------------------------------------------------------------- signatures

@pytest.fixture(scope="module")
def signing():
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Văn thư UBND tỉnh")])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=30)).sign(key, hashes.SHA256()))
    return (key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                              serialization.NoEncryption()),
            cert.public_bytes(serialization.Encoding.PEM).decode())


def signed(xml: str, key: bytes, cert: str | None) -> bytes:
    from signxml import XMLSigner, methods

    signer = XMLSigner(method=methods.enveloped, signature_algorithm="rsa-sha256", digest_algorithm="sha256")
    root = signer.sign(etree.fromstring(xml.encode("utf-8")), key=key, cert=cert)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def test_a_signature_is_verified_against_the_certificate_it_carries(engine, tmp_path, signing):
    key, cert = signing
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    good = signed(document_xml("D-SIGNED"), key, cert)
    write(inbox, "a_signed.edxml", good)
    tampered = signed(document_xml("D-TAMPERED", subject="Bản gốc"), key, cert)
    write(inbox, "b_tampered.edxml", tampered.replace("Bản gốc".encode(), "Bản đã sửa".encode()))
    write(inbox, "c_no_certificate.edxml", signed(document_xml("D-KEYVALUE"), key, None))
    documents, _ = edxml_sources(tmp_path, inbox)
    assert run_source(documents, engine).totals["inserted"] == 3
    got = {r["document_id"]: (r["has_signature"], r["signature_verified"])
           for r in rows(engine, "SELECT * FROM core.official_document")}
    assert got == {"D-SIGNED": (True, True), "D-TAMPERED": (True, False), "D-KEYVALUE": (True, None)}


def test_a_message_over_the_verification_limit_is_not_verified(tmp_path, signing):
    key, cert = signing
    path = write(tmp_path, "s.edxml", signed(document_xml("D-BIG"), key, cert))
    with path.open("rb") as fh:
        assert read_message(fh, "s.edxml").signature_verified is True
    with path.open("rb") as fh:
        assert read_message(fh, "s.edxml", verify_max_bytes=100).signature_verified is None


# ---------------------------------------------------------------- large messages

MEMORY_PROBE = textwrap.dedent("""
    import json, resource, sys, tracemalloc
    from adapters.edxml import read_message

    def measure(work):
        # Peak resident memory during work, above the resident memory before it. Linux resets
        # the peak through clear_refs; elsewhere the process's lifetime peak is what there is.
        try:
            with open("/proc/self/clear_refs", "w") as fh:
                fh.write("5")
            status = lambda key: int(next(l.split()[1] for l in open("/proc/self/status") if l.startswith(key)))
            before = status("VmRSS:")
            result = work()
            return result, (status("VmHWM:") - before) << 10
        except OSError:
            scale = 1 if sys.platform == "darwin" else 1024
            before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            result = work()
            return result, (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) * scale

    def parse():
        with open(sys.argv[1], "rb") as fh:
            return read_message(fh, "big.edxml")

    message, rss_growth = measure(parse)
    tracemalloc.start()
    parse()
    python_peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()

    def control():  # the measure must see memory that is really held: 60 MB, touched
        block = bytearray(60 << 20)
        block[::4096] = b"x" * len(block[::4096])
        return len(block)

    _, control_growth = measure(control)
    print(json.dumps({"attachments": message.attachments, "rss_growth": rss_growth, "python_peak": python_peak,
                      "control_growth": control_growth}))
""")


def test_a_large_attachment_is_hashed_in_bounded_memory(tmp_path):
    """A 50 MB attachment (67 MB of base64) is hashed without ever being held whole."""
    path, digest, size = tmp_path / "big.edxml", hashlib.sha256(), 0
    head, tail = document_xml("D-BIG", attachment="@@").split("@@")
    with path.open("wb") as fh:
        fh.write(head.encode() + b"<Attachment><AttachmentName>scan.pdf</AttachmentName>"
                                 b"<ContentType>application/pdf</ContentType><ContentTransferEncoded>")
        block = os.urandom(3 << 20)
        for i in range(17):  # 51 MiB, each block a little different
            chunk = bytes([i]) + block[1:]
            digest.update(chunk)
            size += len(chunk)
            fh.write(base64.encodebytes(chunk))
        fh.write(b"</ContentTransferEncoded></Attachment>" + tail.encode())
    assert path.stat().st_size > 67_000_000
    probe = subprocess.run([sys.executable, "-c", MEMORY_PROBE, str(path)], capture_output=True, text=True,
                           cwd=REPO_ROOT, timeout=60)
    assert probe.returncode == 0, probe.stderr
    result = json.loads(probe.stdout)
    assert result["attachments"] == [{"name": "scan.pdf", "content_type": "application/pdf", "size": size,
                                      "sha256": digest.hexdigest()}]
    assert result["control_growth"] > 50 << 20, result  # the measure sees 60 MB held
    assert result["rss_growth"] < 25 << 20, result
    assert result["python_peak"] < 8 << 20, result


def test_bad_base64_in_an_attachment_quarantines_the_message(tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    write(inbox, "b64.edxml", document_xml("D-B64", attachment="<Attachment><AttachmentName>x.pdf</AttachmentName>"
                                                               "<ContentTransferEncoded>${__StringFromFile(test.txt)}"
                                                               "</ContentTransferEncoded></Attachment>"))
    (batch,) = EdxmlFolder("s", {"path": str(inbox), "settle_seconds": 0}).batches()
    (rejected,) = batch.rejected
    assert rejected.check == "edxml_attachment" and rejected.reason.startswith("attachment 'x.pdf' is not valid base64")


# ---------------------------------------------------------------- resume

def test_an_interrupted_run_resumes_after_the_last_committed_batch(engine, tmp_path, interrupt_merge):
    _, traces = edxml_sources(tmp_path, SAMPLES, chunk_size=3)
    heal = interrupt_merge(2)
    with pytest.raises(StageError, match="server closed the connection"):
        run_source(traces, engine)
    first = rows(engine, "SELECT * FROM audit.batch WHERE status = 'succeeded'")
    assert len(first) == 1 and scalar(engine, "SELECT count(*) FROM core.document_trace") > 0
    heal()
    resumed = run_source(traces, engine)
    assert resumed.totals["read"] == 16 - first[0]["rows_read"]  # from the last committed batch on
    done = rows(engine, "SELECT * FROM audit.batch WHERE status = 'succeeded'")
    assert sum(b["rows_read"] for b in done) == 16  # every record read once, none twice
    assert scalar(engine, "SELECT count(*) FROM core.document_trace") == 11
    assert scalar(engine, "SELECT count(*) FROM audit.batch WHERE status = 'failed'") == 1
    every_batch_adds_up(engine)


def test_files_arriving_later_are_read_whatever_their_name_or_mtime(engine, tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    write(inbox, "m.edxml", document_xml("D-M"))
    write(inbox, "n.edxml", document_xml("D-N"))
    documents, _ = edxml_sources(tmp_path, inbox, grace_seconds=0)
    assert run_source(documents, engine).totals["inserted"] == 2
    # a late file with an earlier name, copied keeping an mtime of 2001 (cp -p, rsync -t, unzip)
    late = write(inbox, "a.edxml", document_xml("D-A"))
    os.utime(late, ns=(978_307_200_000_000_000,) * 2)
    again = run_source(documents, engine)
    assert again.totals == {"read": 1, "inserted": 1, "updated": 0, "unchanged": 0, "quarantined": 0}
    # a message rewritten in place is read again; the others are not
    write(inbox, "m.edxml", document_xml("D-M", subject="Về việc thử liên thông (sửa)"))
    changed = run_source(documents, engine)
    assert changed.totals == {"read": 1, "inserted": 0, "updated": 1, "unchanged": 0, "quarantined": 0}
    assert [b.status for b in run_source(documents, engine).batches] == ["unchanged"]
    # the watermark keeps only what shares the latest stamp (grace 0 here), not every name ever read
    (mark,) = rows(engine, "SELECT position FROM audit.watermark")
    assert set(mark["position"]["seen"]) == {"m.edxml"}
    assert scalar(engine, "SELECT subject FROM core.official_document WHERE document_id = 'D-M'").endswith("(sửa)")


def test_a_file_still_settling_waits_for_the_next_run(engine, tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    write(inbox, "fresh.edxml", document_xml("D-FRESH"))
    waiting = EdxmlFolder("s", {"path": str(inbox), "settle_seconds": 3600})
    assert list(waiting.batches()) == []
    documents, _ = edxml_sources(tmp_path, inbox)
    assert run_source(documents, engine).totals["inserted"] == 1


def test_a_source_with_nothing_of_its_kind_still_moves_its_watermark(engine, tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    write(inbox, "s1.edxml", status_xml("D-1", "000.00.00.H14", "01"))
    documents, traces = edxml_sources(tmp_path, inbox)
    first = run_source(documents, engine)
    assert [b.status for b in first.batches] == ["succeeded"] and first.totals["read"] == 0
    assert [b.status for b in run_source(documents, engine).batches] == ["unchanged"]
    assert run_source(traces, engine).totals["inserted"] == 1
    every_batch_adds_up(engine)


def test_a_batch_never_holds_one_natural_key_twice(tmp_path):
    """A later message about the same document starts a new batch, so it updates the row
    instead of failing the in-batch duplicate check."""
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    for i, name in enumerate(["a", "b", "c"]):
        write(inbox, f"{name}.edxml", document_xml("D-SAME" if name != "b" else "D-OTHER", subject=f"v{i}"))
    batches = list(EdxmlFolder("s", {"path": str(inbox), "settle_seconds": 0}).batches())
    assert [b.positions for b in batches] == [["a.edxml#doc", "b.edxml#doc"], ["c.edxml#doc"]]


def test_records_carry_the_schema_field_names():
    assert DOCUMENT_COLUMNS == get_schema("official_document").field_names
    assert TRACE_COLUMNS == get_schema("document_trace").field_names


def test_a_missing_drop_folder_is_one_clear_error(engine, tmp_path):
    documents, _ = edxml_sources(tmp_path, tmp_path / "nowhere")
    with pytest.raises(StageError, match=r"source 'edxml_documents', extract: drop folder not found: .*nowhere"):
        run_source(documents, engine)


def test_the_text_of_an_unreadable_message_is_scrubbed_like_an_unaligned_line():
    """Should a document schema protect a field, the first characters kept of a message that
    could not be parsed are masked as a CSV line's fields are; its sha256 is left whole."""
    from schemas import pii

    raw = {"file": "x.edxml", "sha256": "0123456789" * 6 + "abcd", "text": "<Staff>CCCD 001099012345</Staff>"}
    out = pii.protect_unaligned(raw)
    assert out["sha256"] == raw["sha256"] and "001099012345" not in out["text"] and "fields" not in out
    assert pii.protect_unaligned({"line": 3, "fields": ["001099012345", "a"]})["fields"][1] == "a"
