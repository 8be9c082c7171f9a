"""Social protection (bảo trợ xã hội): the communes' monthly lists and the province's consolidated list.

Before the reform each district sends its communes' lists as one file, in whatever its office
software writes: UTF-8 with a BOM, Windows-1258, TCVN3 (ABC) from an old .VnTime tool, an xlsx
workbook, or UTF-8 with names typed on a Mac (NFD). After it, each commune sends its own. The
province's department consolidates every list of a month into one. Planted: the same person
on two communes' lists in one month, commune rows missing from the consolidated list, and rows
the hub must quarantine (citizen IDs that break the CCCD rules, an unknown benefit type).
"""
from __future__ import annotations

import csv
import io
import random
import unicodedata
from datetime import date
from pathlib import Path

import openpyxl

from adapters.vietnamese_text import cp1258_text
from demo.geography import Geography

HEADER = ["Số CCCD", "Họ và tên", "Ngày sinh", "Giới tính", "Mã xã", "Loại đối tượng", "Mức trợ cấp",
          "Ngày hưởng", "Tháng danh sách", "Cấp danh sách"]
# benefit label (as the lists write it) -> (schema code, monthly amount in VND, birth years)
BENEFITS = {"Trẻ em mồ côi": ("orphan", 720000, (2008, 2020)),
            "Người đơn thân nghèo nuôi con": ("poor_single_parent", 360000, (1975, 2000)),
            "Người cao tuổi cô đơn thuộc hộ nghèo": ("elderly_poor_alone", 540000, (1945, 1965)),
            "Người từ đủ 80 tuổi": ("elderly_80", 540000, (1930, 1945)),
            "Người khuyết tật đặc biệt nặng": ("disability_especially_severe", 720000, (1950, 2015)),
            "Người khuyết tật nặng": ("disability_severe", 540000, (1950, 2015))}
# TCVN3 has no upper-case toned letters, and old lists were typed that way: initials are plain
SURNAMES = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Vũ", "Đặng", "Bùi", "Đỗ", "Ngô", "Dương", "Lý"]
MIDDLE = {"male": ["Văn", "Hữu", "Đức", "Minh"], "female": ["Thị", "Ngọc", "Thu", "Minh"]}
GIVEN = {"male": ["An", "Bình", "Cường", "Dũng", "Hải", "Nam", "Phúc", "Quang", "Tuấn", "Sơn"],
         "female": ["Giang", "Hà", "Hương", "Lan", "Linh", "Tâm", "Thảo", "Xuân", "Yến", "Nga"]}
FORMATS = ["utf-8-sig", "cp1258", "tcvn3", "xlsx", "nfd"]
CCCD_DEFECTS = ["not_12_digits", "bad_province", "sex_digit", "birth_year"]
MONTHS = {"legacy": date(2025, 6, 1), "2025": date(2025, 9, 1)}


class People:
    """Citizens with valid, distinct CCCDs (province of birth registration 024, Bắc Giang)."""

    def __init__(self, rnd: random.Random):
        self.rnd, self.used = rnd, set()

    def person(self, label: str) -> dict:
        rnd = self.rnd
        sex = rnd.choice(["male", "female"])
        low, high = BENEFITS[label][2]
        born = date(rnd.randint(low, high), rnd.randint(1, 12), rnd.randint(1, 28))
        digit = (0 if born.year < 2000 else 2) + (sex == "female")
        while True:
            cccd = f"024{digit}{born.year % 100:02d}{rnd.randrange(10 ** 6):06d}"
            if cccd not in self.used:
                self.used.add(cccd)
                break
        name = f"{rnd.choice(SURNAMES)} {rnd.choice(MIDDLE[sex])} {rnd.choice(GIVEN[sex])}"
        return {"cccd": cccd, "name": name, "born": born, "sex": sex, "label": label,
                "start": date(rnd.randint(2018, 2024), rnd.randint(1, 12), 1)}


def spoil(p: dict, kind: str) -> dict:
    """A row whose citizen ID breaks one CCCD rule."""
    c = p["cccd"]
    wrong = {"not_12_digits": c[:11], "bad_province": "003" + c[3:],
             "sex_digit": c[:3] + str(int(c[3]) ^ 1) + c[4:],
             "birth_year": c[:4] + f"{(int(c[4:6]) + 7) % 100:02d}" + c[6:]}[kind]
    return {**p, "cccd": wrong}


def row(p: dict, commune: str, month: date, level: str) -> list:
    return [p["cccd"], p["name"], f"{p['born']:%d/%m/%Y}", "Nam" if p["sex"] == "male" else "Nữ", commune,
            p["label"], BENEFITS.get(p["label"], ("", 500000))[1], f"{p['start']:%d/%m/%Y}", f"{month:%d/%m/%Y}",
            "Xã" if level == "commune" else "Tỉnh"]


def csv_text(header: list[str], rows: list[list]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue()


def write(path: Path, rows: list[list], fmt: str) -> dict:
    """One list as its office writes it; returns the source options that read it."""
    if fmt == "xlsx":
        book = openpyxl.Workbook()
        sheet = book.active
        sheet.title = "Danh sách"
        sheet.append(HEADER)
        for r in rows:
            sheet.append(r)
        book.save(path)
        return {"format": "xlsx"}
    text = csv_text(HEADER, rows)
    if fmt == "nfd":  # typed on a Mac: every accented letter decomposed
        path.write_bytes(unicodedata.normalize("NFD", text).encode("utf-8"))
        return {"encoding": "utf-8"}
    path.write_bytes((cp1258_text(text) if fmt == "cp1258" else text).encode(fmt))
    return {"encoding": {"utf-8-sig": "utf-8"}.get(fmt, fmt)}


def generate(folder: Path, geo: Geography, *, districts: int, communes_2025: int, per_commune: int,
             rnd: random.Random) -> dict:
    people = People(rnd)
    lists: dict[str, tuple[date, list[str]]] = {}  # file stem -> (month, communes)
    for d in sorted(rnd.sample(sorted(geo.districts), districts)):
        lists[f"huyen_{d}_2025-06"] = (MONTHS["legacy"], geo.districts[d])
    for c in sorted(rnd.sample(geo.bac_giang_2025, communes_2025)):
        lists[f"xa_{c}_2025-09"] = (MONTHS["2025"], [c])
    rows: dict[str, list[list]] = {stem: [] for stem in lists}
    consolidated: list[list] = []
    findings, doubles, defects = [], [], {"cccd:citizen_id": [], "code_list:benefit_type": []}
    quarantined: dict[str, dict[str, int]] = {stem: {} for stem in lists}
    by_month: dict[date, list[tuple[str, str, dict]]] = {}
    for stem, (month, communes) in lists.items():
        low, high = (1, per_commune) if len(communes) > 1 else (2 * per_commune, 4 * per_commune)
        for c in communes:
            for _ in range(rnd.randint(low, high)):
                p = people.person(rnd.choice(list(BENEFITS)))
                rows[stem].append(row(p, c, month, "commune"))
                by_month.setdefault(month, []).append((stem, c, p))
    for month, entries in sorted(by_month.items()):
        rnd.shuffle(entries)
        picks = iter(entries)
        for _ in range(2):  # the same person registered by a second commune
            stem, c, p = next(picks)
            stem2, c2, _ = next(e for e in picks if e[1] != c)
            rows[stem2].append(row(p, c2, month, "commune"))
            pair = sorted([c, c2])
            doubles.append({"masked": p["cccd"][:3] + "*******" + p["cccd"][-2:], "communes": pair,
                            "month": f"{month:%Y-%m}"})
            findings.append({"check": "beneficiary_double", "unit": ",".join(pair), "period": f"{month:%Y-%m}",
                             "level": "commune", "difference": "1"})
            consolidated.append(row(p, c2, month, "province"))  # and the first, with the rest
        missing = [next(picks) for _ in range(2)]  # never reached the consolidated list
        for stem, c, p in missing:
            findings.append({"check": "beneficiary_not_consolidated", "unit": c, "period": f"{month:%Y-%m}",
                             "level": "commune", "difference": "-1"})
        for kind in CCCD_DEFECTS if month == MONTHS["legacy"] else CCCD_DEFECTS[:2]:
            stem, c, p = next(picks)
            bad = spoil(people.person(p["label"]), kind)
            rows[stem].append(row(bad, c, month, "commune"))
            defects["cccd:citizen_id"].append({"list": stem, "kind": kind})
            quarantined[stem]["cccd:citizen_id"] = quarantined[stem].get("cccd:citizen_id", 0) + 1
        stem, c, p = next(picks)  # a benefit no decree names
        odd = {**people.person(p["label"]), "label": "Hộ cận nghèo"}
        rows[stem].append(row(odd, c, month, "commune"))
        defects["code_list:benefit_type"].append({"list": stem})
        quarantined[stem]["code_list:benefit_type"] = quarantined[stem].get("code_list:benefit_type", 0) + 1
        skip = {(c, p["cccd"]) for _, c, p in missing}
        consolidated += [row(p, c, month, "province") for _, c, p in entries if (c, p["cccd"]) not in skip]
    sources = {}
    for i, (stem, stem_rows) in enumerate(rows.items()):
        fmt = FORMATS[i % len(FORMATS)] if stem.startswith("huyen") else "utf-8-sig"
        path = folder / f"{stem}.{'xlsx' if fmt == 'xlsx' else 'csv'}"
        options = write(path, stem_rows, fmt)
        sources[f"demo_social_{stem.replace('-', '_')}"] = {
            "kind": "social", "options": {"path": f"{folder.name}/{path.name}", **options},
            "read": len(stem_rows), "quarantined": quarantined[stem], "format": fmt}
    path = folder / "tong_hop_tinh.csv"
    write(path, consolidated, "utf-8-sig")
    sources["demo_social_consolidated"] = {"kind": "social", "options": {"path": f"{folder.name}/{path.name}",
                                                                         "encoding": "utf-8"},
                                           "read": len(consolidated), "quarantined": {}, "format": "utf-8-sig"}
    return {"sources": sources, "defects": {"social_beneficiary": defects}, "findings": findings,
            "double_registered": doubles}
