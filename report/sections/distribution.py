"""Distribution: per field, the null rate and the number of distinct values per run, against the
source's earlier runs; the fields that moved most come first.

A run's figures are its batches' profiles (``audit.batch.profile``): nulls and rows summed, the
distinct count the largest any batch had (distinct values can't be added across batches).
"""
from __future__ import annotations

from typing import Any

from report import charts
from report.figures import plain
from report.sections import Page, register


def per_run(fig, source: str) -> list[dict[str, dict[str, float]]]:
    b = fig.source_batches
    b = b[(b.source == source) & b.profile.notna()]
    runs = []
    for _, g in b.groupby("run_id", sort=False):
        fields: dict[str, dict[str, float]] = {}
        for profile in g.profile:
            for name, p in profile.items():
                f = fields.setdefault(name, {"rows": 0, "nulls": 0, "distinct": 0})
                f["rows"] += p["rows"]
                f["nulls"] += p["nulls"]
                f["distinct"] = max(f["distinct"], p["distinct"])
        runs.append(fields)
    return runs


def movement(runs: list[dict[str, dict[str, float]]]) -> list[dict[str, Any]]:
    """The latest run's fields against the mean of the earlier runs, most moved first."""
    if not runs:
        return []
    latest, earlier = runs[-1], runs[:-1]
    out = []
    for name, f in latest.items():
        rate = 100.0 * f["nulls"] / f["rows"] if f["rows"] else 0.0
        before = [100.0 * e[name]["nulls"] / e[name]["rows"] for e in earlier if name in e and e[name]["rows"]]
        distinct_before = [e[name]["distinct"] for e in earlier if name in e]
        mean_rate = sum(before) / len(before) if before else None
        mean_distinct = sum(distinct_before) / len(distinct_before) if distinct_before else None
        moved = 0.0
        if mean_rate is not None:
            moved += abs(rate - mean_rate)
        if mean_distinct:
            moved += 100.0 * abs(f["distinct"] - mean_distinct) / max(mean_distinct, f["distinct"], 1)
        out.append({"field": name, "null_rate": round(rate, 2), "distinct": f["distinct"],
                    "null_rate_before": None if mean_rate is None else round(mean_rate, 2),
                    "distinct_before": None if mean_distinct is None else round(mean_distinct, 1),
                    "history": [round(100.0 * e[name]["nulls"] / e[name]["rows"], 2) if name in e and e[name]["rows"]
                                else None for e in runs],
                    "moved": round(moved, 2)})
    out.sort(key=lambda f: (-f["moved"], f["field"]))
    return out


class Distribution:
    name, title, page = "distribution", "Distribution", "distribution.html"

    def collect(self, fig) -> dict[str, Any]:
        sources = []
        for name in fig.source_names:
            runs = per_run(fig, name)
            fields = movement(runs)
            sources.append({"source": name, "runs": len(runs), "fields": fields,
                            "moved_most": [f["field"] for f in fields if f["moved"] >= 1][:3]})
        return plain({"sources": sources})

    def pages(self, data, fig):
        drawn = {s["source"]: charts.bars([f["field"] for f in s["fields"]], [f["null_rate"] for f in s["fields"]],
                                          f"{s['source']}: share of empty values per field, latest run",
                                          "null rate (% of rows read)", [f["field"] in s["moved_most"]
                                                                         for f in s["fields"]])
                 for s in data["sources"] if s["fields"]}
        yield Page(self.page, "distribution.html", {"data": data, "charts": drawn}, self.title)


register(Distribution())
