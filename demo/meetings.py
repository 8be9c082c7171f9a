"""The online meetings system (họp trực tuyến): meetings the province hosts for its districts or
communes, districts for their communes (before the reform), and which invited units' endpoints
connected.

The system exports one CSV a day (the meetings of that day); each export is a source. Seeded;
planted: a meeting that ends before it starts, and an invitation list naming a unit that did not
exist that day (a district after the reform).
"""
from __future__ import annotations

import random
from datetime import date, datetime, timedelta
from pathlib import Path

from demo.geography import PROVINCE, REFORM_DAY, Geography
from demo.social import csv_text

HEADER = ["Mã cuộc họp", "Tên cuộc họp", "Đơn vị chủ trì", "Bắt đầu", "Kết thúc", "Đơn vị được mời",
          "Điểm cầu kết nối", "Ngày xuất"]
DAYS = [date(2025, 6, 10), date(2025, 6, 24), date(2025, 9, 9), date(2025, 9, 23)]
TITLES = ["Hội nghị giao ban trực tuyến", "Triển khai chuyển đổi số", "Phòng chống thiên tai",
          "Sơ kết công tác cải cách hành chính"]


def _meetings(day: date, geo: Geography, rnd: random.Random) -> list[list[str]]:
    hosts: list[tuple[str, list[str]]] = []
    if day < REFORM_DAY:
        hosts.append((PROVINCE, sorted(geo.districts)))
        hosts.append((PROVINCE, sorted(geo.districts) + geo.legacy_communes))
        for d in rnd.sample(sorted(geo.districts), 3):
            hosts.append((d, geo.districts[d]))
    else:
        hosts.append((PROVINCE, geo.communes_2025))
        hosts.append((PROVINCE, rnd.sample(geo.communes_2025, 30)))
        for c in rnd.sample(geo.bac_giang_2025, 3):
            hosts.append((c, [c] + rnd.sample([x for x in geo.bac_giang_2025 if x != c], 4)))
    rows = []
    for k, (host, invited) in enumerate(hosts):
        start = datetime.combine(day, datetime.min.time()) + timedelta(hours=rnd.choice([8, 9, 14]))
        end = start + timedelta(minutes=rnd.choice([60, 90, 120, 180]))
        connected = [u for u in invited if u == host or rnd.random() < 0.9]
        rows.append([f"HTT-{day:%Y%m%d}-{k:02d}", rnd.choice(TITLES), host, f"{start:%d/%m/%Y %H:%M}",
                     f"{end:%d/%m/%Y %H:%M}", ";".join(invited), ";".join(connected), f"{day:%d/%m/%Y}"])
    return rows


def generate(folder: Path, geo: Geography, rnd: random.Random) -> dict:
    sources, defects = {}, {"not_before:ended_at": [], "admin_unit_list_at_date:invited_units": []}
    for n, day in enumerate(DAYS):
        rows = _meetings(day, geo, rnd)
        quarantined = {}
        if n % 2 == 0:  # the host's clerk typed the end before the start
            bad = rows[-1]
            start = datetime.strptime(bad[3], "%d/%m/%Y %H:%M")
            bad[4] = f"{start - timedelta(minutes=30):%d/%m/%Y %H:%M}"
            defects["not_before:ended_at"].append(bad[0])
            quarantined["not_before:ended_at"] = 1
        if day >= REFORM_DAY:  # an old invitation list still naming a district
            bad = rows[1]
            bad[5] += ";" + rnd.choice(sorted(geo.districts))
            defects["admin_unit_list_at_date:invited_units"].append(bad[0])
            quarantined["admin_unit_list_at_date:invited_units"] = 1
        path = folder / f"hop_truc_tuyen_{day:%Y-%m-%d}.csv"
        path.write_text(csv_text(HEADER, rows), encoding="utf-8")
        sources[f"demo_meetings_{day:%Y_%m_%d}"] = {"kind": "meetings", "options": {"path": f"{folder.name}/{path.name}"},
                                                    "read": len(rows), "quarantined": quarantined}
    return {"sources": sources, "defects": {"online_meeting": defects}}
