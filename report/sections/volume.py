"""Volume: rows read per run against the usual range of the source's last runs.

Flagged: a run outside the usual range, and a run that read nothing from a source that usually
has rows ("succeeded with 0 rows"). The same export file read again is not flagged: its
checksum says there was nothing new, which is the watermark working, not a silent source.
"""
from __future__ import annotations

from statistics import median, quantiles
from typing import Any

from report import charts
from report.figures import plain
from report.sections import Page, register


def usual_range(reads: list[int]) -> tuple[float, float] | None:
    """Tukey's fences over earlier runs that read something, never narrower than ±20 % of the median."""
    reads = [r for r in reads if r > 0]
    if len(reads) < 3:
        return None
    q1, _, q3 = quantiles(reads, n=4, method="inclusive")
    mid, spread = median(reads), 1.5 * (q3 - q1)
    return max(0.0, min(q1 - spread, 0.8 * mid)), max(q3 + spread, 1.2 * mid)


def flags(runs) -> list[str | None]:
    """Per run (oldest first), why its volume is flagged, or None."""
    out, seen_sha = [], None
    for i, run in enumerate(runs.itertuples()):
        earlier = [int(r) for r in runs["read"].iloc[max(0, i - 30):i]]
        usually = [r for r in earlier if r > 0]
        flag = None
        same_file = run.file_sha256 is not None and run.file_sha256 == seen_sha
        if run.read == 0 and usually and median(usually) > 0 and run.status != "failed" and not same_file:
            flag = (f"succeeded with 0 rows: read nothing (usually {median(usually):.0f})"
                    + (" from a changed file" if run.file_sha256 and seen_sha else ""))
        elif run.read > 0:
            bounds = usual_range(earlier)
            if bounds and not bounds[0] <= run.read <= bounds[1]:
                flag = f"read {run.read} rows, outside the usual {bounds[0]:.0f}–{bounds[1]:.0f}"
        out.append(flag)
        seen_sha = run.file_sha256 or seen_sha
    return out


class Volume:
    name, title, page = "volume", "Volume", "volume.html"

    def collect(self, fig) -> dict[str, Any]:
        sources = []
        for name in fig.source_names:
            runs = fig.runs_of(name)
            flagged = flags(runs)
            bounds = usual_range([int(r) for r in runs["read"].iloc[:-1]]) if len(runs) else None
            sources.append({
                "source": name, "usual_range": bounds,
                "runs": [{"run_id": r.run_id, "started_at": r.started_at, "status": r.status, "read": r.read,
                          "batch_id": r.batch_ids[0], "flag": f} for r, f in zip(runs.itertuples(), flagged)],
                "latest_flag": flagged[-1] if flagged else None,
            })
        sources.sort(key=lambda s: (s["latest_flag"] is None, s["source"]))
        return plain({"sources": sources, "flagged": {s["source"]: s["latest_flag"] for s in sources
                                                      if s["latest_flag"]}})

    def pages(self, data, fig):
        charts_by_source = {
            s["source"]: charts.volume([r["read"] for r in s["runs"]], s["usual_range"],
                                       [bool(r["flag"]) for r in s["runs"]], f"{s['source']}: rows read per run")
            for s in data["sources"] if s["runs"]}
        yield Page(self.page, "volume.html", {"data": data, "charts": charts_by_source}, self.title)


register(Volume())
