"""What the simulated one-stop (một cửa) system holds: dossiers, and the daily statistics each
unit's system reports about them (commune, district before the reform, province).

Written as JSON files in the workspace and served by ``demo.onestop_server``. The statistics
are computed from the dossiers that can load, so every difference reconciliation finds is one
planted here: a unit's system that miscounted a day. A dossier received before the reform and
completed after it is completed by the commune that took over (the crosswalk's default successor).
"""
from __future__ import annotations

import json
import random
from datetime import datetime, timedelta
from pathlib import Path

from demo.dossiers import CHANNEL, PROCEDURES, STATUS
from demo.geography import REFORM, Geography
from demo.onestop_server import statistics_records

START = datetime(2025, 5, 1, 7, 30)
DAYS = 120
DEFECTS = {  # kind -> the check that quarantines it
    "unknown_status": "code_list:status",
    "completed_before_received": "not_before:completed_at",
    "unknown_unit": "admin_unit_at_date:admin_unit_code",
}


def iso(t: datetime | None) -> str | None:
    return t.isoformat(timespec="seconds") if t else None


def _dossier(i: int, rnd: random.Random, geo: Geography) -> dict:
    received = START + timedelta(minutes=rnd.randrange(0, 60 * 24 * DAYS))
    unit = rnd.choice(geo.legacy_communes if received < REFORM else geo.bac_giang_2025)
    due = received + timedelta(days=rnd.choice([3, 5, 7, 10, 15]))
    status = rnd.choices(list(STATUS), weights=[8, 20, 4, 60, 4, 4])[0]
    completed = None
    if status == "completed":
        completed = received + timedelta(days=rnd.randint(0, 12), hours=rnd.randint(0, 8))
    return {"ma_ho_so": f"G24.{received:%y%m%d}.{i:06d}", "ma_tthc": rnd.choice(PROCEDURES),
            "co_quan_tiep_nhan": f"Bộ phận một cửa {geo.names[(unit, 'legacy' if received < REFORM else '2025')]}",
            "don_vi": {"ma_dvhc": unit}, "ngay_tiep_nhan": iso(received), "ngay_hen_tra": iso(due),
            "ngay_tra_ket_qua": iso(completed), "trang_thai": STATUS[status],
            "hinh_thuc_nop": CHANNEL[rnd.choice(["online", "offline"])],
            "ngay_cap_nhat": iso(completed or received)}


def generate(folder: Path, geo: Geography, n: int, rnd: random.Random) -> dict:
    dossiers = [_dossier(i, rnd, geo) for i in range(n)]
    per_kind = max(1, n // 150)
    victims = iter(rnd.sample(range(n), per_kind * len(DEFECTS)))
    planted: dict[str, list[str]] = {}
    for kind in DEFECTS:
        for _ in range(per_kind):
            d = dossiers[next(victims)]
            planted.setdefault(DEFECTS[kind], []).append(d["ma_ho_so"])
            if kind == "unknown_status":
                d["trang_thai"] = rnd.choice(["Hoàn thành?", "Đang chờ", "DONE"])
            elif kind == "completed_before_received":
                received = datetime.fromisoformat(d["ngay_tiep_nhan"])
                d["ngay_tra_ket_qua"] = (received - timedelta(days=rnd.randint(2, 20))).isoformat()
                d["trang_thai"] = STATUS["completed"]
            else:
                d["don_vi"] = {"ma_dvhc": "99999"}
    bad = {code for codes in planted.values() for code in codes}
    parents = {c: d for d, cs in geo.districts.items() for c in cs}
    statistics = statistics_records([d for d in dossiers if d["ma_ho_so"] not in bad], parents,
                                    successors=geo.successor)
    findings = []
    levels = {"commune": [s for s in statistics if len(s["ma_don_vi"]) == 5],
              "district": [s for s in statistics if len(s["ma_don_vi"]) == 3],
              "province": [s for s in statistics if len(s["ma_don_vi"]) == 2]}
    for level, stats in levels.items():  # one unit's system at each level miscounts a day
        s = rnd.choice(stats)
        field, metric = rnd.choice([("so_tiep_nhan", "received_count"), ("so_da_tra_ket_qua", "completed_count")])
        delta = rnd.choice([1, 2, 3]) if s[field] < 2 else rnd.choice([-1, 1, 2])
        s[field] += delta
        findings.append({"check": "dossier_statistics", "unit": s["ma_don_vi"], "period": s["ky"],
                         "subject": metric, "level": level, "difference": str(delta)})
    for name, records in (("dossiers", dossiers), ("statistics", statistics)):
        (folder / f"{name}.json").write_text(json.dumps(records, ensure_ascii=False), encoding="utf-8")
    return {"sources": {
        "demo_onestop_dossiers": {"kind": "onestop_dossiers", "read": len(dossiers),
                                  "quarantined": {k: len(v) for k, v in planted.items()}},
        "demo_onestop_statistics": {"kind": "onestop_statistics", "read": len(statistics), "quarantined": {}}},
        "defects": {"dossier": planted}, "findings": findings}
