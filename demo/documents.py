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
from demo.geography import PROVINCE, REFORM, Geography

TYPES = {"Công văn": "CV", "Kế hoạch": "KH", "Thông báo": "TB", "Quyết định": "QĐ", "Báo cáo": "BC"}
SUBJECTS = ["V/v triển khai kế hoạch chuyển đổi số năm 2025", "V/v báo cáo tình hình giải quyết thủ tục hành chính",
            "V/v rà soát danh sách đối tượng bảo trợ xã hội", "V/v tổng hợp số liệu dân số và hộ nghèo",
            "V/v chuẩn bị sắp xếp đơn vị hành chính cấp xã", "V/v phòng chống thiên tai mùa mưa bão"]
SIGNERS = ["Nguyễn Văn Sơn", "Trần Thị Hà", "Lê Minh Tuấn", "Phạm Văn Hùng"]


LEVEL_1 = "H06"  # the provincial People's Committee's level-1 group in the demo's identifiers


def organ_ids(geo: Geography) -> dict[str, str]:
    """The People's Committee (UBND) of each unit, as a mã định danh (QCVN 102:2016): the province
    000.00.00.H06; a district (level 2) 000.00.YY.H06 and its communes (level 3) 000.ZZ.YY.H06
    before the reform; after it, the 2025 communes are level 2 under the province, numbered on
    after the districts so that no identifier names two agencies."""
    ids = {PROVINCE: f"000.00.00.{LEVEL_1}"}
    for y, (district, communes) in enumerate(sorted(geo.districts.items()), 1):
        ids[district] = f"000.00.{y:02d}.{LEVEL_1}"
        for z, commune in enumerate(communes, 1):
            ids[commune] = f"000.{z:02d}.{y:02d}.{LEVEL_1}"
    for y, commune in enumerate(geo.bac_giang_2025, len(geo.districts) + 1):
        ids[f"2025:{commune}"] = f"000.00.{y:02d}.{LEVEL_1}"
    return ids


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


DESCRIPTIONS = {"01": "Đã đến", "02": "Từ chối tiếp nhận: gửi nhầm đơn vị, không thuộc thẩm quyền",
                "03": "Đã tiếp nhận", "06": "Hoàn thành", "13": "Lấy lại văn bản: sai số ký hiệu, sẽ ban hành lại"}


def status_xml(doc_id: str, sender: str, organ_id: str, code: str, at: datetime) -> str:
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<edXML xmlns="{EDXML_NS}"><edXMLEnvelope><edXMLHeader><MessageHeader>
  <From><OrganId>{organ_id}</OrganId></From>
  <ResponseFor><OrganId>{sender}</OrganId><DocumentId>{doc_id}</DocumentId></ResponseFor>
  <StaffInfo><Staff>Văn thư</Staff></StaffInfo><StatusCode>{code}</StatusCode>
  <Description>{DESCRIPTIONS[code]}</Description>
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
    ids = organ_ids(geo)

    def organ(unit: str, on: datetime) -> str:
        return ids[f"2025:{unit}" if on >= REFORM and len(unit) == 5 else unit]

    documents, traces = 0, 0
    planted = {"xml_well_formed": [], "edxml_required": [], "code_list:document_type": [], "agency_id": []}
    findings, unacknowledged, out_of_order, refused, recalled = [], [], [], [], []
    defective = dict(zip(rnd.sample(range(len(sends)), 4), planted))
    pairs = [(i, j) for i, (_, recipients, _) in enumerate(sends) if i not in defective for j in range(len(recipients))]
    silent = set(rnd.sample(pairs, max(2, len(pairs) // 12)))  # recipients that never acknowledge
    answering = [pair for pair in pairs if pair not in silent]
    late_01 = set(rnd.sample(answering, max(2, len(answering) // 10)))  # its 01 lands after its 03/06
    refusing = set(rnd.sample(sorted(set(answering) - late_01), 2))     # 01, then a refusal (02)
    recalls = set(rnd.sample(sorted({i for i, _ in answering}), 1))    # the sender takes it back (13)
    for i, (unit, recipients, sent) in enumerate(sends):
        sender, to = organ(unit, sent), [organ(r, sent) for r in recipients]
        doc_id = f"{sender},{sent:%Y/%m/%d},{100 + i}/UBND-VP"
        kind = defective.get(i)
        type_name = "Công văn hỏa tốc" if kind == "code_list:document_type" else rnd.choice(list(TYPES))
        if kind == "agency_id":  # sent through a test platform, under its system id
            sender = "vxp.saas.03"
            doc_id = f"{sender},{sent:%Y/%m/%d},{100 + i}/UBND-VP"
        xml = document_xml(doc_id, sender, to + ["null"] * (i % 5 == 1), 100 + i, sent, type_name,
                           None if kind == "edxml_required" else rnd.choice(SUBJECTS), rnd.choice(SIGNERS))
        if kind == "xml_well_formed":
            xml = xml[: len(xml) // 2]  # the system crashed while writing it
        messages.append((f"vb_{i:04d}.edxml", xml))
        documents += 1
        if kind:
            planted[kind].append(doc_id)
            if kind == "code_list:document_type":  # its trace loads, linked to the quarantined document
                traces += 1
                findings.append({"check": "document_quarantined", "unit": sender, "period": doc_id,
                                 "subject": "01"})
            elif kind == "agency_id":  # a recipient's arrival answers it: linked to it in quarantine too
                r = to[0]
                messages.append((f"tt_{i:04d}_00_01.edxml", status_xml(doc_id, sender, r, "01",
                                                                      sent + timedelta(hours=1))))
                traces += 1
                findings.append({"check": "document_quarantined", "unit": r, "period": doc_id, "subject": "01"})
            continue
        traces += 1
        for j, r in enumerate(to):
            if (i, j) in silent:
                unacknowledged.append({"document_id": doc_id, "recipient": r})
                findings.append({"check": "document_not_received", "unit": r, "period": doc_id, "subject": sender,
                                 "difference": "-1"})
                continue
            arrived = sent + timedelta(hours=rnd.randint(1, 6), minutes=rnd.randint(0, 59))
            accepted = arrived + timedelta(days=rnd.randint(0, 3), hours=rnd.randint(1, 5))
            codes = [("01", arrived)]
            if (i, j) in refusing:
                codes.append(("02", arrived + timedelta(hours=rnd.randint(1, 20))))
                refused.append({"document_id": doc_id, "recipient": r})
            else:
                codes.append(("03", accepted))
                if rnd.random() < 0.6:
                    codes.append(("06", accepted + timedelta(days=rnd.randint(0, 6), hours=rnd.randint(0, 7))))
            if (i, j) in late_01:
                codes = codes[1:] + codes[:1]
                out_of_order.append({"document_id": doc_id, "recipient": r})
            for k, (code, at) in enumerate(codes):
                messages.append((f"tt_{i:04d}_{j:02d}_{k}{code}.edxml", status_xml(doc_id, sender, r, code, at)))
                traces += 1
        if i in recalls:
            messages.append((f"tt_{i:04d}_99_13.edxml", status_xml(doc_id, sender, sender, "13",
                                                                   sent + timedelta(days=2))))
            recalled.append({"document_id": doc_id, "sender": sender})
            traces += 1
    # a status for a document the hub never received (sent outside the exchange)
    unit, recipients, sent = sends[0]
    ghost = f"{organ(PROVINCE, sent)},{sent:%Y/%m/%d},99/UBND-VP"
    recipient = organ(recipients[0], sent)
    messages.append(("tt_ghost.edxml", status_xml(ghost, organ(PROVINCE, sent), recipient, "01",
                                                  sent + timedelta(hours=2))))
    traces += 1
    findings.append({"check": "document_unknown", "unit": recipient, "period": ghost, "subject": "01"})
    # a status sent under a platform's system id, not an agency's: quarantined by the trace source
    messages.append(("tt_platform.edxml", status_xml(ghost, organ(PROVINCE, sent), "vxp.saas.03", "01",
                                                     sent + timedelta(hours=3))))
    traces += 1
    for name, xml in messages:
        (folder / name).write_text(xml, encoding="utf-8")
    return {"sources": {
        "demo_edxml_documents": {"kind": "edxml_documents", "options": {"path": folder.name}, "read": documents,
                                 "quarantined": {k: len(v) for k, v in planted.items()}},
        "demo_edxml_traces": {"kind": "edxml_traces", "options": {"path": folder.name}, "read": traces,
                              "quarantined": {"agency_id": 1}}},
        "defects": {"official_document": planted, "document_trace": {"agency_id": ["tt_platform.edxml"]}},
        "findings": findings, "unacknowledged": unacknowledged,
        "documents": {"out_of_order": out_of_order, "refused": refused, "recalled": recalled,
                      "organ_ids": ids}}
