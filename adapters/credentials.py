"""Secrets for adapters: read from the environment or an Airflow connection, never from config,
and kept out of everything the hub writes (logs, errors, audit rows, reports).

An Airflow connection is read from its ``AIRFLOW_CONN_<ID>`` variable (URI or JSON form), the
way Airflow's secrets backends hand it to tasks, so the adapters do not import Airflow.
"""
from __future__ import annotations

from common.errors import HubError

import json
import os
import re
from typing import Any
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit, urlunsplit

SECRET_PARAM = re.compile(r"token|secret|password|passwd|pwd|key|signature|sig|auth", re.I)


class CredentialError(HubError, ValueError):
    """A credential that is not where the source says it is (the message names where, never what)."""


def env(name: str, what: str) -> str:
    value = os.environ.get(name)
    if not value:
        raise CredentialError(f"environment variable {name} ({what}) is not set")
    return value


def airflow_connection(conn_id: str) -> dict[str, Any]:
    """The connection's fields: conn_type, host, port, schema, login, password, extra (a dict)."""
    var = "AIRFLOW_CONN_" + re.sub(r"[^A-Za-z0-9]", "_", conn_id).upper()
    raw = env(var, f"Airflow connection {conn_id!r}")
    if raw.lstrip().startswith("{"):
        try:
            data = json.loads(raw)
        except ValueError:
            raise CredentialError(f"{var} is neither a connection URI nor JSON") from None
        extra = data.get("extra") or {}
        return {"conn_type": data.get("conn_type"), "host": data.get("host"), "port": data.get("port"),
                "schema": data.get("schema"), "login": data.get("login"), "password": data.get("password"),
                "extra": json.loads(extra) if isinstance(extra, str) else extra}
    parts = urlsplit(raw)
    query = dict(parse_qsl(parts.query))
    extra = json.loads(query.pop("__extra__")) if "__extra__" in query else query
    return {"conn_type": parts.scheme.replace("-", "_"), "host": unquote(parts.hostname or "") or None,
            "port": parts.port, "schema": unquote(parts.path.lstrip("/")) or None,
            "login": unquote(parts.username) if parts.username else None,
            "password": unquote(parts.password) if parts.password else None, "extra": extra}


def redact_url(url: str) -> str:
    """The URL as it may be shown: no user or password, no value of a token-like query parameter."""
    parts = urlsplit(url)
    netloc = parts.hostname or ""
    if parts.port:
        netloc += f":{parts.port}"
    query = urlencode([(k, "***" if SECRET_PARAM.search(k) else v) for k, v in parse_qsl(parts.query)])
    return urlunsplit((parts.scheme, netloc, parts.path, query, ""))


def scrub(text: str, secrets: list[str]) -> str:
    """Belt and braces for messages built from a server's or driver's words."""
    for s in sorted((s for s in secrets if s and len(s) >= 4), key=len, reverse=True):
        text = text.replace(s, "***")
    return text
