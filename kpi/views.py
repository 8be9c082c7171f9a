"""What a reader sees of a figure group: the unit asked for (default the province) and its
children, each figure summed over every dimension, then the unit's breakdown by each dimension
(largest first). One selection for ``hub kpi`` and the report's Operations centre page.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from kpi import ALL, Figure
from kpi.geo import Map

HEADLINE = {  # the columns shown per group, in order (the mart holds more)
    "dossier": ("to_handle", "received", "carried_over", "completed_on_time", "completed_late", "in_progress_not_due",
                "in_progress_overdue", "about_to_be_late", "late_rate", "on_time_rate", "online_rate"),
    "document": ("documents", "deliveries", "acknowledged", "never_acknowledged", "refusals", "recalls",
                 "acceptance_hours_median", "acceptance_hours_p90", "completion_hours_median", "completion_hours_p90",
                 "reasons"),
    "social": ("beneficiaries", "double_listed"),
    "reporting": ("expected", "reported", "on_time", "reported_share", "on_time_share"),
    "telemedicine": ("consultations", "held", "concluded_remotely", "concluded_share", "duration_minutes_median"),
    "meeting": ("meetings", "invited", "connected", "participation_rate"),
}
RANK_BY = {"dossier": "on_time_rate", "document": "deliveries", "social": "beneficiaries",
           "reporting": "on_time_share", "telemedicine": "consultations", "meeting": "participation_rate"}
SIZE = {"dossier": "to_handle", "document": "deliveries", "social": "beneficiaries", "reporting": "expected",
        "telemedicine": "consultations", "meeting": "invited"}


@dataclass
class Section:
    title: str
    keys: list[str]
    columns: list[str]
    rows: list[dict] = field(default_factory=list)
    more: int = 0


def sections(figure: Figure, rows: list[dict], geo: Map | None, geography: str, unit: str | None = None,
             limit: int = 12) -> list[Section]:
    """The reader's view of one group's rows for one period and map: the unit asked for, or each
    province of the map with figures, largest first."""
    shown = list(HEADLINE[figure.name])
    if not figure.geographic:
        return _breakdowns(figure, rows, shown, limit, prefix="")
    era = geography
    if unit:
        focuses = [unit]
    else:  # every province of the map with figures (legacy Bắc Giang and Bắc Ninh both fed the new 24)
        provinces = [r for r in rows if r["level"] == "province" and all(r[d] == ALL for d in figure.dims)]
        focuses = list(dict.fromkeys(r["unit_code"] for r in sorted(
            provinces, key=lambda r: (-(r[SIZE[figure.name]] or 0), r["unit_code"]))))
    plain = [r for r in rows if all(r[d] == ALL for d in figure.dims)]
    out = []
    for focus in focuses:
        children = {code for (e, code), (_, parent, _) in geo.units.items() if e == era and parent == focus}
        mine = [r for r in plain if r["unit_code"] == focus]
        theirs = sorted((r for r in plain if r["unit_code"] in children),
                        key=lambda r: (-(r[RANK_BY[figure.name]] or 0), r["unit_code"]))
        out.append(Section(f"{focus} {geo.name(era, focus)} and its units, ranked by {RANK_BY[figure.name]}",
                           ["unit_code", "name", "level"] + list(figure.fixed), shown,
                           [{**r, "name": geo.name(era, r["unit_code"])} for r in mine + theirs[:limit]],
                           max(0, len(theirs) - limit)))
        out += _breakdowns(figure, [r for r in rows if r["unit_code"] == focus], shown, limit,
                           prefix=f"{focus} {geo.name(era, focus)} ")
    return out


def _breakdowns(figure: Figure, rows: list[dict], shown: list[str], limit: int, prefix: str) -> list[Section]:
    out = []
    if not figure.dims:
        return out
    total = [r for r in rows if all(r[d] == ALL for d in figure.dims)]
    if not figure.geographic:
        out.append(Section("all agencies", list(figure.dims), shown, total))
    for dim in figure.dims:
        by = sorted((r for r in rows if r[dim] != ALL and all(r[d] == ALL for d in figure.dims if d != dim)),
                    key=lambda r: (-(r[SIZE[figure.name]] or 0), r[dim]))
        out.append(Section(f"{prefix}by {dim}", list(figure.fixed) + [dim], shown, by[:limit], max(0, len(by) - limit)))
    return out
