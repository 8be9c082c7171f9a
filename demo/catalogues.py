"""A level's own copy of a shared catalogue: the procedures a commune's one-stop system holds.

It claims the hub's first published version but has drifted: one procedure missing, one the
hub never published, one whose name was edited locally. Drift reconciliation must find exactly
these three.
"""
from __future__ import annotations

import csv
import random
from pathlib import Path

import yaml

from demo.geography import Geography
from refdata.sync import CODE_LISTS

HEADER = ["Hệ thống", "Danh mục", "Mã", "Tên", "Phiên bản"]
CATALOGUE = "procedure"


def generate(folder: Path, geo: Geography, rnd: random.Random) -> dict:
    published = yaml.safe_load(CODE_LISTS.read_text(encoding="utf-8"))[CATALOGUE]
    holder = f"motcua_xa_{rnd.choice(geo.bac_giang_2025)}"
    missing, changed = rnd.sample(sorted(published), 2)
    held = {code: label for code, label in published.items() if code != missing}
    held[changed] = f"{published[changed]} (bản cũ)"
    held["1.999999"] = "Thủ tục thí điểm của xã"
    path = folder / f"{holder}.csv"
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(HEADER)
        writer.writerows([holder, CATALOGUE, code, label, 1] for code, label in sorted(held.items()))
    period = f"{CATALOGUE} v1"
    return {"sources": {f"demo_catalogue_{holder}": {"kind": "catalogue_copy", "read": len(held), "quarantined": {},
                                                     "options": {"path": f"{folder.name}/{path.name}"}}},
            "findings": [{"check": "catalogue_drift", "unit": holder, "period": period, "subject": subject}
                         for subject in (f"missing:{missing}", f"changed:{changed}", "extra:1.999999")]}
