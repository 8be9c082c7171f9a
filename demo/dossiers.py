"""Generate the bundled demo export of the one-stop system: dossiers of Bắc Giang.

Seeded, so the file and its manifest are the same on every machine. The dossiers sit on
the real geography (legacy Bắc Giang before 2025-07-01, the 2025 communes of new Bắc Ninh
that were Bắc Giang after) and carry a known number of planted defects, written to the
manifest so tests can assert the hub's counts exactly.

    python -m demo.dossiers demo/data/dossiers.csv --rows 3000
"""
from __future__ import annotations

import argparse
import csv
import json
import random
import sqlite3
from datetime import datetime, timedelta
from pathlib import Path

HEADER = ["Mã hồ sơ", "Mã TTHC", "Cơ quan tiếp nhận", "Mã ĐVHC", "Ngày tiếp nhận",
          "Ngày hẹn trả", "Ngày trả kết quả", "Trạng thái", "Hình thức nộp"]
STATUS = {"received": "Đã tiếp nhận", "processing": "Đang xử lý", "supplement_requested": "Yêu cầu bổ sung",
          "completed": "Đã trả kết quả", "rejected": "Từ chối", "withdrawn": "Rút hồ sơ"}
CHANNEL = {"online": "Trực tuyến", "offline": "Trực tiếp"}
PROCEDURES = ["1.001612", "1.004227", "2.000908", "1.008004", "2.002165", "1.010745", "1.001776", "2.000748"]
REFORM = datetime(2025, 7, 1)
# Defect kinds and how many of each a demo file of the default size carries.
DEFECTS = {"missing_code": 0.004, "impossible_date": 0.004, "completed_before_received": 0.003,
           "future_date": 0.002, "unknown_status": 0.004, "duplicate": 0.004, "wrong_field_count": 0.001}


def bac_giang_units() -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """(code, name) of legacy Bắc Giang communes, and of 2025 communes that were Bắc Giang's."""
    import vietnamadminunits

    db = Path(vietnamadminunits.__file__).parent / "data" / "dataset.db"
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as con:
        legacy = con.execute("SELECT wardCode, ward FROM admin_units_legacy WHERE provinceCode = '24' "
                             "AND wardCode IS NOT NULL ORDER BY wardCode").fetchall()
        # 2025 communes of new Bắc Ninh whose code was a legacy Bắc Giang commune code (07xxx).
        new = con.execute("SELECT wardCode, ward FROM admin_units WHERE provinceCode = '24' "
                          "AND wardCode < '08000' ORDER BY wardCode").fetchall()
    return legacy, new


def fmt(ts: datetime | None) -> str:
    return ts.strftime("%d/%m/%Y %H:%M") if ts else ""


def generate(path: Path, rows: int = 3000, seed: int = 24) -> dict:
    rnd = random.Random(seed)
    legacy, new = bac_giang_units()
    start = datetime(2024, 1, 2, 7, 30)
    records: list[list[str]] = []
    for i in range(rows):
        received = start + timedelta(minutes=rnd.randrange(0, 60 * 24 * 640))
        code, unit_name = rnd.choice(legacy if received < REFORM else new)
        due = received + timedelta(days=rnd.choice([3, 5, 7, 10, 15, 20]))
        status = rnd.choices(list(STATUS), weights=[8, 20, 4, 60, 4, 4])[0]
        completed = None
        if status == "completed":
            completed = received + timedelta(days=rnd.randint(0, 25), hours=rnd.randint(0, 8))
            completed = min(completed, datetime(2025, 10, 31, 17, 0))
            completed = max(completed, received)
        records.append([f"G24.{received:%y%m%d}.{i:06d}", rnd.choice(PROCEDURES),
                        f"Bộ phận một cửa {unit_name}", code, fmt(received), fmt(due), fmt(completed),
                        STATUS[status], CHANNEL[rnd.choice(["online", "offline"])]])

    counts = {kind: max(1, round(share * rows)) for kind, share in DEFECTS.items()}
    victims = rnd.sample(range(rows), sum(v for k, v in counts.items() if k != "duplicate"))
    planted: dict[str, list[str]] = {k: [] for k in DEFECTS}
    it = iter(victims)
    for kind, n in counts.items():
        if kind == "duplicate":
            continue
        for _ in range(n):
            r = records[next(it)]
            planted[kind].append(r[0])
            if kind == "missing_code":
                r[0] = ""
            elif kind == "impossible_date":
                r[4] = rnd.choice(["31/02/2025 09:00", "30/13/2024 08:15", "00/05/2024 10:00"])
            elif kind == "completed_before_received":
                received = datetime.strptime(r[4], "%d/%m/%Y %H:%M")
                r[6], r[7] = fmt(received - timedelta(days=rnd.randint(2, 30))), STATUS["completed"]
                r[5] = fmt(received + timedelta(days=5))
            elif kind == "future_date":
                r[4] = "15/03/2099 08:00"
                r[5], r[6], r[7] = "20/03/2099 08:00", "", STATUS["received"]
            elif kind == "unknown_status":
                r[7] = rnd.choice(["Hoàn thành?", "Đang chờ", "DONE"])
            elif kind == "wrong_field_count":
                r.append("ghi chú thừa")
    defective = {code for codes in planted.values() for code in codes}
    clean = [i for i, r in enumerate(records) if r[0] and r[0] not in defective]
    for i in rnd.sample(clean, counts["duplicate"]):
        records.insert(rnd.randrange(i + 1, len(records) + 1), list(records[i]))
        planted["duplicate"].append(records[i][0])

    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8-sig", newline="") as fh:  # as Excel on Windows writes it
        writer = csv.writer(fh)
        writer.writerow(HEADER)
        writer.writerows(records)
    quarantined = sum(len(v) for v in planted.values())
    manifest = {"file": path.name, "seed": seed, "rows": len(records), "defects": planted,
                "defect_counts": {k: len(v) for k, v in planted.items()},
                "expected": {"read": len(records), "quarantined": quarantined,
                             "inserted": len(records) - quarantined}}
    path.with_suffix(".manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=1) + "\n",
                                                  encoding="utf-8")
    return manifest


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("path", type=Path)
    parser.add_argument("--rows", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=24)
    args = parser.parse_args()
    print(json.dumps(generate(args.path, args.rows, args.seed)["expected"]))


if __name__ == "__main__":
    main()
