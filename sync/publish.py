"""Downward: the hub publishes the shared catalogues and every level must hold the same.

Each catalogue (administrative units, and every code list: document types, procedures,
benefit types, ...) is published as numbered versions, each a full snapshot; a version is
only made when the content changed, so publishing twice makes nothing new. A level fetches a
snapshot or the delta since the version it has, or the hub pushes the delta to the level's
REST endpoint and records the acknowledgement; pushing a version the target already
acknowledged sends nothing. Drift compares what a level's system holds (extracted by an
adapter into ``core.catalogue_entry``) with the version it claims to hold.
"""
from __future__ import annotations

from common.errors import HubError

import hashlib
import json
import os
from typing import Any

import requests
from sqlalchemy import Connection, Engine, func, insert, select

from refdata import sync as refdata_sync

from warehouse.tables import admin_unit, catalogue_push, catalogue_version, code_list

ADMIN_UNITS = "admin_unit"


class PublishError(HubError, RuntimeError):
    """A catalogue or version that does not exist, or a push the target refused."""


def current_entries(conn: Connection, catalogue: str) -> dict[str, dict[str, Any]]:
    if catalogue == ADMIN_UNITS:
        rows = conn.execute(select(admin_unit).where(admin_unit.c.superseded_at.is_(None))
                            .order_by(admin_unit.c.code, admin_unit.c.valid_from.nulls_first())).mappings()
        return {f"{r['code']}@{r['era']}": {"code": r["code"], "name": r["name"], "type": r["type"],
                                            "level": r["level"], "parent_code": r["parent_code"],
                                            "valid_from": _day(r["valid_from"]), "valid_to": _day(r["valid_to"])}
                for r in rows}
    rows = conn.execute(select(code_list.c.code, code_list.c.label).where(code_list.c.list_name == catalogue)
                        .order_by(code_list.c.code)).all()
    if not rows:
        raise PublishError(f"no catalogue named {catalogue!r}")
    return {code: {"code": code, "label": label} for code, label in rows}


def catalogues(conn: Connection) -> list[str]:
    return [ADMIN_UNITS] + list(conn.execute(select(code_list.c.list_name).distinct()
                                             .order_by(code_list.c.list_name)).scalars())


def _day(value) -> str | None:
    return value.isoformat() if value else None


def _hash(entries: dict) -> str:
    return hashlib.sha256(json.dumps(entries, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def latest_version(conn: Connection, catalogue: str) -> int | None:
    return conn.execute(select(func.max(catalogue_version.c.version))
                        .where(catalogue_version.c.catalogue == catalogue)).scalar()


def publish(engine: Engine, names: list[str] | None = None) -> dict[str, int]:
    """Make a new version of each catalogue whose content changed; return each one's latest version."""
    out = {}
    with engine.begin() as conn:
        for name in names or catalogues(conn):
            entries = current_entries(conn, name)
            digest, latest = _hash(entries), latest_version(conn, name)
            last_hash = None if latest is None else conn.execute(
                select(catalogue_version.c.content_hash).where(catalogue_version.c.catalogue == name,
                                                               catalogue_version.c.version == latest)).scalar()
            if digest != last_hash:
                latest = (latest or 0) + 1
                conn.execute(insert(catalogue_version).values(catalogue=name, version=latest,
                                                              content_hash=digest, entries=entries))
            out[name] = latest
    return out


def refresh_and_publish(engine: Engine, provinces: list[str] | None = ..., today=None) -> refdata_sync.SyncResult:
    """Load or refresh the reference data, then publish: the levels' feeds follow what the hub now holds."""
    result = refdata_sync.sync(engine, provinces, today)
    publish(engine)
    return result


def snapshot(conn: Connection, catalogue: str, version: int | None = None) -> dict[str, Any]:
    version = version or latest_version(conn, catalogue)
    if version is None:
        raise PublishError(f"no catalogue named {catalogue!r} has been published")
    entries = conn.execute(select(catalogue_version.c.entries).where(
        catalogue_version.c.catalogue == catalogue, catalogue_version.c.version == version)).scalar()
    if entries is None:
        raise PublishError(f"catalogue {catalogue!r} has no version {version}")
    return {"catalogue": catalogue, "version": version, "entries": entries}


def delta(conn: Connection, catalogue: str, since: int | None) -> dict[str, Any]:
    """What changed from version ``since`` (None: from nothing) to the latest."""
    new = snapshot(conn, catalogue)
    old = snapshot(conn, catalogue, since)["entries"] if since else {}
    return {"catalogue": catalogue, "from_version": since, "to_version": new["version"],
            "added": [v for k, v in new["entries"].items() if k not in old],
            "changed": [v for k, v in new["entries"].items() if k in old and old[k] != v],
            "removed": sorted(k for k in old if k not in new["entries"])}


def push(engine: Engine, catalogue: str, *, target: str, url: str, token_env: str | None = None,
         timeout: float = 10.0) -> dict[str, Any]:
    """Send the delta since the target's last acknowledged version; nothing if it is current."""
    with engine.connect() as conn:
        acked = conn.execute(select(func.max(catalogue_push.c.to_version)).where(
            catalogue_push.c.catalogue == catalogue, catalogue_push.c.target == target,
            catalogue_push.c.status == "acknowledged")).scalar()
        body = delta(conn, catalogue, acked)
    if acked == body["to_version"]:
        return {"status": "current", "version": acked}
    if token_env and not os.environ.get(token_env):
        raise PublishError(f"the push to {target} needs a token in ${token_env}, which is not set")
    headers = {"Authorization": f"Bearer {os.environ[token_env]}"} if token_env else {}
    try:
        response = requests.post(url, json=body, headers=headers, timeout=timeout)
        status = "acknowledged" if response.ok else "refused"
        ack = response.json() if response.ok and response.content else None
        code = response.status_code
    except requests.RequestException as exc:  # the message names the host, never the token
        status, ack, code = "failed", {"error": type(exc).__name__}, None
    with engine.begin() as conn:
        conn.execute(insert(catalogue_push).values(catalogue=catalogue, target=target, from_version=acked,
                                                   to_version=body["to_version"], status=status,
                                                   http_status=code, acknowledgement=ack))
    if status != "acknowledged":
        raise PublishError(f"pushing {catalogue} v{body['to_version']} to {target} {status} (HTTP {code})")
    return {"status": status, "version": body["to_version"], "sent": {k: len(body[k]) for k in
                                                                     ("added", "changed", "removed")}}
