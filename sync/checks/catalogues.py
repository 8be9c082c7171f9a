"""Downward: every level holds the hub's version of the shared catalogues.

What a level's system holds (extracted by an adapter into ``core.catalogue_entry``) is compared
with the published version it claims (``sync.publish``).
"""
from __future__ import annotations

from sqlalchemy import Connection, text

from sync.checks import LEVELS, Scope, reconciliation_check
from sync.findings import Finding
from sync.publish import PublishError, snapshot

HOLDINGS = text("""
SELECT holder, catalogue, claimed_version, code, label FROM core.catalogue_entry ORDER BY holder, catalogue, code
""")


@reconciliation_check("catalogues", finds=("catalogue_drift",), direction="downward", levels=LEVELS, periods=())
def drift(conn: Connection, scope: Scope | None = None) -> list[Finding]:
    """each level's copy of a catalogue against the version it claims (missing, extra and changed entries)"""
    copies: dict[tuple[str, str, int], dict[str, str | None]] = {}
    for r in conn.execute(HOLDINGS).mappings():
        copies.setdefault((r["holder"], r["catalogue"], r["claimed_version"]), {})[r["code"]] = r["label"]
    findings = []
    for (holder, name, version), held in copies.items():
        try:
            hub = snapshot(conn, name, version)["entries"]
        except PublishError as exc:
            findings.append(Finding("catalogue_drift", holder, f"{name} v{version}", "version", None,
                                    detail=f"{holder} claims {name} version {version}: {exc}"))
            continue
        hub_labels = {e["code"]: e.get("label", e.get("name")) for e in hub.values()}
        for code in sorted(set(hub_labels) - set(held)):
            findings.append(Finding("catalogue_drift", holder, f"{name} v{version}", f"missing:{code}", None,
                                    detail=f"{holder} lacks {name} entry {code} ({hub_labels[code]})"))
        for code in sorted(set(held) - set(hub_labels)):
            findings.append(Finding("catalogue_drift", holder, f"{name} v{version}", f"extra:{code}", None,
                                    detail=f"{holder} holds {name} entry {code}, which version {version} lacks"))
        for code in sorted(set(held) & set(hub_labels)):
            if held[code] != hub_labels[code]:
                findings.append(Finding("catalogue_drift", holder, f"{name} v{version}", f"changed:{code}", None,
                                        detail=f"{holder} has {name} {code} as {held[code]!r}; "
                                               f"version {version} says {hub_labels[code]!r}"))
    return findings
