"""Overview: every source ranked by its pass rate over its last runs, worst first, with its trend,
its last run and a status; above them, the worst source and the worst units with their top reason.

Pass rate = 1 − quarantined / read over the source's last 30 runs (closed batches). Status, the
first that applies: *failed* (the last run failed), *held* (it held a batch whole), *stale*
(overdue by more than one interval), *degraded* (the last run's volume or columns were flagged,
or its pass rate fell below the source's usual), else *ok*.
"""
from __future__ import annotations

from typing import Any

from report import charts
from report.figures import pct, plain
from report.sections import Page, register

SEVERITY = {"failed": 0, "held": 1, "stale": 2, "degraded": 3, "ok": 4}


def status(last: dict | None, rate: float | None, stale: bool, flags: list[str]) -> str:
    if last is not None and last["status"] in ("failed", "running"):
        return "failed"
    if last is not None and last["status"] == "held":
        return "held"
    if stale:
        return "stale"
    if flags:
        return "degraded"
    return "ok"


class Overview:
    name, title, page = "overview", "Overview", "quality_report.html"

    def collect(self, fig) -> dict[str, Any]:
        stale = set(fig.section("freshness")["stale"])
        volume, schema = fig.section("volume")["flagged"], fig.section("schema")["flagged"]
        top = {}
        for r in fig.section("quarantine")["by_source_check"]:
            if r["open"] and r["source"] not in top:
                top[r["source"]] = r
        sources = []
        for name in fig.source_names:
            runs = fig.runs_of(name)
            read, quarantined = int(runs["read"].sum()), int(runs["quarantined"].sum())
            rate = pct(read - quarantined, read)
            last = runs.iloc[-1].to_dict() if len(runs) else None
            reading = runs[runs["read"] > 0]
            flags = [f for f in (volume.get(name), schema.get(name)) if f]
            if last is not None and last["read"] and rate is not None and last["pass_rate"] is not None \
                    and len(reading) > 1 and last["pass_rate"] < rate - 5:
                flags.append(f"last run passed {last['pass_rate']:.1f}%, usually {rate:.1f}%")
            if name in stale:
                flags.insert(0, "stale: " + next(f"overdue {s['overdue_hours']} h" if s["overdue_hours"] is not None
                                                 else "never loaded" for s in fig.section("freshness")["sources"]
                                                 if s["source"] == name))
            b = fig.source_batches[fig.source_batches.source == name]
            sources.append({
                "source": name, "schema_name": last["schema_name"] if last else (
                    fig.sources[name].schema if name in fig.sources else None),
                "runs": len(runs), "batches": len(b),
                **{f"batches_{s}": int((b.status == s).sum()) for s in ("succeeded", "unchanged", "held", "failed",
                                                                          "running")},
                **{k: int(runs[k].sum()) for k in ("read", "inserted", "updated", "unchanged", "quarantined")},
                "pass_rate": rate, "trend": runs["pass_rate"].tolist(),
                "last_run": last and last["started_at"], "last_status": last and last["status"],
                "last_batch": last and last["batch_ids"][-1],
                "status": status(last, rate, name in stale, flags), "flags": flags,
                "top_reason": top.get(name) and {k: top[name][k] for k in ("check", "open", "example_reason")},
            })
        sources.sort(key=lambda s: (s["pass_rate"] if s["pass_rate"] is not None else 101,
                                    SEVERITY[s["status"]], s["source"]))
        worst = next((s for s in sources if s["pass_rate"] is not None and s["pass_rate"] < 100), None)
        return plain({"sources": sources, "worst_source": worst, "worst_units": fig.section("units")["worst"],
                      "counts": {k: sum(1 for s in sources if s["status"] == k) for k in SEVERITY},
                      "runs_kept": fig.runs_kept})

    def pages(self, data, fig):
        sparks = {s["source"]: charts.sparkline(s["trend"], f"{s['source']}: pass rate per run (%)")
                  for s in data["sources"]}
        worst = [s for s in data["sources"] if s["pass_rate"] is not None and s["pass_rate"] < 100][:6]
        trend = charts.lines({s["source"]: s["trend"] for s in worst},
                             "Pass rate per run, the sources with quarantined records", "pass rate (%)",
                             f"run (oldest → newest, last {data['runs_kept']})") if worst else None
        yield Page(self.page, "overview.html", {"data": data, "sparks": sparks, "trend": trend}, self.title)


register(Overview())
