"""Documents exchanged as edXML (văn bản liên thông), per sending and receiving agency and month.

A delivery is one (document, recipient). Times are in **working hours** (office hours of working
days, ``refdata/holidays.yaml``): from arrival (status 01 at the recipient) to acceptance (03)
and to completion (06), the earliest of each, whatever order the status messages came in; a
delivery without its 01 has no time. Never acknowledged: no status at all from the recipient.
Refusals (02, by recipients) and recalls (13, by the sender) come with their reasons. The month
is the document's promulgation month; agencies are edXML identifiers, the same on both maps.
"""
from __future__ import annotations

import pandas as pd
from sqlalchemy import Connection, text

from kpi import Figure, Settings, local, register
from refdata.working_days import calendar

DELIVERIES = text("""
SELECT d.document_id, d.organ_id AS sender_agency, d.promulgation_date, trim(r.recipient) AS receiver_agency
FROM core.official_document d
CROSS JOIN LATERAL unnest(string_to_array(d.recipients, ';')) AS r(recipient)
WHERE trim(r.recipient) <> '' AND trim(r.recipient) <> d.organ_id
""")
TRACES = text("""
SELECT t.document_id, t.recipient_organ_id, t.status_code, t.status_at, t.description
FROM core.document_trace t JOIN core.official_document d ON d.document_id = t.document_id
""")
ACKNOWLEDGING = {"01", "03", "04", "05", "06"}


@register
class Documents(Figure):
    name, title = "document", "Documents (edXML)"
    geographic = False
    dims = ("sender_agency", "receiver_agency")
    measures = {"documents": ("document_id", "nunique"), "deliveries": ("one", "sum"),
                "acknowledged": ("acknowledged", "sum"), "never_acknowledged": ("never", "sum"),
                "refusals": ("refused", "sum"), "recalls": ("recalled_id", "nunique"),
                "acceptance_hours_median": ("acceptance_hours", "median"),
                "acceptance_hours_p90": ("acceptance_hours", "p90"),
                "completion_hours_median": ("completion_hours", "median"),
                "completion_hours_p90": ("completion_hours", "p90")}
    derived = ("reasons",)

    def facts(self, conn: Connection, geo, settings: Settings) -> pd.DataFrame:
        pairs = pd.DataFrame(conn.execute(DELIVERIES).mappings().all(),
                             columns=["document_id", "sender_agency", "promulgation_date", "receiver_agency"])
        traces = pd.DataFrame(conn.execute(TRACES).mappings().all(),
                              columns=["document_id", "recipient_organ_id", "status_code", "status_at", "description"])
        traces["status_at"] = local(traces["status_at"])
        first = traces.pivot_table(index=["document_id", "recipient_organ_id"], columns="status_code",
                                   values="status_at", aggfunc="min")
        at = lambda code: first[code] if code in first.columns else pd.Series(pd.NaT, index=first.index)  # noqa: E731
        key = pd.MultiIndex.from_arrays([pairs["document_id"], pairs["receiver_agency"]])
        arrived, accepted, completed = (at(c).reindex(key).to_numpy() for c in ("01", "03", "06"))
        hours = calendar().working_hours_between
        statuses = traces.groupby(["document_id", "recipient_organ_id"])["status_code"].agg(set).reindex(key)
        ack = [isinstance(s, set) and bool(s & ACKNOWLEDGING) for s in statuses]
        refused = [isinstance(s, set) and "02" in s for s in statuses]
        recalls = traces[traces["status_code"] == "13"]
        recalled = set(zip(recalls["document_id"], recalls["recipient_organ_id"]))
        reasons = traces[traces["status_code"].isin(["02", "13"])].assign(
            reason=lambda t: t["status_code"].map({"02": "refused", "13": "recalled"}) + ": " + t["description"].fillna(""))
        self.reasons = reasons.merge(pairs[["document_id", "sender_agency"]].drop_duplicates(), on="document_id")
        self.reasons = self.reasons.assign(receiver_agency=self.reasons["recipient_organ_id"],
                                           period=[f"{d:%Y-%m}" for d in pd.to_datetime(
                                               self.reasons["document_id"].map(
                                                   pairs.drop_duplicates("document_id").set_index("document_id")
                                                   ["promulgation_date"]))])
        return pairs.assign(
            period=[f"{d:%Y-%m}" for d in pd.to_datetime(pairs["promulgation_date"])], one=1,
            acknowledged=[int(a) for a in ack], never=[int(not a) for a in ack], refused=[int(r) for r in refused],
            recalled_id=[d if (d, s) in recalled else None for d, s in zip(pairs["document_id"], pairs["sender_agency"])],
            acceptance_hours=[_hours(hours, a, b) for a, b in zip(arrived, accepted)],
            completion_hours=[_hours(hours, a, b) for a, b in zip(arrived, completed)])

    def finish(self, frame: pd.DataFrame) -> pd.DataFrame:
        def reasons_of(row) -> str | None:
            r = self.reasons[self.reasons["period"] == row["period"]]
            for dim in self.dims:
                if row[dim] != "*":
                    r = r[r[dim] == row[dim]]
            return "; ".join(sorted(set(r["reason"]))) or None

        for col in ("acceptance_hours_median", "acceptance_hours_p90", "completion_hours_median", "completion_hours_p90"):
            frame[col] = frame[col].astype(float).round(2)
        return frame.assign(reasons=[reasons_of(r) for r in frame.to_dict("records")])


def _hours(hours, start, end) -> float | None:
    if pd.isna(start) or pd.isna(end):
        return None
    return hours(pd.Timestamp(start).to_pydatetime(), pd.Timestamp(end).to_pydatetime())
