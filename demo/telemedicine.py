"""The telemedicine platform (hội chẩn từ xa): remote consultations requested by district health
centres for patients of their communes, answered by the provincial hospitals.

Served by :class:`TelemedicineServer`, a REST API unlike the one-stop's: an API key in a header
of its own (``X-API-Key``, no token exchange), offset/limit pagination, the list under
``data.consultations`` and a ``modified_from`` filter. Seeded; planted: sessions that end
before they start, a specialty the catalogue lacks, a requesting commune code read on a day it
named no unit (a district's code after districts were abolished).
"""
from __future__ import annotations

import json
import random
import secrets
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from demo.geography import REFORM, Geography
from demo.local_server import LocalServer

MONTHS = [datetime(2025, 6, 2, 7, 0), datetime(2025, 9, 3, 7, 0)]
CENTRES = [f"240{n}" for n in range(10, 20)]
HOSPITALS = ["24001", "24002", "24003"]
SPECIALTIES = {"Nội khoa": "noi", "Ngoại khoa": "ngoai", "Sản phụ khoa": "san", "Nhi khoa": "nhi",
               "Tim mạch": "tim_mach", "Chẩn đoán hình ảnh": "chan_doan_hinh_anh", "Truyền nhiễm": "truyen_nhiem",
               "Hồi sức cấp cứu": "hoi_suc"}
OUTCOMES = {"Kết luận từ xa": "concluded_remotely", "Chuyển tuyến": "transferred", "Hội chẩn lại": "follow_up",
            "Hủy": "cancelled"}
DEFECTS = {"ends_before_start": "not_before:ended_at", "unknown_specialty": "code_list:specialty",
           "unit_not_valid": "admin_unit_at_date:requesting_unit_code"}


def iso(t: datetime | None) -> str | None:
    return t.isoformat(timespec="seconds") if t else None


def _consultation(i: int, rnd: random.Random, geo: Geography) -> dict:
    month = rnd.choice(MONTHS)
    requested = month + timedelta(days=rnd.randrange(25), hours=rnd.randint(0, 10), minutes=rnd.randrange(60))
    unit = rnd.choice(geo.legacy_communes if requested < REFORM else geo.bac_giang_2025)
    outcome = rnd.choices(list(OUTCOMES), weights=[60, 20, 12, 8])[0]
    started = ended = None
    if outcome != "Hủy":
        started = requested + timedelta(minutes=rnd.randint(10, 240))
        ended = started + timedelta(minutes=rnd.randint(15, 90))
    return {"id": f"TM-{requested:%y%m}-{i:05d}", "yeu_cau": {"co_so": rnd.choice(CENTRES), "ma_dvhc": unit},
            "co_so_hoi_chan": rnd.choice(HOSPITALS), "chuyen_khoa": rnd.choice(list(SPECIALTIES)),
            "thoi_gian_yeu_cau": iso(requested), "bat_dau": iso(started), "ket_thuc": iso(ended),
            "ket_qua": outcome, "cap_nhat": iso(ended or requested)}


def generate(folder: Path, geo: Geography, n: int, rnd: random.Random) -> dict:
    records = [_consultation(i, rnd, geo) for i in range(n)]
    victims = iter(rnd.sample([i for i, r in enumerate(records) if r["bat_dau"]], 2 * len(DEFECTS)))
    planted: dict[str, list[str]] = {}
    for kind, check in DEFECTS.items():
        for _ in range(2):
            r = records[next(victims)]
            planted.setdefault(check, []).append(r["id"])
            if kind == "ends_before_start":
                r["ket_thuc"] = iso(datetime.fromisoformat(r["bat_dau"]) - timedelta(minutes=rnd.randint(5, 50)))
            elif kind == "unknown_specialty":
                r["chuyen_khoa"] = "Y học cổ truyền (thử nghiệm)"
            else:  # a district's code: no unit after 2025-07-01, and not a commune before
                r["yeu_cau"]["ma_dvhc"] = rnd.choice(sorted(geo.districts))
                r["thoi_gian_yeu_cau"] = iso(datetime.fromisoformat(r["thoi_gian_yeu_cau"]).replace(month=9))
                r["bat_dau"] = r["ket_thuc"] = None
                r["ket_qua"] = "Hủy"
    (folder / "consultations.json").write_text(json.dumps(records, ensure_ascii=False), encoding="utf-8")
    return {"sources": {"demo_telemedicine": {"kind": "telemedicine", "read": len(records),
                                              "quarantined": {k: len(v) for k, v in planted.items()}}},
            "defects": {"teleconsultation": planted}}


class TelemedicineServer(LocalServer):
    """The platform's API on 127.0.0.1 (stdlib): ``GET /v2/consultations`` behind ``X-API-Key``."""

    thread_name = "telemedicine-server"

    def __init__(self, records: list[dict], api_key: str | None = None, port: int = 0):
        self.records = sorted(records, key=lambda r: (r["cap_nhat"], r["id"]))
        self.api_key = api_key or secrets.token_urlsafe(24)
        self.port = port
        self.requests: list[dict] = []

    @property
    def credentials(self) -> tuple[str, str]:
        return "", self.api_key

    def page(self, query: dict[str, str]) -> dict:
        since = query.get("modified_from")
        rows = [r for r in self.records if not since or r["cap_nhat"] >= since]
        offset, limit = int(query.get("offset", 0)), min(int(query.get("limit", 50)), 200)
        return {"data": {"consultations": rows[offset: offset + limit]},
                "paging": {"offset": offset, "limit": limit, "total": len(rows)}}


class _Handler(BaseHTTPRequestHandler):
    app: TelemedicineServer

    def log_message(self, format, *args):  # nothing written: the key travels in a header
        pass

    def _send(self, status: int, body: dict) -> None:
        data = json.dumps(body, ensure_ascii=False).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        parts = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        self.app.requests.append({"path": parts.path, "query": query})
        if not secrets.compare_digest(self.headers.get("X-API-Key", ""), self.app.api_key):
            return self._send(401, {"error": "invalid api key"})
        if parts.path != "/v2/consultations":
            return self._send(404, {"error": "not found"})
        try:
            return self._send(200, self.app.page(query))
        except ValueError:
            return self._send(400, {"error": "bad paging"})


TelemedicineServer.handler = _Handler  # defined after the server it serves
