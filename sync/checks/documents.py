"""Across: every recipient named in a document shows a receipt (a status message, or a trace)
within the allowed working days of the document's date, and no status answers a document the
hub never received."""
from __future__ import annotations

from datetime import date

import numpy as np
from sqlalchemy import Connection, text

from sync.checks import LEVELS, Scope, reconciliation_check
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
SELECT t.document_id, t.recipient_organ_id, t.status_code, t.status_at
FROM core.document_trace t
WHERE NOT EXISTS (SELECT 1 FROM core.official_document d WHERE d.document_id = t.document_id)
ORDER BY t.document_id, t.recipient_organ_id, t.status_code
""")


def deadline(sent: date, working_days: int) -> date:
    """The last day a receipt is on time: ``working_days`` Monday-to-Friday days after sending."""
    return np.busday_offset(np.datetime64(sent), working_days, roll="forward").astype(date)


@reconciliation_check("documents", finds=("document_not_received", "document_unknown"), direction="across",
                      levels=LEVELS, periods=())
def documents(conn: Connection, scope: Scope) -> list[Finding]:
    """every recipient of a document acknowledges it within --working-days, and no status answers an unknown document"""
    findings = []
    for r in conn.execute(DOCUMENT_RECIPIENTS, {"received": list(RECEIVED)}).mappings():
        due = deadline(r["promulgation_date"], scope.working_days)
        if due >= scope.as_of:
            continue  # not late yet
        received = r["received_at"]
        if received is None or received.date() > due:
            when = f"received {received:%Y-%m-%d}" if received else "no receipt"
            findings.append(Finding(
                "document_not_received", r["recipient"].strip(), r["document_id"], r["organ_id"], None,
                expected=1, found=0, difference=-1,
                detail=f"{r['document_id']} sent by {r['organ_id']} on {r['promulgation_date']}: {when} by "
                       f"{r['recipient'].strip()} within {scope.working_days} working day(s) (by {due})"))
    for r in conn.execute(UNKNOWN_DOCUMENTS).mappings():
        findings.append(Finding(
            "document_unknown", r["recipient_organ_id"], r["document_id"], r["status_code"], None,
            detail=f"status {r['status_code']} from {r['recipient_organ_id']} answers {r['document_id']}, "
                   "a document the hub never received"))
    return findings
