"""The document-management systems' edXML drop folder (QCVN 102:2016).

Documents go down the levels: the province to its districts and the districts to their
communes before the reform, the province to its communes after. Each recipient answers with
status messages (01 arrived, then 03 accepted or 06 finished). Planted: recipients that never
acknowledge, a status answering a document the hub never saw, and messages the hub must
quarantine (not well-formed, no subject, a document type outside the code list).
"""
from __future__ import annotations

import random
from datetime import date, datetime, timedelta
from pathlib import Path
from xml.sax.saxutils import escape

import numpy as np

from adapters.edxml import EDXML_NS
from demo.geography import PROVINCE, Geography

TYPES = {"Công văn": "CV", "Kế hoạch": "KH", "Thông báo": "TB", "Quyết định": "QĐ", "Báo cáo": "BC"}
SUBJECTS = ["V/v triển khai kế hoạch chuyển đổi số năm 2025", "V/v báo cáo tình hình giải quyết thủ tục hành chính",
            "V/v rà soát danh sách đối tượng bảo trợ xã hội", "V/v tổng hợp số liệu dân số và hộ nghèo",
            "V/v chuẩn bị sắp xếp đơn vị hành chính cấp xã", "V/v phòng chống thiên tai mùa mưa bão"]
SIGNERS = ["Nguyễn Văn Sơn", "Trần Thị Hà", "Lê Minh Tuấn", "Phạm Văn Hùng"]


def organ(code: str) -> str:
    """The UBND of a unit, as a mã định danh (the level shows in the code's length)."""
    return f"000.00.{code}.H06"


def document_xml(doc_id: str, sender: str, recipients: list[str], number: int, sent: datetime,
                 type_name: str, subject: str | None, signer: str) -> str:
    to = "".join(f"<To><OrganId>{r}</OrganId></To>" for r in recipients)
    subject_xml = f"<Subject>{escape(subject)}</Subject>" if subject is not None else ""
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<edXML xmlns="{EDXML_NS}"><edXMLEnvelope><edXMLHeader><MessageHeader>
  <From><OrganId>{sender}</OrganId><OrganName>Ủy ban nhân dân</OrganName></From>{to}
  <DocumentId>{doc_id}</DocumentId>
  <Code><CodeNumber>{number}</CodeNumber><CodeNotation>UBND-VP</CodeNotation></Code>
  <PromulgationInfo><Place>Bắc Giang</Place><PromulgationDate>{sent:%Y/%m/%d}</PromulgationDate></PromulgationInfo>
  <DocumentType><Type>1</Type><TypeName>{type_name}</TypeName></DocumentType>{subject_xml}
  <SteeringType>1</SteeringType><OtherInfo><Priority>0</Priority></OtherInfo>
  <SignerInfo><Position>Chủ tịch</Position><FullName>{signer}</FullName></SignerInfo>
</MessageHeader><TraceHeaderList><TraceHeader><OrganId>{sender}</OrganId><Timestamp>{sent:%Y/%m/%d %H:%M:%S}</Timestamp>
</TraceHeader></TraceHeaderList></edXMLHeader></edXMLEnvelope></edXML>
"""


def status_xml(doc_id: str, sender: str, organ_id: str, code: str, at: datetime) -> str:
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<edXML xmlns="{EDXML_NS}"><edXMLEnvelope><edXMLHeader><MessageHeader>
  <From><OrganId>{organ_id}</OrganId></From>
  <ResponseFor><OrganId>{sender}</OrganId><DocumentId>{doc_id}</DocumentId></ResponseFor>
  <StaffInfo><Staff>Văn thư</Staff></StaffInfo><StatusCode>{code}</StatusCode>
  <Description>{'Đã đến' if code == '01' else 'Đã tiếp nhận' if code == '03' else 'Hoàn thành'}</Description>
  <Timestamp>{at:%Y/%m/%d %H:%M:%S}</Timestamp>
</MessageHeader></edXMLHeader></edXMLEnvelope></edXML>
"""


def _workday(rnd: random.Random, first: date, days: int) -> datetime:
    day = np.busday_offset(np.datetime64(first + timedelta(days=rnd.randrange(days))), 0, roll="forward")
    return datetime.combine(day.astype(date), datetime.min.time()) + timedelta(hours=rnd.randint(8, 10))


def generate(folder: Path, geo: Geography, per_sender: int, rnd: random.Random) -> dict:
    sends: list[tuple[str, list[str], datetime]] = []  # (sender unit, recipient units, sent)
    districts = sorted(geo.districts)
    for _ in range(per_sender):
        sends.append((PROVINCE, rnd.sample(districts, rnd.randint(3, 6)), _workday(rnd, date(2025, 6, 2), 20)))
        sends.append((PROVINCE, rnd.sample(geo.bac_giang_2025, rnd.randint(4, 8)), _workday(rnd, date(2025, 9, 3), 20)))
    for d in rnd.sample(districts, min(len(districts), per_sender)):
        communes = geo.districts[d]
        sends.append((d, rnd.sample(communes, min(len(communes), rnd.randint(3, 6))), _workday(rnd, date(2025, 6, 2), 20)))
    messages: list[tuple[str, str]] = []
    documents, traces, planted = 0, 0, {"xml_well_formed": [], "edxml_required": [], "code_list:document_type": []}
    findings, unacknowledged = [], []
    defective = dict(zip(rnd.sample(range(len(sends)), 3), planted))
    pairs = [(i, j) for i, (_, recipients, _) in enumerate(sends) if i not in defective for j in range(len(recipients))]
    silent = set(rnd.sample(pairs, max(2, len(pairs) // 12)))  # recipients that never acknowledge
    for i, (unit, recipients, sent) in enumerate(sends):
        sender, to = organ(unit), [organ(r) for r in recipients]
        doc_id = f"{sender},{sent:%Y/%m/%d},{100 + i}/UBND-VP"
        kind = defective.get(i)
        type_name = "Công văn hỏa tốc" if kind == "code_list:document_type" else rnd.choice(list(TYPES))
        xml = document_xml(doc_id, sender, to, 100 + i, sent, type_name,
                           None if kind == "edxml_required" else rnd.choice(SUBJECTS), rnd.choice(SIGNERS))
        if kind == "xml_well_formed":
            xml = xml[: len(xml) // 2]  # the system crashed while writing it
        messages.append((f"vb_{i:04d}.edxml", xml))
        documents += 1
        if kind:
            planted[kind].append(doc_id)
            if kind == "code_list:document_type":  # its trace loads; the document it names does not
                traces += 1
                findings.append({"check": "document_unknown", "unit": sender, "period": doc_id, "subject": "01"})
            continue
        traces += 1
        for j, r in enumerate(to):
            if (i, j) in silent:
                unacknowledged.append({"document_id": doc_id, "recipient": r})
                findings.append({"check": "document_not_received", "unit": r, "period": doc_id, "subject": sender,
                                 "difference": "-1"})
                continue
            arrived = sent + timedelta(hours=rnd.randint(1, 6), minutes=rnd.randint(0, 59))
            codes = [("01", arrived)] + [(rnd.choice(["03", "06"]), arrived + timedelta(days=rnd.randint(1, 5)))]
            for code, at in codes:
                messages.append((f"tt_{i:04d}_{j:02d}_{code}.edxml", status_xml(doc_id, sender, r, code, at)))
                traces += 1
    # a status for a document the hub never received (sent outside the exchange)
    unit, recipients, sent = sends[0]
    ghost = f"{organ(PROVINCE)},{sent:%Y/%m/%d},99/UBND-VP"
    recipient = organ(recipients[0])
    messages.append(("tt_ghost.edxml", status_xml(ghost, organ(PROVINCE), recipient, "01", sent + timedelta(hours=2))))
    traces += 1
    findings.append({"check": "document_unknown", "unit": recipient, "period": ghost, "subject": "01"})
    for name, xml in messages:
        (folder / name).write_text(xml, encoding="utf-8")
    return {"sources": {
        "demo_edxml_documents": {"kind": "edxml_documents", "options": {"path": folder.name}, "read": documents,
                                 "quarantined": {k: len(v) for k, v in planted.items()}},
        "demo_edxml_traces": {"kind": "edxml_traces", "options": {"path": folder.name}, "read": traces, "quarantined": {}}},
        "defects": {"official_document": planted}, "findings": findings, "unacknowledged": unacknowledged}
