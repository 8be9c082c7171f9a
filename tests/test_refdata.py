"""Administrative units through time, from the real vietnamadminunits data (no fixtures of ours)."""
from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select, text

from refdata import admin_units
from refdata.hierarchy import ancestors_at, parent_at, successor, successors, unit_at, units_at
from refdata.sync import sync
from warehouse.tables import admin_unit

BEFORE, AFTER = date(2025, 6, 30), date(2025, 8, 1)


@pytest.fixture
def conn(engine):
    with engine.connect() as c:
        yield c


def test_legacy_bac_giang_has_ten_district_level_units(conn):
    districts = units_at(conn, BEFORE, level="district", parent_code="24")
    assert len(districts) == 10
    assert {d.code for d in districts} == {"213", "215", "216", "217", "218", "219", "220", "222", "223", "224"}
    assert "Thành phố Bắc Giang" in {d.name for d in districts}


def test_code_24_is_bac_giang_before_the_reform_and_bac_ninh_after(conn):
    assert unit_at(conn, "24", BEFORE).name == "Tỉnh Bắc Giang"
    assert unit_at(conn, "24", AFTER).name == "Tỉnh Bắc Ninh"
    assert unit_at(conn, "24", date(2025, 7, 1)).name == "Tỉnh Bắc Ninh"
    assert unit_at(conn, "27", BEFORE).name == "Tỉnh Bắc Ninh"
    assert unit_at(conn, "27", AFTER) is None  # legacy Bắc Ninh's code names nothing after the reform


def test_no_district_is_valid_after_the_reform(conn):
    assert units_at(conn, AFTER, level="district") == []
    assert unit_at(conn, "213", AFTER) is None
    assert unit_at(conn, "213", BEFORE).name == "Thành phố Bắc Giang"


def test_a_legacy_bac_giang_ward_resolves_to_its_2025_ward(conn):
    thoxuong = unit_at(conn, "07201", BEFORE)
    assert (thoxuong.name, thoxuong.parent_code) == ("Phường Thọ Xương", "213")
    new = successor(conn, "07201")
    assert (new.code, new.name, new.parent_code) == ("07210", "Phường Bắc Giang", "24")
    assert [(u.code, default) for u, default in successors(conn, "07201")] == [("07210", True)]
    assert successor(conn, "24").name == "Tỉnh Bắc Ninh"
    assert successor(conn, "27").name == "Tỉnh Bắc Ninh"
    assert successor(conn, "213").name == "Tỉnh Bắc Ninh"  # a district goes to its province's successor


def test_the_same_code_names_different_units_before_and_after(conn):
    assert unit_at(conn, "07210", BEFORE).name == "Phường Hoàng Văn Thụ"
    assert unit_at(conn, "07210", date(2025, 7, 1)).name == "Phường Bắc Giang"
    assert unit_at(conn, "09169", BEFORE).name == "Phường Thị Cầu"      # legacy Bắc Ninh, province 27
    assert unit_at(conn, "09169", AFTER).name == "Phường Vũ Ninh"       # new Bắc Ninh, province 24


def test_ancestors_follow_the_hierarchy_of_the_day(conn):
    assert [u.code for u in ancestors_at(conn, "07201", BEFORE)] == ["213", "24", "VN"]
    assert [u.level for u in ancestors_at(conn, "07201", BEFORE)] == ["district", "province", "central"]
    assert [u.code for u in ancestors_at(conn, "07210", AFTER)] == ["24", "VN"]
    assert parent_at(conn, "07210", AFTER).name == "Tỉnh Bắc Ninh"
    assert parent_at(conn, "07210", BEFORE).name == "Thành phố Bắc Giang"


def test_the_served_province_keeps_everything_merged_into_its_successor(conn):
    counts = dict(conn.execute(select(admin_unit.c.era + ":" + admin_unit.c.level, func.count())
                               .group_by(admin_unit.c.era, admin_unit.c.level)).all())
    # legacy Bắc Giang (10 districts, 192 communes) + legacy Bắc Ninh (8, 121); new Bắc Ninh: 99 communes
    assert counts == {"legacy:province": 2, "legacy:district": 18, "legacy:commune": 313,
                      "2025:province": 1, "2025:commune": 99, "permanent:central": 1}


def test_sync_is_idempotent(engine):
    again = sync(engine, ["24"])
    assert (again.inserted, again.closed, again.corrected) == (0, 0, 0)
    assert again.unchanged == 434


def test_a_refresh_that_changes_a_unit_keeps_its_history(engine, monkeypatch):
    real = admin_units.units

    def renamed(provinces=None):
        out = []
        for u in real(provinces):
            if u.code == "07210" and u.era == "2025":
                u = admin_units.Unit(**{**u.__dict__, "name": "Phường Bắc Giang Mới"})
            if u.code == "07201":  # a correction to a legacy unit
                u = admin_units.Unit(**{**u.__dict__, "name": "Phường Thọ Xương (sửa)"})
            out.append(u)
        return out

    monkeypatch.setattr(admin_units, "units", renamed)
    result = sync(engine, ["24"], today=date(2026, 1, 15))
    assert (result.inserted, result.closed, result.corrected) == (2, 1, 1)
    with engine.connect() as conn:
        assert unit_at(conn, "07210", date(2026, 1, 14)).name == "Phường Bắc Giang"
        assert unit_at(conn, "07210", date(2026, 1, 15)).name == "Phường Bắc Giang Mới"
        assert unit_at(conn, "07201", BEFORE).name == "Phường Thọ Xương (sửa)"
        kept = conn.execute(text("SELECT count(*) FROM ref.admin_unit WHERE code IN ('07210', '07201')")).scalar()
        assert kept == 5  # 07210 legacy + old and new 2025 versions; 07201 superseded + corrected
    again = sync(engine, ["24"], today=date(2026, 1, 16))
    assert (again.inserted, again.closed, again.corrected) == (0, 0, 0)


def test_the_whole_country_loads_too(engine):
    result = sync(engine, None)
    assert result.crosswalk == 10665
    with engine.connect() as conn:
        counts = dict(conn.execute(select(admin_unit.c.era + ":" + admin_unit.c.level, func.count())
                                   .group_by(admin_unit.c.era, admin_unit.c.level)).all())
        assert counts == {"legacy:province": 63, "legacy:district": 696, "legacy:commune": 10035,
                          "2025:province": 34, "2025:commune": 3321, "permanent:central": 1}
        divided = conn.execute(text("SELECT count(DISTINCT legacy_code) FROM ref.admin_unit_crosswalk "
                                    "WHERE level = 'commune' AND NOT is_default")).scalar()
        assert divided == 471
        assert unit_at(conn, "00637", BEFORE).name == "Phường Trung Văn"
        assert unit_at(conn, "00637", AFTER).name == "Phường Đại Mỗ"
        assert [u.code for u, d in successors(conn, "00634") if d] == ["00637"]
