"""A stand-in for the one-stop (một cửa) system's REST API, on 127.0.0.1, stdlib only.

The tests run the REST adapter against it with faults injected (a 500, a 429 with
Retry-After, a response slower than the read timeout, a dropped connection before or in the
middle of the body, JSON cut short, an HTML error page served as 200, tokens that expire, a page
size capped below the size asked for, records changing between pages), and ``hub demo`` serves
the simulated province's dossiers and statistics from it.
Datasets are lists of JSON records served under ``/api/<name>``, ordered by (update time, key),
filtered by ``updated_since`` (inclusive), paginated by ``page``/``size`` or by an opaque
``cursor``/``limit``, behind a bearer token from ``POST /auth/token`` (client credentials).

    server = OneStopServer({"dossiers": records}, token_uses=50).start()
    ...  server.url, server.inject("500", ("429", 1), ("slow", 2)), server.requests
    server.stop()
"""
from __future__ import annotations

import base64
import json
import secrets
import threading
import time
from collections import Counter, deque
from datetime import datetime
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlsplit

from demo.local_server import LocalServer


class OneStopServer(LocalServer):
    thread_name = "onestop-server"

    def __init__(self, datasets: dict[str, list[dict[str, Any]]], *, updated_field: str = "ngay_cap_nhat",
                 key_field: str | None = None, client_id: str = "lienthong-hub",
                 client_secret: str | None = None, token_uses: int | None = None,
                 static_tokens: tuple[str, ...] = (), basic: tuple[str, str] | None = None,
                 max_size: int = 500, port: int = 0):
        self.datasets = {name: list(records) for name, records in datasets.items()}
        self.updated_field, self.key_field = updated_field, key_field
        self.client_id, self.client_secret = client_id, client_secret or secrets.token_urlsafe(16)
        self.token_uses, self.static_tokens, self.basic, self.max_size = token_uses, set(static_tokens), basic, max_size
        self.port = port
        self.tokens: dict[str, int] = {}  # issued token -> data requests it has left (None: unlimited)
        self.faults: deque[tuple[str, float]] = deque()
        self.changes: dict[int, Any] = {}  # data request number -> what changes after it is answered
        self.requests: list[dict[str, Any]] = []
        self.counts: Counter = Counter()
        self._lock = threading.Lock()

    # --- control, from the test or the demo ---------------------------------------------------

    @property
    def credentials(self) -> tuple[str, str]:
        return self.client_id, self.client_secret

    def inject(self, *faults: str | tuple[str, float]) -> None:
        """Faults for the next data requests, one each, in order: ``500``, ``429`` (seconds of
        Retry-After), ``slow`` (seconds before answering), ``drop`` (close without answering),
        ``drop_body`` (close half-way through the body), ``hang_body`` (half the body, then
        silence for the seconds given), ``truncated`` (JSON cut short, its length announced as cut),
        ``html`` (a proxy's HTML error page, status 200)."""
        for f in faults:
            kind, seconds = (f, 1.0) if isinstance(f, str) else f
            self.faults.append((kind, float(seconds)))

    def after(self, request: int, change) -> None:
        """Call ``change()`` once the ``request``-th data request (from 1) has been answered: the
        source's data changing while a read is under way."""
        self.changes[request] = change

    def delete(self, dataset: str, key: str) -> None:
        field = self._key(dataset)
        with self._lock:
            self.datasets[dataset] = [r for r in self.datasets[dataset] if r.get(field) != key]

    def upsert(self, dataset: str, record: dict[str, Any]) -> None:
        key = self._key(dataset)
        with self._lock:
            rows = self.datasets.setdefault(dataset, [])
            rows[:] = [r for r in rows if r.get(key) != record.get(key)] + [record]

    def expire_tokens(self) -> None:
        with self._lock:
            self.tokens = {t: 0 for t in self.tokens}

    # --- behaviour ------------------------------------------------------------------------------

    def _key(self, dataset: str) -> str:
        first = (self.datasets.get(dataset) or [{}])[0]
        return self.key_field or ("id" if "id" in first else next(iter(first), "id"))

    def authorize(self, header: str | None) -> str | None:
        """None if the request may proceed, else why not (the body of the 401)."""
        scheme, _, credential = (header or "").partition(" ")
        with self._lock:
            if scheme.lower() == "basic" and self.basic:
                try:
                    user, _, password = base64.b64decode(credential).decode().partition(":")
                except ValueError:
                    return "invalid_request"
                return None if (user, password) == self.basic else "invalid_credentials"
            if scheme.lower() != "bearer":
                return "missing_token"
            if credential in self.static_tokens:
                return None
            if credential not in self.tokens:
                return "invalid_token"
            left = self.tokens[credential]
            if left is not None and left <= 0:
                return "token_expired"
            if left is not None:
                self.tokens[credential] = left - 1
            return None

    def issue_token(self, form: dict[str, str]) -> str | None:
        if (form.get("client_id"), form.get("client_secret")) != (self.client_id, self.client_secret):
            return None
        token = secrets.token_urlsafe(24)
        with self._lock:
            self.tokens[token] = self.token_uses
        return token

    def page(self, dataset: str, query: dict[str, str]) -> dict[str, Any] | None:
        if dataset not in self.datasets:
            return None
        key, upd = self._key(dataset), self.updated_field
        with self._lock:
            rows = sorted(self.datasets[dataset], key=lambda r: (str(r.get(upd) or ""), str(r.get(key))))
        since = query.get("updated_since")
        if since:
            rows = [r for r in rows if str(r.get(upd) or "") >= since]
        if "offset" in query:
            start, size = int(query["offset"]), min(int(query.get("limit", 100)), self.max_size)
            return {"items": rows[start: start + size], "offset": start, "total": len(rows)}
        if "cursor" in query or "limit" in query:
            size = min(int(query.get("limit", 100)), self.max_size)
            if query.get("cursor"):
                after = tuple(json.loads(base64.urlsafe_b64decode(query["cursor"])))
                rows = [r for r in rows if (str(r.get(upd) or ""), str(r.get(key))) > after]
            items = rows[:size]
            more = len(rows) > size
            last = items[-1] if items else None
            cursor = base64.urlsafe_b64encode(json.dumps(
                [str(last.get(upd) or ""), str(last.get(key))]).encode()).decode() if more and last else None
            return {"items": items, "next_cursor": cursor}
        page, size = int(query.get("page", 1)), min(int(query.get("size", 100)), self.max_size)
        return {"items": rows[(page - 1) * size: page * size], "page": page, "size": size, "total": len(rows)}


class _Handler(BaseHTTPRequestHandler):
    app: OneStopServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format, *args):  # the tests read logs for secrets: this server writes none
        pass

    def handle(self):
        try:
            super().handle()
        except (ConnectionError, TimeoutError):  # the client gave up on a slow answer
            pass

    def _send(self, status: int, body: dict[str, Any] | bytes, headers: dict[str, str] | None = None,
              fault: tuple[str, float] | None = None) -> None:
        data = body if isinstance(body, bytes) else json.dumps(body, ensure_ascii=False).encode()
        kind = fault[0] if fault else None
        if kind == "truncated":
            data = data[: len(data) // 2]
        self.send_response(status)
        self.send_header("Content-Type", (headers or {}).pop("Content-Type", "application/json; charset=utf-8"))
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if kind in ("drop_body", "hang_body"):
            self.wfile.write(data[: len(data) // 2])
            self.wfile.flush()
            if kind == "hang_body":
                time.sleep(fault[1])
                self.app.counts["hangs_finished"] += 1
            self.close_connection = True
            return
        self.wfile.write(data)

    def do_POST(self):
        path = urlsplit(self.path).path
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length).decode()
        self.app.requests.append({"method": "POST", "path": path})
        if path != "/auth/token":
            return self._send(404, {"error": "not_found"})
        if "json" in (self.headers.get("Content-Type") or ""):
            form = json.loads(raw or "{}")
        else:
            form = {k: v[0] for k, v in parse_qs(raw).items()}
        token = self.app.issue_token(form)
        if token is None:
            return self._send(401, {"error": "invalid_client"})
        self._send(200, {"access_token": token, "token_type": "Bearer", "expires_in": 3600})

    def do_GET(self):
        parts = urlsplit(self.path)
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        app = self.app
        app.requests.append({"method": "GET", "path": parts.path, "query": query,
                             "authorization": self.headers.get("Authorization")})
        app.counts[parts.path] += 1
        if not parts.path.startswith("/api/"):
            return self._send(404, {"error": "not_found"})
        number = app.counts["data"] = app.counts["data"] + 1
        try:
            self._answer(parts.path, query, app.faults.popleft() if app.faults else None)
        finally:
            change = app.changes.pop(number, None)
            if change:
                change()

    def _answer(self, path: str, query: dict[str, str], fault: tuple[str, float] | None) -> None:
        app = self.app
        if fault and fault[0] == "html":
            page = b"<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>"
            return self._send(200, page, {"Content-Type": "text/html"})
        if fault:
            kind, seconds = fault
            if kind == "500":
                return self._send(500, {"error": "internal_error"})
            if kind == "429":
                return self._send(429, {"error": "rate_limited"}, {"Retry-After": str(int(seconds))})
            if kind == "drop":
                self.close_connection = True
                return
            if kind == "slow":
                time.sleep(seconds)
        denied = app.authorize(self.headers.get("Authorization"))
        if denied:
            return self._send(401, {"error": denied}, {"WWW-Authenticate": 'Bearer error="invalid_token"'})
        body = app.page(path.removeprefix("/api/"), query)
        if body is None:
            return self._send(404, {"error": "not_found"})
        self._send(200, body, fault=fault)


# --- data for the demo and the tests ----------------------------------------------------------

def _iso(text: str) -> str | None:
    for fmt in ("%d/%m/%Y %H:%M", "%d/%m/%Y %H:%M:%S", "%d/%m/%Y"):
        try:
            return datetime.strptime(text, fmt).isoformat()
        except ValueError:
            continue
    return text or None


def dossier_records(rows: list[list[str]]) -> list[dict[str, Any]]:
    """Rows of the demo CSV (demo/dossiers.py's columns) as the one-stop API's JSON records.

    The API nests the unit and writes ISO times, as such systems do: the source's mapping
    names ``don_vi.ma_dvhc``, and no code is written for the difference.
    """
    records = []
    for code, procedure, agency, unit, received, due, completed, status, channel in rows:
        times = [t for t in (_iso(received), _iso(completed)) if t]
        records.append({
            "ma_ho_so": code, "ma_tthc": procedure, "co_quan_tiep_nhan": agency,
            "don_vi": {"ma_dvhc": unit}, "ngay_tiep_nhan": _iso(received), "ngay_hen_tra": _iso(due),
            "ngay_tra_ket_qua": _iso(completed), "trang_thai": status, "hinh_thuc_nop": channel,
            "ngay_cap_nhat": max(times) if times else None,
        })
    return records


def statistics_records(dossiers: list[dict[str, Any]], parents: dict[str, str] | None = None,
                       province: str = "24", period: str = "day",
                       successors: dict[str, str] | None = None) -> list[dict[str, Any]]:
    """What the one-stop system reports about its own dossiers (schema ``dossier_statistic``): per
    unit and day (or month), how many it received, completed, and completed by the due date, at
    commune, district (``parents``: legacy commune -> district) and province level.

    Districts count only before 2025-07-01, when they were abolished (some legacy commune codes
    were then reused by new communes). A dossier completed on the other side of the reform from
    its reception is completed by the commune that took over the unit that received it, its
    default successor in the crosswalk (``successors``: legacy commune -> 2025 commune); without
    that map it counts at the province only.
    """
    import calendar

    reform, cut = "2025-07-01", 10 if period == "day" else 7
    counts: dict[tuple[str, str], list[int]] = {}
    for d in dossiers:
        unit, received = (d.get("don_vi") or {}).get("ma_dvhc"), d.get("ngay_tiep_nhan")
        if not unit or not received:
            continue
        completed, due = d.get("ngay_tra_ket_qua"), d.get("ngay_hen_tra")
        events = [(received, 0)] + ([(completed, 1)] if completed else [])
        for when, column in events:
            same_era = (when < reform) == (received < reform)
            district = (parents or {}).get(unit) if when < reform else None
            commune = unit if same_era else (successors or {}).get(unit)
            for level in filter(None, (commune, district if same_era else None, province)):
                row = counts.setdefault((level, when[:cut]), [0, 0, 0])
                row[column] += 1
                if column == 1 and due and when <= due:
                    row[2] += 1
    records = []
    for (unit, key), (received_n, completed_n, on_time_n) in sorted(counts.items()):
        end = key if period == "day" else f"{key}-{calendar.monthrange(int(key[:4]), int(key[5:7]))[1]:02d}"
        records.append({"id": f"{unit}/{key}", "ma_don_vi": unit, "ky": key, "ngay_cuoi_ky": end,
                        "so_tiep_nhan": received_n, "so_da_tra_ket_qua": completed_n,
                        "so_tra_dung_han": on_time_n, "ngay_cap_nhat": f"{end}T23:00:00"})
    return records


OneStopServer.handler = _Handler  # defined after the server it serves
