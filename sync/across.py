"""Across: what travels between levels arrives, and a person is paid once.

Documents: every recipient named in a document must show a receipt (a status message, or a
trace) within the allowed working days of the document's date. People: the same citizen
(keyed hash, never the number) must not be on two communes' lists in one month, and every
commune-list row must be on the province's consolidated list of that month.
"""
from __future__ import annotations

from datetime import date

import numpy as np
from sqlalchemy import Connection, text

from sync.findings import Finding

RECEIVED = ("01", "03", "04", "05", "06")

DOCUMENT_RECIPIENTS = text("""
SELECT d.document_id, d.organ_id, d.promulgation_date, r.recipient,
       min(t.status_at) FILTER (WHERE t.status_code = ANY(:received)) AS received_at,
       bool_or(t.status_code IN ('05', '06')) AS processed
FROM core.official_document d
CROSS JOIN LATERAL unnest(string_to_array(d.recipients, ';')) AS r(recipient)
LEFT JOIN core.document_trace t ON t.document_id = d.document_id AND t.recipient_organ_id = trim(r.recipient)
WHERE trim(r.recipient) <> '' AND trim(r.recipient) <> d.organ_id
GROUP BY d.document_id, d.organ_id, d.promulgation_date, r.recipient
ORDER BY d.document_id, r.recipient
""")

UNKNOWN_DOCUMENTS = text("""
SELECT t.document_id, t.recipient_organ_id, t.status_code, t.status_at,
       (SELECT q.reason FROM quarantine.official_document q
        WHERE q.raw_record->>'document_id' = t.document_id ORDER BY q.last_seen_at DESC LIMIT 1) AS quarantined
FROM core.document_trace t
WHERE NOT EXISTS (SELECT 1 FROM core.official_document d WHERE d.document_id = t.document_id)
ORDER BY t.document_id, t.recipient_organ_id, t.status_code
""")
"""Statuses answering no loaded document: linked to the document when it is in quarantine (its
record, or a message rejected whole, names it), so they read "document quarantined", not "never
received"."""


def deadline(sent: date, working_days: int) -> date:
    """The last day a receipt is on time: ``working_days`` Monday-to-Friday days after sending."""
    return np.busday_offset(np.datetime64(sent), working_days, roll="forward").astype(date)


def documents(conn: Connection, *, as_of: date, working_days: int = 1) -> list[Finding]:
    findings = []
    for r in conn.execute(DOCUMENT_RECIPIENTS, {"received": list(RECEIVED)}).mappings():
        due = deadline(r["promulgation_date"], working_days)
        if due >= as_of:
            continue  # not late yet
        received = r["received_at"]
        if received is None or received.date() > due:
            when = f"received {received:%Y-%m-%d}" if received else "no receipt"
            findings.append(Finding(
                "document_not_received", r["recipient"].strip(), r["document_id"], r["organ_id"], None,
                expected=1, found=0, difference=-1,
                detail=f"{r['document_id']} sent by {r['organ_id']} on {r['promulgation_date']}: {when} by "
                       f"{r['recipient'].strip()} within {working_days} working day(s) (by {due})"))
    for r in conn.execute(UNKNOWN_DOCUMENTS).mappings():
        if r["quarantined"]:
            findings.append(Finding(
                "document_quarantined", r["recipient_organ_id"], r["document_id"], r["status_code"], None,
                detail=f"status {r['status_code']} from {r['recipient_organ_id']} answers {r['document_id']}: "
                       f"document quarantined ({r['quarantined'][:200]})"))
            continue
        findings.append(Finding(
            "document_unknown", r["recipient_organ_id"], r["document_id"], r["status_code"], None,
            detail=f"status {r['status_code']} from {r['recipient_organ_id']} answers {r['document_id']}, "
                   "a document the hub never received"))
    return findings


DOUBLE_PAYMENTS = text("""
SELECT citizen_id_hash, min(citizen_id_masked) AS masked, to_char(list_month, 'YYYY-MM') AS month,
       array_agg(DISTINCT commune_code ORDER BY commune_code) AS communes, sum(monthly_amount) AS paid
FROM core.social_beneficiary
WHERE list_level = 'commune' AND (CAST(:period AS text) IS NULL OR to_char(list_month, 'YYYY-MM') = :period)
GROUP BY citizen_id_hash, list_month
HAVING count(DISTINCT commune_code) > 1
ORDER BY month, masked
""")

NOT_CONSOLIDATED = text("""
SELECT c.citizen_id_hash, c.citizen_id_masked, c.commune_code, c.benefit_type, to_char(c.list_month, 'YYYY-MM') AS month
FROM core.social_beneficiary c
WHERE c.list_level = 'commune'
  AND (CAST(:period AS text) IS NULL OR to_char(c.list_month, 'YYYY-MM') = :period)
  AND EXISTS (SELECT 1 FROM core.social_beneficiary p WHERE p.list_level = 'province' AND p.list_month = c.list_month)
  AND NOT EXISTS (SELECT 1 FROM core.social_beneficiary p
                  WHERE p.list_level = 'province' AND p.list_month = c.list_month
                    AND p.citizen_id_hash = c.citizen_id_hash AND p.commune_code = c.commune_code
                    AND p.benefit_type = c.benefit_type)
ORDER BY month, c.commune_code, c.citizen_id_masked
""")


def beneficiaries(conn: Connection, period: str | None = None) -> list[Finding]:
    findings = []
    for r in conn.execute(DOUBLE_PAYMENTS, {"period": period}).mappings():
        findings.append(Finding(
            "beneficiary_double", ",".join(r["communes"]), r["month"], r["citizen_id_hash"], "commune",
            expected=1, found=len(r["communes"]), difference=len(r["communes"]) - 1,
            detail=f"citizen {r['masked']} is on the lists of communes {', '.join(r['communes'])} in {r['month']} "
                   f"({r['paid']} VND paid in all): a double payment risk"))
    for r in conn.execute(NOT_CONSOLIDATED, {"period": period}).mappings():
        findings.append(Finding(
            "beneficiary_not_consolidated", r["commune_code"], r["month"], r["citizen_id_hash"], "commune",
            expected=1, found=0, difference=-1,
            detail=f"citizen {r['citizen_id_masked']} ({r['benefit_type']}) is on commune {r['commune_code']}'s "
                   f"list for {r['month']} but not on the province's consolidated list"))
    return findings


