"""A department's REST JSON API (the one-stop system's dossiers and statistics), page by page.

One batch per page. The position after a page says how to go on: the ``updated_since`` the run
asked with, the next page or cursor, and the latest update time seen so far. A run broken
after some pages committed resumes at the next page with the same filter; a finished run
leaves ``updated_since`` = the latest update time it saw, so the next run asks only for what
changed since. The API is asked *inclusively* (``>=``): records sharing that last timestamp are
read again, which costs a few ``unchanged`` rows and loses none (the merge is idempotent on the
natural key; asking ``>`` would drop a record updated in the same second as the last one seen).

Retries (connection errors, read timeouts, 429/500/502/503/504 with back-off and Retry-After)
are urllib3's ``Retry`` on a ``requests.Session``; what breaks after the headers (a connection
dropped mid-body, a body slower than the read timeout, JSON cut short, an HTML error page
answered as 200) urllib3 can't retry, so :meth:`RestJson.get` asks again, as many times. A
401 renews the credential once (re-reads the variable, or logs in again at ``token_url``), then
fails clearly. Credentials are sent
per request, never set on the session, and every URL the hub shows goes through
``redact_url``: the secret appears in no log, error, audit row or report.
"""
from __future__ import annotations

import base64
from collections.abc import Iterator
import dataclasses
import logging
import re
import time
from typing import Any
from urllib.parse import urlencode, urlsplit

import pandas as pd
import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import MaxRetryError
from urllib3.util.retry import Retry

from adapter_options.rest import Auth
from adapters import Adapter, Batch, register
from adapters.credentials import CredentialError, airflow_connection, env, redact_url, scrub
from adapters.pagination import Shifted, dig, paginator, record_identity
from adapters.text import as_text

RETRY_STATUSES = (429, 500, 502, 503, 504)

log = logging.getLogger(__name__)


class _Broken(Exception):
    """An answer that broke off after its headers, or is not the JSON it should be: worth asking again."""


def _flatten(record: dict[str, Any], prefix: str = "") -> dict[str, str | None]:
    """Nested objects become dotted columns (``don_vi.ma_dvhc``) the mapping can name."""
    out: dict[str, str | None] = {}
    for key, value in record.items():
        if isinstance(value, dict):
            out.update(_flatten(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = as_text(value)
    return out


class _Credentials:
    """Where the secret lives (``auth`` options or an Airflow connection) and the header it makes."""

    def __init__(self, adapter: "RestJson", auth: Auth, connection: str | None):
        self.adapter = adapter
        self.auth = {k: v for k, v in dataclasses.asdict(auth).items() if v is not None}
        self.connection = auth.connection or connection
        self.type = auth.type or ("bearer" if self.auth or self.connection else None)
        self.token_url = auth.token_url
        self.header_name = (auth.header or "X-API-Key") if self.type == "api_key" else "Authorization"
        self.secrets: list[str] = []
        self._header: str | None = None

    def _field(self, key: str, conn_field: str, what: str) -> str:
        if self.auth.get(f"{key}_env"):
            return env(self.auth[f"{key}_env"], what)
        if self.connection:
            conn = airflow_connection(self.connection)
            value = conn.get(conn_field) or (conn["extra"] or {}).get(key)
            if value:
                return str(value)
            raise CredentialError(f"Airflow connection {self.connection!r} has no {conn_field} ({what})")
        raise CredentialError(f"options.auth names no {key}_env nor connection for the {what}")

    def _make(self) -> str | None:
        if self.type is None:
            return None
        if self.type == "basic":
            if self.auth.get("env"):
                pair = env(self.auth["env"], "user:password for basic auth")
            else:
                user = self._field("username", "login", "user name")
                pair = f"{user}:{self._field('password', 'password', 'password')}"
            encoded = base64.b64encode(pair.encode()).decode()
            self.secrets += [pair, pair.partition(":")[2], encoded]
            return f"Basic {encoded}"
        if self.type == "api_key":  # a key sent as it is, in a header of the API's own naming
            key = env(self.auth["env"], "API key") if self.auth.get("env") else self._field("key", "password", "API key")
            self.secrets.append(key)
            return key
        if self.token_url:
            token = self.adapter.login(self.token_url, self._field("client_id", "login", "client id"),
                                       self._field("client_secret", "password", "client secret"))
        elif self.auth.get("env"):
            token = env(self.auth["env"], "bearer token")
        else:
            token = self._field("token", "password", "bearer token")
        self.secrets.append(token)
        return f"Bearer {token}"

    def header(self, renew: bool = False) -> dict[str, str]:
        if self._header is None or renew:
            try:
                self._header = self._make()
            except CredentialError as exc:
                raise self.adapter.fail(str(exc)) from None
        return {self.header_name: self._header} if self._header else {}


@register
class RestJson(Adapter):
    kind = "rest"

    def __init__(self, source_name: str, options):
        super().__init__(source_name, options)
        o = self.options
        self.base_url = (o.base_url or self._connection_url(o.connection)).rstrip("/")
        self.endpoint = "/" + o.endpoint.lstrip("/")
        if not self.base_url:
            raise self.fail(f"Airflow connection {o.connection!r} has no host: options.base_url is required")
        if urlsplit(self.base_url).username or urlsplit(self.base_url).password:
            # requests would send them as basic auth over the configured credential, and config
            # files are not where secrets live
            raise self.fail(f"options.base_url {redact_url(self.base_url)} holds credentials: use options.auth")
        self.params = dict(o.params)
        self.items_field = o.items_field
        self.updated_since_param = o.updated_since_param
        self.updated_field = o.updated_field
        self.key_field = o.key_field
        self.paginator = paginator(o.pagination, record_identity(o.key_field, o.updated_field))
        self.restarted: str | None = None
        self.timeout = (o.timeout.connect, o.timeout.read)
        self.retries = o.retries
        self.credentials = _Credentials(self, o.auth, o.connection)
        self.session = requests.Session()
        self.session.headers.update({"Accept": "application/json", "User-Agent": "lienthong-hub"})
        retry = Retry(total=self.retries, connect=self.retries, read=self.retries, status=self.retries,
                      backoff_factor=o.backoff, status_forcelist=RETRY_STATUSES,
                      allowed_methods=frozenset({"GET", "POST"}), respect_retry_after_header=True,
                      raise_on_status=False)
        for scheme in ("http://", "https://"):
            self.session.mount(scheme, HTTPAdapter(max_retries=retry))

    def _connection_url(self, conn_id: str | None) -> str:
        """The server's address from its Airflow connection, when the registry names no base_url:
        where a server is may change per deployment (or per run, as the demo's does)."""
        if not conn_id:
            return ""
        try:
            conn = airflow_connection(conn_id)
        except CredentialError as exc:
            raise self.fail(str(exc)) from None
        if not conn["host"]:
            return ""
        scheme = conn["conn_type"] if conn["conn_type"] in ("http", "https") else "https"
        port = f":{conn['port']}" if conn["port"] else ""
        path = f"/{conn['schema']}" if conn["schema"] else ""
        return f"{scheme}://{conn['host']}{port}{path}"

    def describe(self) -> dict[str, Any]:
        return {"file": redact_url(self.base_url + self.endpoint), "sha256": None}

    # --- HTTP --------------------------------------------------------------------------------

    def _where(self, url: str, params: dict[str, Any] | None = None) -> str:
        return redact_url(url + ("?" + urlencode(params) if params else ""))

    def _call(self, method: str, url: str, **kwargs) -> requests.Response:
        try:
            return self.session.request(method, url, timeout=self.timeout, **kwargs)
        except requests.RequestException as exc:  # the message may quote the URL: name the error only
            cause = getattr(exc.args[0], "reason", None) if exc.args else None
            kind = type(exc).__name__ + (f" ({type(cause).__name__})" if isinstance(cause, Exception) else "")
            where = f"{method} {self._where(url, kwargs.get('params'))}"
            if exc.args and isinstance(exc.args[0], MaxRetryError):  # urllib3 spent the retries already
                raise self.fail(f"{where} failed after {self.retries} retries: {kind}") from None
            # broken after the headers (connection dropped mid-body, a body slower than the read
            # timeout): urllib3 does not retry these, get() does
            raise _Broken(f"{where} broke off: {kind}") from None

    def _failed(self, method: str, url: str, params: dict | None, response: requests.Response) -> Exception:
        reason = scrub(response.reason or "", self.credentials.secrets)
        return self.fail(f"{method} {self._where(url, params)} answered HTTP {response.status_code} {reason}".rstrip())

    def login(self, token_url: str, client_id: str, client_secret: str) -> str:
        url = token_url if "://" in token_url else self.base_url + "/" + token_url.lstrip("/")
        self.credentials.secrets.append(client_secret)
        response = self._call("POST", url, data={"grant_type": "client_credentials", "client_id": client_id,
                                                 "client_secret": client_secret})
        if response.status_code != 200:
            raise self._failed("POST", url, None, response)
        token = (response.json() or {}).get("access_token")
        if not token:
            raise self.fail(f"POST {self._where(url)} answered no access_token")
        return token

    def get(self, params: dict[str, Any]) -> Any:
        """The page's JSON; an answer broken off mid-body, cut short or not JSON is asked again,
        up to ``retries`` times with back-off, like the faults urllib3 retries before the body."""
        url = self.base_url + self.endpoint
        for attempt in range(self.retries + 1):
            try:
                return self._get(url, params)
            except _Broken as exc:
                if attempt == self.retries:
                    raise self.fail(f"{exc} ({attempt} {'retry' if attempt == 1 else 'retries'} made)") from None
                log.warning("source %r: %s; retry %d of %d", self.source_name, exc, attempt + 1, self.retries)
                time.sleep(self.options.backoff * 2 ** attempt)

    def _get(self, url: str, params: dict[str, Any]) -> Any:
        response = self._call("GET", url, params=params, headers=self.credentials.header())
        if response.status_code == 401 and self.credentials.type:  # expired? renew once
            response = self._call("GET", url, params=params, headers=self.credentials.header(renew=True))
            if response.status_code == 401:
                raise self.fail(f"GET {self._where(url, params)} was refused (HTTP 401) with a renewed "
                                "credential: check the source's auth settings")
        if response.status_code != 200:
            raise self._failed("GET", url, params, response)
        try:
            return response.json()
        except ValueError:
            kind = (response.headers.get("Content-Type") or "no content type").split(";")[0]
            what = "JSON cut short or malformed" if "json" in kind else f"{kind}, not JSON"
            title = re.search(rb"<title[^>]*>([^<]{1,80})", response.content[:4096], re.I)
            shown = f" (page title {scrub(title[1].decode(errors='replace').strip(), self.credentials.secrets)!r})" \
                if title else ""
            raise _Broken(f"GET {self._where(url, params)} answered {what}{shown}") from None

    # --- pages and batches ---------------------------------------------------------------------

    def _pages(self, since: str | None, start: Any) -> Iterator[tuple[dict, list[dict], Any, Any]]:
        """(the request's parameters, its new items, how to ask for the next page or None, the
        identity of its last record).

        Where the offsets shift during the read (:class:`Shifted`), the read starts again from the
        first page of the same ``updated_since``: pages already loaded are read again and merge as
        unchanged, and the record that moved is not lost. ``self.restarted`` says why, for the audit."""
        at, restarts = start, 0
        while True:
            params = dict(self.params)
            if since and self.updated_since_param:
                params[self.updated_since_param] = since
            params.update(self.paginator.params(at))
            body = self.get(params)
            items = body if isinstance(body, list) and not self.items_field else dig(body, self.items_field)
            if not isinstance(items, list):
                raise self.fail(f"GET {self._where(self.base_url + self.endpoint, params)}: no list at "
                                f"{self.items_field!r} in the answer")
            try:
                items = self.paginator.fresh(at, items)
            except Shifted as exc:
                restarts += 1
                if restarts > getattr(self.options.pagination, "max_restarts", 0):
                    raise self.fail(f"the records moved under the offsets {restarts} times in one read ({exc}); "
                                    "use cursor pagination, or run when the source is quiet") from None
                self.restarted = (f"offsets shifted at offset {at} ({exc}): read restarted from "
                                  f"updated_since {since!r}")
                log.warning("source %r: %s", self.source_name, self.restarted)
                at, self.paginator.last = None, None
                continue
            following = self.paginator.following(at, items, body)
            yield params, items, following, self.paginator.last
            if following is None or not items:
                return
            at = following

    def _latest(self, values: list[str | None], current: str | None) -> str | None:
        """The latest update time among raw values, compared as times, kept as the API wrote it."""
        candidates = [v for v in values if v] + ([current] if current else [])
        if not candidates:
            return None
        parsed = pd.to_datetime(pd.Series(candidates), errors="coerce", utc=True, format="ISO8601")
        return candidates[int(parsed.idxmax())] if parsed.notna().any() else max(candidates)

    def batches(self, resume_from: dict[str, Any] | None = None) -> Iterator[Batch]:
        state = resume_from if resume_from and resume_from.get("endpoint") == self.endpoint else {}
        incremental = bool(self.updated_field and self.updated_since_param)
        since = state.get("updated_since") if incremental else None
        start = state.get("next")  # a run broke off: go on where it stopped, with its filter
        self.paginator.last = state.get("last") if start is not None else None
        self.restarted = None
        latest = state.get("max_updated") if start is not None else since
        origin = self.describe()
        pending: tuple[dict, list[dict], Any, Any] | None = None

        def batch(page: tuple[dict, list[dict], Any, Any], last: bool) -> Batch:
            nonlocal latest
            params, items, following, last_record = page
            records = [_flatten(r) for r in items]
            columns = list(dict.fromkeys(c for r in records for c in r))
            frame = pd.DataFrame([[r.get(c) for c in columns] for r in records], columns=columns, dtype=object)
            if self.updated_field in frame.columns:
                latest = self._latest(frame[self.updated_field].tolist(), latest)
            request = f"GET {self._where(self.endpoint, params)}"
            if self.key_field in frame.columns:
                positions = [f"GET {self.endpoint}#{self.key_field}={k}" for k in frame[self.key_field]]
            else:
                positions = [f"{request}#{i}" for i in range(len(frame))]
            position = {"endpoint": self.endpoint, "updated_since": latest if last else since,
                        "next": None if last else following, "max_updated": latest}
            if last_record is not None and not last:  # a resumed read proves it again (pagination.Offset)
                position["last"] = last_record
            if self.restarted:  # said in the audit row of the batch that follows the restart
                position["restarted"], self.restarted = self.restarted, None
            return Batch(records=frame, positions=positions, position=position, origin=origin)

        try:
            for page in self._pages(since, start):
                if pending is not None:  # a page came after it, so it was not the last
                    yield batch(pending, last=not page[1])
                    pending = None
                if page[1]:
                    if page[2] is None:
                        yield batch(page, last=True)
                    else:
                        pending = page
            if pending is not None:
                yield batch(pending, last=True)
        finally:
            self.session.close()
