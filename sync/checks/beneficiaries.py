"""Across: a person is paid once. The same citizen (keyed hash, never the number) must not be on
two communes' lists in one month, and every commune-list row must be on the province's
consolidated list of that month."""
from __future__ import annotations

from sqlalchemy import Connection, text

from sync.checks import Scope, reconciliation_check
from sync.findings import Finding

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


@reconciliation_check("beneficiaries", finds=("beneficiary_double", "beneficiary_not_consolidated"),
                      direction="across", levels=("commune", "province"), periods=("month",))
def beneficiaries(conn: Connection, scope: Scope) -> list[Finding]:
    """no citizen on two communes' lists in a month, and every commune row on the province's consolidated list"""
    findings = []
    for r in conn.execute(DOUBLE_PAYMENTS, {"period": scope.period}).mappings():
        findings.append(Finding(
            "beneficiary_double", ",".join(r["communes"]), r["month"], r["citizen_id_hash"], "commune",
            expected=1, found=len(r["communes"]), difference=len(r["communes"]) - 1,
            detail=f"citizen {r['masked']} is on the lists of communes {', '.join(r['communes'])} in {r['month']} "
                   f"({r['paid']} VND paid in all): a double payment risk"))
    for r in conn.execute(NOT_CONSOLIDATED, {"period": scope.period}).mappings():
        findings.append(Finding(
            "beneficiary_not_consolidated", r["commune_code"], r["month"], r["citizen_id_hash"], "commune",
            expected=1, found=0, difference=-1,
            detail=f"citizen {r['citizen_id_masked']} ({r['benefit_type']}) is on commune {r['commune_code']}'s "
                   f"list for {r['month']} but not on the province's consolidated list"))
    return findings
