"""Business registration (đăng ký doanh nghiệp): the department's own SQLite register.

Tax codes carry python-stdnum's check digit; planted are codes with a wrong check digit and
codes that are not 10 digits, which the hub must quarantine.
"""
from __future__ import annotations

import random
import sqlite3
from datetime import datetime, timedelta
from pathlib import Path

from stdnum.vn import mst

from demo.geography import REFORM, Geography

STATUS = {"Đang hoạt động": 20, "Tạm ngừng kinh doanh": 2, "Đã giải thể": 1}
KINDS = ["Công ty TNHH", "Công ty cổ phần", "Hợp tác xã", "Doanh nghiệp tư nhân"]
TRADES = [("Nông sản", "0121"), ("Vải thiều", "0121"), ("Xây dựng", "4100"), ("May mặc", "1410"),
          ("Vận tải", "4933"), ("Điện tử", "2610"), ("Thương mại", "4690")]
TABLE = """CREATE TABLE dang_ky_doanh_nghiep (id INTEGER PRIMARY KEY, ma_so_thue TEXT, ten_doanh_nghiep TEXT,
    ngay_cap TEXT, tinh_trang TEXT, ma_xa TEXT, dia_chi TEXT, nganh_nghe TEXT, cap_nhat_luc TEXT)"""


def tax_code(rnd: random.Random, used: set[str]) -> str:
    while True:
        base = f"24{rnd.randrange(10 ** 7):07d}"
        code = base + mst.calc_check_digit(base)
        if mst.is_valid(code) and code not in used:
            used.add(code)
            return code


def generate(folder: Path, geo: Geography, n: int, rnd: random.Random) -> dict:
    used: set[str] = set()
    rows, planted = [], {"tax_code:tax_code": []}
    start = datetime(2024, 6, 1, 8)
    for i in range(1, n + 1):
        updated = start + timedelta(minutes=rnd.randrange(60 * 24 * 480))
        unit = rnd.choice(geo.legacy_communes if updated < REFORM else geo.bac_giang_2025)
        kind, (trade, vsic) = rnd.choice(KINDS), rnd.choice(TRADES)
        rows.append([i, tax_code(rnd, used), f"{kind} {trade} Bắc Giang {i}",
                     f"{rnd.randint(2005, 2023)}-{rnd.randint(1, 12):02d}-{rnd.randint(1, 28):02d}",
                     rnd.choices(list(STATUS), weights=list(STATUS.values()))[0], unit,
                     f"Số {rnd.randint(1, 300)}, {geo.names[(unit, 'legacy' if updated < REFORM else '2025')]}",
                     vsic, updated.strftime("%Y-%m-%d %H:%M:%S")])
    for r, kind in zip(rnd.sample(rows, 2 * max(1, n // 100)), ["check_digit", "length"] * n):
        code = r[1]
        r[1] = code[:9] + str((int(code[9]) + rnd.randint(1, 9)) % 10) if kind == "check_digit" else code[:8]
        if mst.is_valid(r[1]):  # a changed digit that happens to check out is not a defect
            r[1] = code[:8]
        planted["tax_code:tax_code"].append(r[1])
    path = folder / "dkkd.sqlite"
    path.unlink(missing_ok=True)
    with sqlite3.connect(path) as con:
        con.execute(TABLE)
        con.executemany("INSERT INTO dang_ky_doanh_nghiep VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
    con.close()
    return {"sources": {"demo_dkkd_enterprises": {
        "kind": "enterprises", "options": {"url": f"sqlite:///{path.resolve()}"}, "read": n,
        "quarantined": {"tax_code:tax_code": len(planted["tax_code:tax_code"])}}},
        "defects": {"enterprise": planted}}
