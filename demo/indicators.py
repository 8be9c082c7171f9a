"""Periodic indicator reports (báo cáo chỉ tiêu) from communes, districts and the province.

One CSV per level, as each level's statistics office sends it. Before the reform districts
report the sums of their communes and the province the sum of its districts; after it the
province reports the sum of its 99 communes. Planted, on each side of the reform: a parent
whose figure disagrees with its children, a child that never reported, and rows the hub must
quarantine (a district still reporting after districts were abolished, a malformed period); and
a district's rounding within the indicator's tolerance, which is not a finding on either map.
"""
from __future__ import annotations

import calendar
import csv
import random
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

from demo.geography import PROVINCE, Geography
from refdata.working_days import calendar as working_calendar

HEADER = ["Mã chỉ tiêu", "Loại kỳ", "Kỳ báo cáo", "Ngày cuối kỳ", "Mã đơn vị", "Giá trị", "Đơn vị tính", "Ngày gửi"]
# indicator -> (range of a commune's value, decimals, unit of measure); POOR_RATE is not additive
INDICATORS = {"POP_TOTAL": ((4000, 30000), 0, "người"), "HH_POOR": ((10, 400), 0, "hộ"),
              "BIRTHS": ((5, 60), 0, "trẻ"), "RICE_OUTPUT": ((50, 900), 1, "tấn"),
              "POOR_RATE": ((1, 9), 1, "%")}
REFORM_MONTH = "2025-07"


def period_end(period: str) -> date:
    year, month = int(period[:4]), int(period[5:7])
    return date(year, month, calendar.monthrange(year, month)[1])


def _value(rnd: random.Random, indicator: str) -> Decimal:
    (low, high), decimals, _ = INDICATORS[indicator]
    return Decimal(rnd.randint(low * 10 ** decimals, high * 10 ** decimals)).scaleb(-decimals)


def generate(folder: Path, geo: Geography, periods: list[str], rnd: random.Random) -> dict:
    rows = {"commune": [], "district": [], "province": []}
    findings, findings_2025, tolerated, defects = [], [], [], {"pattern:period": [], "admin_unit_at_date:reporting_unit_code": []}
    for period in periods:
        end = period_end(period)
        legacy = period < REFORM_MONTH
        values: dict[str, dict[str, Decimal]] = {}
        for ind in INDICATORS:
            v = values[ind] = {}
            communes = geo.legacy_communes if legacy else geo.communes_2025
            for c in communes:
                v[c] = _value(rnd, ind)
            if legacy:
                for d, cs in geo.districts.items():
                    v[d] = sum(v[c] for c in cs) if ind != "POOR_RATE" else _value(rnd, ind)
                v[PROVINCE] = sum(v[d] for d in geo.districts) if ind != "POOR_RATE" else _value(rnd, ind)
            else:
                v[PROVINCE] = sum(v[c] for c in communes) if ind != "POOR_RATE" else _value(rnd, ind)
        # a parent that disagrees with its children, and a child that never reported, on
        # different indicators: a missing child makes its parent's sum unreadable, not wrong
        wrong_ind, missing_ind = rnd.sample(["POP_TOTAL", "HH_POOR", "BIRTHS"], 2)
        delta = Decimal(rnd.choice([-1, 1]) * rnd.randint(1, 40))
        if legacy:
            wrong_district, missing_district = rnd.sample(sorted(geo.districts), 2)
            values[wrong_ind][wrong_district] += delta       # the province adds up what it was told
            values[wrong_ind][PROVINCE] += delta
            findings.append(_finding("indicator_sum", wrong_district, period, wrong_ind, "district", delta))
            rounded = rnd.choice(sorted(geo.districts))  # a district's rounding, within the catalogue's tolerance
            values["RICE_OUTPUT"][rounded] += Decimal("0.3")
            values["RICE_OUTPUT"][PROVINCE] += Decimal("0.3")
            tolerated.append(_finding("indicator_sum", rounded, period, "RICE_OUTPUT", "district", Decimal("0.3")))
            missing = rnd.choice(geo.districts[missing_district])
            findings_2025.append(_finding("indicator_sum_2025", PROVINCE, period, wrong_ind, "province", delta))
            findings_2025.append(_finding("indicator_sum_2025", PROVINCE, period, missing_ind, "province",
                                          values[missing_ind][missing]))
        else:
            values[wrong_ind][PROVINCE] += delta
            findings.append(_finding("indicator_sum", PROVINCE, period, wrong_ind, "province", delta))
            missing = rnd.choice(geo.communes_2025)
        del values[missing_ind][missing]
        findings.append(_finding("indicator_missing_report", missing, period, missing_ind, "commune", None))
        for ind, v in values.items():
            for unit, value in v.items():
                level = "province" if unit == PROVINCE else "district" if len(unit) == 3 else "commune"
                rows[level].append([ind, "Tháng", period, f"{end:%d/%m/%Y}", unit, str(value), INDICATORS[ind][2]])
        if not legacy:  # a district still reporting after districts were abolished
            district = rnd.choice(sorted(geo.districts))
            rows["district"].append(["POP_TOTAL", "Tháng", period, f"{end:%d/%m/%Y}", district, "125000", "người"])
            defects["admin_unit_at_date:reporting_unit_code"].append(f"{district}/{period}")
    sent: dict[tuple[str, str], str] = {}  # (unit, period) -> the day its report was sent: most within
    for level_rows in rows.values():        # 5 working days of the period's end, some late
        for r in level_rows:
            if (r[4], r[2]) not in sent:
                end = datetime.strptime(r[3], "%d/%m/%Y").date()
                days = rnd.choice([1, 2, 3, 4, 5]) if rnd.random() < 0.85 else rnd.randint(6, 15)
                sent[(r[4], r[2])] = f"{working_calendar().add_working_days(end, days):%d/%m/%Y}"
            r.append(sent[(r[4], r[2])])
    bad = rows["commune"][rnd.randrange(len(rows["commune"]))]  # a period typed as 2025-13
    rows["commune"].append([bad[0], "Tháng", f"{bad[2][:4]}-13", bad[3], bad[4], bad[5], bad[6], bad[7]])
    defects["pattern:period"].append(f"{bad[4]}/{bad[2][:4]}-13")
    quarantined = {"commune": {"pattern:period": 1}, "district": {"admin_unit_at_date:reporting_unit_code":
                   len(defects["admin_unit_at_date:reporting_unit_code"])}, "province": {}}
    sources = {}
    for level, level_rows in rows.items():
        rnd.shuffle(level_rows)
        path = folder / f"chi_tieu_{level}.csv"
        with path.open("w", encoding="utf-8", newline="") as fh:
            writer = csv.writer(fh)
            writer.writerow(HEADER)
            writer.writerows(level_rows)
        sources[f"demo_indicators_{level}"] = {"kind": "indicators", "options": {"path": f"{folder.name}/{path.name}"},
                                               "read": len(level_rows), "quarantined": quarantined[level]}
    return {"sources": sources, "defects": {"indicator_report": defects},
            "findings": findings, "findings_2025": findings_2025, "within_tolerance": tolerated}


def _finding(check, unit, period, subject, level, difference) -> dict:
    return {"check": check, "unit": unit, "period": period, "subject": subject, "level": level,
            "difference": None if difference is None else str(difference)}
