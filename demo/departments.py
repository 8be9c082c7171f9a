"""The simulated province's departments (``departments.yaml`` beside the demo's ``sources.yaml``).

The provincial departments (Sở) own the systems the template gives them and govern no unit;
the provincial People's Committee governs the province on both sides of the reform; two
districts until 2025-06-30; a legacy commune; and the 2025 commune that took over the most
legacy communes (Phường Bắc Giang, 07210, a code that named Phường Hoàng Văn Thụ before).
Published indicators are shared with every department.
"""
from __future__ import annotations

from collections import Counter
from pathlib import Path

import yaml

from demo.geography import PROVINCE, bac_giang

PROVINCE_NAMES = {
    "so_tttt_bacgiang": "Sở Thông tin và Truyền thông (one-stop system)",
    "van_phong_ubnd": "Văn phòng UBND tỉnh (document management)",
    "so_lao_dong_tbxh": "Sở Lao động - Thương binh và Xã hội",
    "so_khdt": "Sở Kế hoạch và Đầu tư",
    "cuc_thong_ke": "Cục Thống kê",
}
SHARED = ["indicator_report"]


def departments(sources: dict[str, str]) -> dict:
    """The registry's content for ``sources`` (source name -> owning department code)."""
    geo = bac_giang()
    owned: dict[str, list[str]] = {}
    for source, dept in sources.items():
        owned.setdefault(dept, []).append(source)
    entries = [{"code": code, "name": PROVINCE_NAMES.get(code, code), "level": "province", "units": [],
                "sources": sorted(names)} for code, names in sorted(owned.items())]
    entries.append({"code": "ubnd_tinh", "name": "UBND tỉnh (the province, before and after the reform)",
                    "level": "province", "units": [{"code": PROVINCE, "era": "legacy"},
                                                   {"code": PROVINCE, "era": "2025"}], "sources": []})
    for district in list(geo.districts)[:2]:
        entries.append({"code": f"ubnd_huyen_{district}", "name": f"UBND {geo.names[(district, 'legacy')]}",
                        "level": "district", "units": [{"code": district, "era": "legacy"}], "sources": []})
    merged = Counter(geo.successor.values()).most_common(1)[0][0]
    taken_over = {c for c, new in geo.successor.items() if new == merged}
    legacy = next(c for c in geo.legacy_communes if c not in taken_over and geo.district_of(c) != "213")
    entries.append({"code": f"ubnd_xa_{legacy}_cu", "name": f"UBND {geo.names[(legacy, 'legacy')]} (until 2025-06-30)",
                    "level": "commune", "units": [{"code": legacy, "era": "legacy"}], "sources": []})
    entries.append({"code": f"ubnd_xa_{merged}", "name": f"UBND {geo.names[(merged, '2025')]}",
                    "level": "commune", "units": [{"code": merged, "era": "2025"}], "sources": []})
    return {"shared_datasets": SHARED, "departments": entries}


def write_departments(workspace: Path, registry: Path) -> Path:
    """``departments.yaml`` beside the workspace's ``sources.yaml`` (``registry``)."""
    entries = yaml.safe_load(registry.read_text(encoding="utf-8"))["sources"]
    content = departments({e["name"]: e["department"] for e in entries if e.get("department")})
    path = workspace / "departments.yaml"
    path.write_text("# Written by `hub demo`: the simulated province's departments, the sources they own and\n"
                    "# the administrative units they govern (hub access sync reads it).\n"
                    + yaml.safe_dump(content, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path
