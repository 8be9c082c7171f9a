"""The operations centre's figures (issue 15): each figure of ``mart.kpi_*`` on the demo equals the
same figure computed here, independently, from the generator's own records (the files and JSON
it wrote, less what its manifest says was planted to be quarantined), for June 2025 on the legacy
and the 2025 maps and September 2025 on the 2025 map; ``hub kpi`` prints the six groups.
"""
from __future__ import annotations

import csv
import json
import statistics
from collections import defaultdict
from datetime import date, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from lxml import etree
from sqlalchemy import text
from typer.testing import CliRunner

from conftest import fresh_database
from demo.geography import PROVINCE, bac_giang
from demo.run import run_demo
from hub.cli import app
from kpi import read
from refdata.working_days import calendar

CASES = [("2025-06", "legacy"), ("2025-06", "2025"), ("2025-09", "2025")]
REFORM = datetime(2025, 7, 1)


@pytest.fixture(scope="module")
def demo(template_url, tmp_path_factory):
    home = tmp_path_factory.mktemp("home")
    with fresh_database(template_url) as (engine, url):
        env = pytest.MonkeyPatch()
        env.setenv("HUB_WAREHOUSE_URL", url)
        env.setenv("HUB_HOME", str(home))
        try:
            result = run_demo(engine, folder=home / "demo")
            yield SimpleNamespace(engine=engine, result=result, folder=home / "demo", manifest=result.manifest,
                                  geo=bac_giang(), home=home)
        finally:
            env.undo()


# ------------------------------------------------------------------ the maps, as the generator knows them

def ancestry(geo, code: str, geography: str, recorded: str) -> list[str]:
    """The unit a fact recorded at ``code`` counts at on ``geography``'s map, and its ancestors."""
    if recorded == "legacy" and geography == "2025":
        if len(code) == 3:
            return [PROVINCE]
        code = geo.successor[code] if len(code) == 5 else code
    if len(code) == 2:
        return [PROVINCE]
    if geography == "legacy":
        return [code, geo.district_of(code), PROVINCE] if len(code) == 5 else [code, PROVINCE]
    return [code, PROVINCE]


def mart(engine, name: str, period: str, geography: str, **fixed) -> dict[str, dict]:
    rows = [r for r in read(engine, name, period=period, geography=geography)
            if all(r[k] == v for k, v in fixed.items())]
    return {r["unit_code"]: r for r in rows}


def expect_units(found: dict[str, dict], expected: dict[str, dict]) -> None:
    assert set(found) == set(expected)
    for unit, figures in expected.items():
        for key, value in figures.items():
            got = found[unit][key]
            if value is None or got is None:
                assert got is None and value is None, (unit, key, got, value)
            elif isinstance(value, float):
                assert float(got) == pytest.approx(value, abs=0.005 + 1e-9), (unit, key, got, value)
            else:
                assert got == value, (unit, key, got, value)


def pct(a: float, b: float) -> float | None:
    """Unrounded: the mart keeps two decimals, compared within half of the last one."""
    return None if not b else 100 * a / b


def month(period: str) -> tuple[datetime, datetime, date]:
    start = datetime.strptime(period, "%Y-%m")
    after = (start + timedelta(days=32)).replace(day=1)
    return start, after, (after - timedelta(days=1)).date()


# ------------------------------------------------------------------ 1. one-stop dossiers

STATUS = {"Đã tiếp nhận": "received", "Đang xử lý": "processing", "Yêu cầu bổ sung": "supplement_requested",
          "Đã trả kết quả": "completed", "Từ chối": "rejected", "Rút hồ sơ": "withdrawn"}


def dossier_figures(folder: Path, manifest: dict, geo, period: str, geography: str, due_within: int) -> dict:
    bad = {c for codes in manifest["defects"]["dossier"].values() for c in codes}
    records = json.loads((folder / "mot_cua" / "dossiers.json").read_text(encoding="utf-8"))
    start, after, last = month(period)
    horizon = datetime.combine(calendar().add_working_days(last, due_within), datetime.min.time()) + timedelta(days=1)
    out: dict[str, dict] = defaultdict(lambda: defaultdict(int))
    for d in records:
        if d["ma_ho_so"] in bad or STATUS[d["trang_thai"]] in ("rejected", "withdrawn"):
            continue
        received = datetime.fromisoformat(d["ngay_tiep_nhan"])
        due = datetime.fromisoformat(d["ngay_hen_tra"]) if d["ngay_hen_tra"] else None
        completed = datetime.fromisoformat(d["ngay_tra_ket_qua"]) if d["ngay_tra_ket_qua"] else None
        new = start <= received < after
        carried = received < start and (completed is None or completed >= start)
        if not (new or carried):
            continue
        recorded = "legacy" if received < REFORM else "2025"
        for unit in ancestry(geo, d["don_vi"]["ma_dvhc"], geography, recorded):
            f = out[unit]
            f["to_handle"] += 1
            f["received"] += new
            f["carried_over"] += carried
            f["received_online"] += new and d["hinh_thuc_nop"] == "Trực tuyến"
            if completed is not None and completed < after:
                f["completed_on_time" if due is None or completed <= due else "completed_late"] += 1
            elif due is not None and due < after:
                f["in_progress_overdue"] += 1
            else:
                f["in_progress_not_due"] += 1
                f["about_to_be_late"] += due is not None and due < horizon
    for f in out.values():
        late = pct(f["in_progress_overdue"] + f["completed_late"], f["to_handle"])
        f["late_rate"], f["on_time_rate"] = late, 100 - late
        if f["received"]:
            f["online_rate"] = pct(f["received_online"], f["received"])
    return out


@pytest.mark.parametrize("period,geography", CASES)
def test_one_stop_figures_equal_the_generators_dossiers(demo, period, geography):
    expected = dossier_figures(demo.folder, demo.manifest, demo.geo, period, geography, due_within=3)
    found = mart(demo.engine, "dossier", period, geography, receiving_agency="*", procedure_code="*")
    expect_units(found, expected)
    assert expected[PROVINCE]["carried_over"] > 0
    if period == "2025-06":  # dossiers are received May to August: some due just after June's end
        assert expected[PROVINCE]["about_to_be_late"] > 0 and expected[PROVINCE]["in_progress_overdue"] > 0


def test_dossiers_that_cross_the_reform_count_at_the_commune_that_took_over(demo):
    """Received in June, still open in September: on the 2025 map at the legacy commune's successor."""
    records = json.loads((demo.folder / "mot_cua" / "dossiers.json").read_text(encoding="utf-8"))
    crossing = [d for d in records if d["ngay_tiep_nhan"] < "2025-07" and
                (not d["ngay_tra_ket_qua"] or d["ngay_tra_ket_qua"] >= "2025-09")
                and STATUS.get(d["trang_thai"]) not in ("rejected", "withdrawn", None)
                and d["ma_ho_so"] not in {c for cs in demo.manifest["defects"]["dossier"].values() for c in cs}]
    assert crossing
    september = mart(demo.engine, "dossier", "2025-09", "2025", receiving_agency="*", procedure_code="*")
    for d in crossing:
        assert demo.geo.successor[d["don_vi"]["ma_dvhc"]] in september
    # the legacy map has no September: the month is recorded on the 2025 map only
    assert not read(demo.engine, "dossier", period="2025-09", geography="legacy")


# ------------------------------------------------------------------ 2. documents

NS = {"e": "http://www.mic.gov.vn/TBT/QCVN_102_2016"}


def edxml_records(folder: Path, manifest: dict):
    """Documents and statuses read from the drop folder with lxml, skipping what was planted to fail."""
    planted = {d for ids in manifest["defects"]["official_document"].values() for d in ids}
    docs, statuses = {}, []
    for path in sorted((folder / "edxml").glob("*.edxml")):
        try:
            root = etree.parse(str(path), etree.XMLParser(resolve_entities=False, no_network=True)).getroot()
        except etree.XMLSyntaxError:
            continue
        header = root.find("e:edXMLEnvelope/e:edXMLHeader/e:MessageHeader", NS)
        sender = header.findtext("e:From/e:OrganId", namespaces=NS)
        if header.find("e:StatusCode", NS) is not None:
            if sender != "vxp.saas.03":
                statuses.append((header.findtext("e:ResponseFor/e:DocumentId", namespaces=NS), sender,
                                 header.findtext("e:StatusCode", namespaces=NS),
                                 datetime.strptime(header.findtext("e:Timestamp", namespaces=NS), "%Y/%m/%d %H:%M:%S"),
                                 header.findtext("e:Description", namespaces=NS)))
            continue
        doc_id = header.findtext("e:DocumentId", namespaces=NS)
        if doc_id in planted:
            continue
        recipients = [o.text for o in header.findall("e:To/e:OrganId", NS) if o.text != "null"]
        date_ = datetime.strptime(header.findtext("e:PromulgationInfo/e:PromulgationDate", namespaces=NS), "%Y/%m/%d")
        docs[doc_id] = (sender, recipients, date_)
    return docs, statuses


def document_figures(docs, statuses, period: str) -> dict:
    hours = calendar().working_hours_between
    first: dict[tuple, dict[str, datetime]] = defaultdict(dict)
    seen: dict[tuple, set] = defaultdict(set)
    for doc_id, organ, code, at, _ in statuses:
        seen[(doc_id, organ)].add(code)
        if code not in first[(doc_id, organ)] or at < first[(doc_id, organ)][code]:
            first[(doc_id, organ)][code] = at
    out: dict[str, dict] = {}
    deliveries = [(doc_id, sender, r) for doc_id, (sender, rs, d) in docs.items() if f"{d:%Y-%m}" == period
                  for r in rs if r != sender]
    for receiver in {"*"} | {r for _, _, r in deliveries}:
        mine = [x for x in deliveries if receiver in ("*", x[2])]
        times = {"01": [], "accept": [], "finish": []}
        for doc_id, _, r in mine:
            f = first[(doc_id, r)]
            if "01" in f and "03" in f:
                times["accept"].append(hours(f["01"], f["03"]))
            if "01" in f and "06" in f:
                times["finish"].append(hours(f["01"], f["06"]))
        acked = sum(1 for doc_id, _, r in mine if seen[(doc_id, r)] & {"01", "03", "04", "05", "06"})
        out[receiver] = {
            "documents": len({d for d, _, _ in mine}), "deliveries": len(mine), "acknowledged": acked,
            "never_acknowledged": len(mine) - acked,
            "refusals": sum(1 for doc_id, _, r in mine if "02" in seen[(doc_id, r)]),
            "recalls": len({d for d, s, _ in mine if "13" in seen[(d, s)]}),
            "acceptance_hours_median": statistics.median(times["accept"]) if times["accept"] else None,
            "acceptance_hours_p90": float(np.quantile(times["accept"], 0.9)) if times["accept"] else None,
            "completion_hours_median": statistics.median(times["finish"]) if times["finish"] else None}
    return out


@pytest.mark.parametrize("period", ["2025-06", "2025-09"])
def test_document_figures_equal_the_drop_folders_messages(demo, period):
    docs, statuses = edxml_records(demo.folder, demo.manifest)
    expected = document_figures(docs, statuses, period)
    rows = {r["receiver_agency"]: r for r in read(demo.engine, "document", period=period)
            if r["sender_agency"] == "*"}
    assert set(rows) == set(expected)
    for receiver, figures in expected.items():
        for key, value in figures.items():
            got = rows[receiver][key]
            # the mart keeps two decimals: equal within half of the last one
            assert (got is None and value is None) or float(got) == pytest.approx(value, abs=0.005 + 1e-9), \
                (receiver, key, got, value)


def test_statuses_out_of_order_refusals_and_recalls_are_in_the_figures(demo):
    planted = demo.manifest["documents"]
    assert planted["out_of_order"] and planted["refused"] and planted["recalled"]
    _, statuses = edxml_records(demo.folder, demo.manifest)  # in the order the folder is read
    for case in planted["out_of_order"]:  # the arrival (01) comes after the later statuses ...
        codes = [code for d, organ, code, _, _ in statuses if (d, organ) == (case["document_id"], case["recipient"])]
        assert codes[0] != "01" and "01" in codes
        # ... and the time from arrival is still measured from it
        (row,) = [r for r in read(demo.engine, "document") if r["sender_agency"] == "*"
                  and r["receiver_agency"] == case["recipient"] and r["period"] == case["document_id"].split(",")[1][:7]
                  .replace("/", "-")]
        assert row["acceptance_hours_median"] is not None or row["refusals"]
    everything = [r for r in read(demo.engine, "document") if r["sender_agency"] == "*" and r["receiver_agency"] == "*"]
    assert sum(r["refusals"] for r in everything) == len(planted["refused"])
    assert sum(r["recalls"] for r in everything) == len(planted["recalled"])
    reasons = " ".join(r["reasons"] or "" for r in everything)
    assert "refused: Từ chối tiếp nhận" in reasons and "recalled: Lấy lại văn bản" in reasons


# ------------------------------------------------------------------ 3. social protection

def social_figures(engine, geo, period: str, geography: str) -> dict:
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT citizen_id_hash, commune_code FROM core.social_beneficiary "
                                 "WHERE list_level = 'commune' AND to_char(list_month, 'YYYY-MM') = :p"),
                            {"p": period}).all()
    recorded = "legacy" if period < "2025-07" else "2025"
    communes_of: dict[str, set] = defaultdict(set)
    placed = []
    for person, commune in rows:
        units = ancestry(geo, commune, geography, recorded)
        communes_of[person].add(units[0])
        placed += [(person, u) for u in units]
    double = {p for p, cs in communes_of.items() if len(cs) > 1}
    out: dict[str, dict] = defaultdict(lambda: {"people": set(), "double": set()})
    for person, unit in placed:
        out[unit]["people"].add(person)
        if person in double:
            out[unit]["double"].add(person)
    return {u: {"beneficiaries": len(f["people"]), "double_listed": len(f["double"])} for u, f in out.items()}


@pytest.mark.parametrize("period,geography", CASES)
def test_social_protection_figures(demo, period, geography):
    expected = social_figures(demo.engine, demo.geo, period, geography)
    expect_units(mart(demo.engine, "social", period, geography, benefit_type="*"), expected)
    if geography == "legacy" or period > "2025-07":  # each double registration the generator planted
        planted = [d for d in demo.manifest["double_registered"] if d["month"] == period]
        assert expected[PROVINCE]["double_listed"] == len(planted)


# ------------------------------------------------------------------ 4. reporting discipline

def reporting_figures(folder: Path, period: str, geography: str, due_days: int) -> dict:
    """Every unit of the map is expected (legacy Bắc Ninh's too: the province served is the new 24)."""
    from refdata.admin_units import crosswalk, units

    tree = {(u.era, u.code): (u.level, u.parent_code) for u in units([PROVINCE])
            if u.level in ("province", "district", "commune")}
    successor = {lk.legacy_code: lk.new_code for lk in crosswalk([PROVINCE]) if lk.is_default}

    def chain(era: str, code: str) -> list[str]:
        out = []
        while (era, code) in tree:
            out.append(code)
            code = tree[(era, code)][1]
        return out

    sent: dict[str, date] = {}
    for level in ("commune", "district", "province"):
        with (folder / "chi_tieu" / f"chi_tieu_{level}.csv").open(encoding="utf-8") as fh:
            for r in csv.DictReader(fh):
                if r["Kỳ báo cáo"] != period or (period >= "2025-07" and len(r["Mã đơn vị"]) == 3):
                    continue  # the planted district after the reform is quarantined
                day = datetime.strptime(r["Ngày gửi"], "%d/%m/%Y").date()
                sent[r["Mã đơn vị"]] = min(day, sent.get(r["Mã đơn vị"], day))
    _, _, last = month(period)
    deadline = calendar().add_working_days(last, due_days)
    era = "legacy" if period < "2025-07" else "2025"
    facts = {code: (code in sent, code in sent and sent[code] <= deadline) for (e, code) in tree if e == era}
    if era == "legacy" and geography == "2025":  # a successor reported when all it took over did
        merged: dict[str, list] = defaultdict(list)
        for code, f in facts.items():
            if tree[("legacy", code)][0] != "district":
                merged[successor[code]].append(f)
        facts = {code: (all(a for a, _ in fs), all(b for _, b in fs)) for code, fs in merged.items()}
    out: dict[tuple, dict] = defaultdict(lambda: {"expected": 0, "reported": 0, "on_time": 0})
    for code, (reported, on_time) in facts.items():
        for a in chain(geography, code):
            f = out[(a, tree[(geography, code)][0])]
            f["expected"] += 1
            f["reported"] += reported
            f["on_time"] += on_time
    return out


@pytest.mark.parametrize("period,geography", CASES)
def test_reporting_discipline(demo, period, geography):
    expected = reporting_figures(demo.folder, period, geography, due_days=5)
    found = {(r["unit_code"], r["unit_level"]): r for r in read(demo.engine, "reporting", period=period,
                                                                 geography=geography)}
    assert set(found) == set(expected)
    for key, figures in expected.items():
        assert {k: found[key][k] for k in figures} == figures, key
    province = expected[(PROVINCE, "commune")]
    assert 0 < province["on_time"] < province["reported"]  # some late reporters were planted
    assert float(found[(PROVINCE, "commune")]["on_time_share"]) == pytest.approx(
        100 * province["on_time"] / province["expected"], abs=0.005 + 1e-9)


# ------------------------------------------------------------------ 5. telemedicine

OUTCOMES = {"Kết luận từ xa": "concluded_remotely", "Chuyển tuyến": "transferred", "Hội chẩn lại": "follow_up",
            "Hủy": "cancelled"}


def telemedicine_figures(folder: Path, manifest: dict, geo, period: str, geography: str) -> dict:
    bad = {i for ids in manifest["defects"]["teleconsultation"].values() for i in ids}
    out: dict[str, dict] = defaultdict(lambda: {"consultations": 0, "held": 0, "concluded_remotely": 0, "minutes": []})
    for c in json.loads((folder / "y_te" / "consultations.json").read_text(encoding="utf-8")):
        requested = datetime.fromisoformat(c["thoi_gian_yeu_cau"])
        if c["id"] in bad or f"{requested:%Y-%m}" != period:
            continue
        recorded = "legacy" if requested < REFORM else "2025"
        for unit in ancestry(geo, c["yeu_cau"]["ma_dvhc"], geography, recorded):
            f = out[unit]
            f["consultations"] += 1
            f["held"] += OUTCOMES[c["ket_qua"]] != "cancelled"
            f["concluded_remotely"] += OUTCOMES[c["ket_qua"]] == "concluded_remotely"
            if c["bat_dau"] and c["ket_thuc"]:
                f["minutes"].append((datetime.fromisoformat(c["ket_thuc"]) -
                                     datetime.fromisoformat(c["bat_dau"])).total_seconds() / 60)
    return {u: {"consultations": f["consultations"], "held": f["held"], "concluded_remotely": f["concluded_remotely"],
                "concluded_share": pct(f["concluded_remotely"], f["held"]),
                "duration_minutes_median": float(statistics.median(f["minutes"])) if f["minutes"] else None}
            for u, f in out.items()}


@pytest.mark.parametrize("period,geography", CASES)
def test_telemedicine_figures(demo, period, geography):
    expected = telemedicine_figures(demo.folder, demo.manifest, demo.geo, period, geography)
    expect_units(mart(demo.engine, "telemedicine", period, geography, facility_code="*", specialty="*"), expected)


# ------------------------------------------------------------------ 6. online meetings

def meeting_figures(folder: Path, manifest: dict, geo, period: str, geography: str) -> dict:
    bad = {i for ids in manifest["defects"]["online_meeting"].values() for i in ids}
    out: dict[tuple, dict] = defaultdict(lambda: {"meetings": set(), "invited": 0, "connected": 0})

    def level(code: str) -> str:
        return {2: "province", 3: "district", 5: "commune"}[len(code)]

    for path in sorted((folder / "hop_truc_tuyen").glob("*.csv")):
        with path.open(encoding="utf-8") as fh:
            for m in csv.DictReader(fh):
                start = datetime.strptime(m["Bắt đầu"], "%d/%m/%Y %H:%M")
                if m["Mã cuộc họp"] in bad or f"{start:%Y-%m}" != period:
                    continue
                recorded = "legacy" if start < REFORM else "2025"
                invited, connected = m["Đơn vị được mời"].split(";"), set(m["Điểm cầu kết nối"].split(";"))
                host = ancestry(geo, m["Đơn vị chủ trì"], geography, recorded)
                for unit in host:
                    f = out[(unit, "host", level(host[0]))]
                    f["meetings"].add(m["Mã cuộc họp"])
                    f["invited"] += len(invited)
                    f["connected"] += len(connected & set(invited))
                for u in invited:
                    chain = ancestry(geo, u, geography, recorded)
                    for unit in chain:
                        f = out[(unit, "participant", level(chain[0]))]
                        f["meetings"].add(m["Mã cuộc họp"])
                        f["invited"] += 1
                        f["connected"] += u in connected
    return {k: {"meetings": len(f["meetings"]), "invited": f["invited"], "connected": f["connected"],
                "participation_rate": pct(f["connected"], f["invited"])} for k, f in out.items()}


@pytest.mark.parametrize("period,geography", CASES)
def test_online_meeting_figures(demo, period, geography):
    expected = meeting_figures(demo.folder, demo.manifest, demo.geo, period, geography)
    found = {(r["unit_code"], r["role"], r["unit_level"]): r
             for r in read(demo.engine, "meeting", period=period, geography=geography)}
    assert set(found) == set(expected)
    for key, figures in expected.items():
        for k, v in figures.items():
            assert (found[key][k] is None and v is None) or float(found[key][k]) == pytest.approx(v, abs=0.005 + 1e-9), \
                (key, k, found[key][k], v)


# ------------------------------------------------------------------ the command and the database's rules

@pytest.mark.parametrize("period", ["2025-06", "2025-09"])
def test_hub_kpi_prints_the_six_groups(demo, period, monkeypatch):
    monkeypatch.setenv("HUB_HOME", str(demo.home))
    monkeypatch.setenv("COLUMNS", "250")
    result = CliRunner().invoke(app, ["kpi", "--period", period])
    assert result.exit_code == 0, result.output
    out = result.output
    for title in ("One-stop dossiers", "Documents (edXML)", "Social protection", "Reporting discipline",
                  "Telemedicine", "Online meetings"):
        assert title in out
    if period == "2025-06":  # both maps, side by side: Bắc Giang's districts, and Bắc Ninh's communes
        assert "(legacy map)" in out and "(2025 map)" in out
        assert "Tỉnh Bắc Giang" in out and "Tỉnh Bắc Ninh" in out
    else:
        assert "(legacy map)" not in out and "(2025 map)" in out
    as_json = CliRunner().invoke(app, ["kpi", "--period", period, "--as-of-geography", "2025", "--json"])
    body = json.loads(as_json.stdout)
    assert body["maps"] == ["2025"] and set(body["groups"]) == {"dossier", "document", "social", "reporting",
                                                                 "telemedicine", "meeting"}
    assert all(r["geography"] in ("2025", "any") for rows in body["groups"].values() for r in rows)


@pytest.mark.parametrize("args,message", [
    (["kpi", "--period", "2025-13"], "--period must be a month as YYYY-MM, not '2025-13'"),
    (["kpi", "--as-of-geography", "1990"], "--as-of-geography must be legacy or 2025, not '1990'"),
    (["kpi", "--period", "2025-09", "--unit", "99999"], "no unit '99999' on the 2025 map of 2025-09"),
])
def test_hub_kpi_mistakes_are_one_line(demo, monkeypatch, args, message):
    monkeypatch.setenv("HUB_HOME", str(demo.home))
    result = CliRunner().invoke(app, args)
    assert result.exit_code != 0 and message in " ".join(result.output.split())
    assert "Traceback" not in result.output


def test_the_database_keeps_the_definitions_arithmetic(demo):
    from sqlalchemy import insert

    from kpi.tables import mart_table

    with demo.engine.connect() as conn:
        row = conn.execute(text("SELECT * FROM mart.kpi_dossier LIMIT 1")).mappings().one()
    broken = {**row, "period": "1999-01", "to_handle": row["to_handle"] + 1,
              "completed_on_time": row["completed_on_time"] + 1}  # the partition holds, the sum does not
    with pytest.raises(Exception, match="kpi_dossier_to_handle"):
        with demo.engine.begin() as conn:
            conn.execute(insert(mart_table("dossier")), [broken])


def test_the_report_has_an_operations_centre_page_with_a_chart_per_figure(demo, tmp_path):
    from report import build_report

    main = build_report(demo.engine, tmp_path)
    assert "operations_centre.html" in main.read_text(encoding="utf-8")
    page = (tmp_path / "operations_centre.html").read_text(encoding="utf-8")
    for period in ("2025-06", "2025-09"):
        section = page.split(f"<h2>{period}</h2>")[1].split("<h2>")[0]
        for title in ("One-stop dossiers", "Documents (edXML)", "Social protection", "Reporting discipline",
                      "Telemedicine", "Online meetings"):
            block = section.split(f"<h3>{title}")[1].split("<h3>")[0]
            assert "<svg" in block and "<table>" in block, (period, title)
        if period == "2025-06":
            assert "legacy map (before 2025-07-01)" in section and "Tỉnh Bắc Giang" in section
