"""edXML messages (QCVN 102:2016/BTTTT) from a document-management system's drop folder.

Document-management systems exchange edXML, not exports: the hub reads the messages they
drop. One folder is registered as two sources, since the pipeline maps one source to one
schema and each keeps its own watermark::

    - name: sotttt_edxml_documents
      adapter: edxml
      schema: official_document
      options: {path: /srv/edxml/inbox, record: document}   # pattern: "*.edxml", chunk_size: 500
      date_formats: ["%Y/%m/%d %H:%M:%S", "%Y/%m/%d", "%d/%m/%Y %H:%M:%S", "%d/%m/%Y"]
      values: {document_type: {Công văn: CV, Quyết định: QĐ, Thông báo: TB, ...}}
    - name: sotttt_edxml_traces
      adapter: edxml
      schema: document_trace
      options: {path: /srv/edxml/inbox, record: trace}
      date_formats: [...]

Records carry the schema's field names, so ``fields:`` stays empty. ``TypeName`` ("Công văn")
reaches ``document_type`` through the source's ``values:`` (config, not code); a name not
mapped fails the code-list check and is quarantined with that reason. QCVN 102 writes dates
``yyyy/mm/dd``, some systems ``dd/mm/yyyy`` (a sample does): the formats can't be confused.

**What becomes a record.** A document message gives one ``official_document`` row
(``record: document``) and one ``document_trace`` row per ``TraceHeader`` (``record: trace``).
A ``TraceHeader`` holds an organ and a time but no status: it says the document passed through
that organ (in the samples, often its sender), so it is recorded as status ``01`` (arrived) at
that organ, with the description saying it came from the trace list. A status message
(``StatusCode`` 01-16) gives one trace row: the organ that sent it (``From``) reached that
status for the document it answers (``ResponseFor/DocumentId``). A message is a status message
if its header has ``StatusCode`` (or answers a document and has none of ``Code``, ``Subject``,
``DocumentType``), else a document.

**Parsing.** lxml's parser-target (SAX) interface, fed 1 MiB at a time, rather than
``iterparse``: ``iterparse`` hands an element over with its whole text, and an attachment is
one text node of tens of megabytes. Text arrives here in pieces as it is read, so attachments
are base64-decoded in slices into sha256 and a byte count and never held whole; only the
header elements the schemas use are kept, each capped. Entities are not resolved, no DTD is
loaded, nothing is fetched from the network, and a message declaring a DOCTYPE is refused
outright (edXML has none; its only use in a message is entity tricks).

**Quarantine.** A message is rejected whole, with nothing of it loaded by either source, if
it is not well-formed (check ``xml_well_formed``, the parser's own message with line and
column, namespace errors included), declares a DOCTYPE (``xml_doctype``), has a root other
than ``edXML`` in the QCVN 102 namespace (``edxml_namespace``), an attachment that is not
base64 (``edxml_attachment``), a header element over 64 KiB (``edxml_limits``), or lacks the
elements a row can't do without (``edxml_required``; document: ``DocumentId``,
``From/OrganId``, ``Code/CodeNumber``, ``Subject``, ``PromulgationDate``, ``TypeName``;
status: ``From/OrganId``, ``ResponseFor/DocumentId``, ``StatusCode``). Its file name, size,
sha256 and text (whole up to 1 MiB, else the first 500 characters) go to quarantine and the next
message goes on. A status
message is quarantined by the ``trace`` source, anything else (what can't be read at all
included) by the ``document`` source, so each lands there once. Elements present but empty pass on and fail the schema's checks field
by field. :func:`read_message` takes any seekable binary stream, so messages fetched from an
exchange endpoint go through the same code.

**Agency identifiers and document types, as the standard reads them.** Every OrganId of a
message (From, To, TraceHeader) is checked against the structure of electronic
identifiers of agencies (``refdata.agency_id``: ``V1V2V3.Z1Z2.Y1Y2.MX1X2``); ``null`` and other
words for nothing are a missing value, never a code (a recipient ``null`` is dropped; a sender
``null`` fails the schema's required check). A message with a code that doesn't fit (a platform's
system id such as ``vxp.saas.03``) is quarantined whole with check ``agency_id`` (option
``agency_codes: quarantine``, the default), or loaded with the problems in ``agency_code_problems``
(``agency_codes: flag``), which the auditors' report shows. ``TypeName`` ("Thông tư") is read
against the labels of the ``document_type`` code list (``refdata/code_lists.yaml``: every type of
Decree 30/2020 and the legal document types) and becomes its code (``TT``) before the source's
``values:`` apply (option ``document_types: as_is`` leaves it to them).

**Signatures.** ``has_signature``: a ``Signature`` element (XMLDSig, or the XMLDSig shape in
the edXML namespace that some systems send). Where it carries an ``X509Certificate``,
signxml verifies the signature against that certificate (``signature_verified``), with its
default policy: SHA-1 refused, certificate valid now, and the signature must cover the whole
message. This proves the message is intact and signed by the certificate's key, not that the
certificate is trusted (that needs the national CA roots). Verifying needs the whole document
in memory, so it is done only for messages up to ``verify_max_bytes`` (20 MB); above that,
and with no certificate, ``signature_verified`` is empty. Why one failed is logged.

**Links.** The folder is written by other systems: a symbolic link in it (or a file reached
through a linked folder) is never followed. It is quarantined by the document source (check
``edxml_link``) with its name only, and files are opened with ``O_NOFOLLOW``.

**Resume.** Files are read in order of (arrival stamp, name), where the stamp is
``max(mtime, ctime)``: ctime is set when a file lands in the folder and can't be set back by
copy tools that keep an old mtime (``cp -p``, rsync, unzip), so a file arriving later sorts
later whatever its name or mtime. The watermark after a batch is the latest stamp committed
plus the names (with stamps) of committed messages within ``grace_seconds`` (10 min) of it. A
file is read if its stamp is newer than that horizon and it is not in that set: a late file
with an earlier name or a tied stamp is still read, a rewritten file (new stamp) is read
again, and the watermark stays bounded (a set of every hash ever read would grow forever;
(stamp, name) alone would skip a file tied with or landing just behind the last one).
Files younger than ``settle_seconds`` (5 s), or changed while read, wait for the next run, so
a message still being written is not read half-way. Each batch's position also names the
sha256 of every message in it, so a row's ``audit.batch`` leads to the exact file version. A batch never splits a message, and starts afresh when a record
would repeat a natural key already in it (an update or a later status of the same document):
the later message then updates the row instead of failing the in-batch duplicate check.
"""
from __future__ import annotations

import base64
import binascii
import errno
import hashlib
import json
import logging
import os
import stat
import time
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import pandas as pd
from lxml import etree

from adapters import Adapter, Batch, Rejected, register
from refdata.agency_id import agency_problem, is_missing

log = logging.getLogger(__name__)

EDXML_NS = "http://www.mic.gov.vn/TBT/QCVN_102_2016"
DSIG_NS = "http://www.w3.org/2000/09/xmldsig#"
BLOCK = 1 << 20
HEAD_CHARS = 500
WHOLE_MAX = 1 << 20
"""A rejected message up to this size is kept whole in quarantine (its text); a larger one keeps
its first characters, its size and sha256, so the file can still be matched if the sender resends."""
MAX_TEXT = 64 * 1024  # a header element longer than this is not a header element

DOCUMENT_COLUMNS = ["document_id", "organ_id", "organ_name", "code_number", "code_notation", "document_type",
                    "subject", "promulgation_date", "promulgation_place", "signer_name", "signer_position",
                    "steering_type", "priority", "due_date", "recipients", "attachments", "has_signature",
                    "signature_verified", "message_id", "agency_code_problems"]
TRACE_COLUMNS = ["document_id", "recipient_organ_id", "status_code", "status_at", "description", "staff_name",
                 "message_id", "agency_code_problems"]
RECORDS = {"document": ("official_document", DOCUMENT_COLUMNS), "trace": ("document_trace", TRACE_COLUMNS)}

HEADER = ("edXML", "edXMLEnvelope", "edXMLHeader")
MESSAGE_HEADER = HEADER + ("MessageHeader",)
TRACE_HEADER = HEADER + ("TraceHeaderList", "TraceHeader")
ATTACHMENT = ("edXML", "AttachmentEncoded", "Attachment")
# MessageHeader elements kept (paths below it); everything else in the header is skipped.
HEADER_FIELDS = {
    ("DocumentId",), ("From", "OrganId"), ("From", "OrganName"), ("To", "OrganId"),
    ("Code", "CodeNumber"), ("Code", "CodeNotation"), ("PromulgationInfo", "Place"),
    ("PromulgationInfo", "PromulgationDate"), ("DocumentType", "TypeName"), ("Subject",),
    ("SignerInfo", "FullName"), ("SignerInfo", "Position"), ("SteeringType",), ("OtherInfo", "Priority"),
    ("DueDate",), ("ResponseFor", "DocumentId"), ("StatusCode",), ("Timestamp",), ("Description",),
    ("StaffInfo", "Staff"),
}
HEADER_PRESENCE = {("Code",), ("DocumentType",), ("ResponseFor",)}
REQUIRED = {
    "document": [("DocumentId",), ("From", "OrganId"), ("Code", "CodeNumber"), ("Subject",),
                 ("PromulgationInfo", "PromulgationDate"), ("DocumentType", "TypeName")],
    "status": [("From", "OrganId"), ("ResponseFor", "DocumentId"), ("StatusCode",)],
}
TRACE_DESCRIPTION = "TraceHeader: the document passed through this organ (no status code in edXML; recorded as 01)"
_WHITESPACE = str.maketrans("", "", " \t\r\n")


class MessageError(Exception):
    """A message the hub can't read as edXML; it is quarantined whole with ``reason``."""

    message: Message | None = None
    """What was read of it (file name, size, sha256, first characters), for the raw record."""

    def __init__(self, check: str, reason: str):
        self.check, self.reason = check, reason
        super().__init__(reason)


class _Base64Digest:
    """sha256 and size of base64 text fed in pieces, decoded a slice at a time."""

    def __init__(self):
        self.sha256, self.size, self._pending, self._padded = hashlib.sha256(), 0, "", False

    def feed(self, text: str) -> None:
        text = self._pending + text.translate(_WHITESPACE)
        if self._padded and text:
            raise ValueError("data after the base64 padding")
        cut = len(text) - len(text) % 4
        if cut:
            chunk = base64.b64decode(text[:cut], validate=True)
            self.sha256.update(chunk)
            self.size += len(chunk)
            self._padded = text[cut - 1] == "="
        self._pending = text[cut:]

    def close(self) -> None:
        if self._pending:
            raise ValueError(f"base64 ends with {len(self._pending)} stray characters")


@dataclass
class Message:
    """What the hub keeps of one edXML message: header values, traces, attachment digests."""

    name: str
    size: int = 0
    sha256: str = ""
    head: str = ""
    header: dict[tuple[str, ...], list[str]] = field(default_factory=dict)
    traces: list[dict[str, str]] = field(default_factory=list)
    attachments: list[dict[str, Any]] = field(default_factory=list)
    has_signature: bool = False
    certificate: str | None = None
    signature_verified: bool | None = None

    def first(self, *path: str) -> str | None:
        values = self.header.get(path)
        return values[0] if values else None

    def organ_ids(self) -> list[str]:
        """Every agency code the message is from or to (sender, recipients, its trace list),
        missing values left out. ``ResponseFor/OrganId`` only names the answered document's
        sender: that document is checked (and quarantined) on its own."""
        found = [v for p in (("From", "OrganId"), ("To", "OrganId"))
                 for v in self.header.get(p, [])] + [t.get("OrganId") for t in self.traces]
        return [v for v in found if not is_missing(v)]

    def agency_problems(self) -> list[str]:
        return list(dict.fromkeys(p for v in self.organ_ids() if (p := agency_problem(v))))

    @property
    def kind(self) -> str | None:
        if ("StatusCode",) in self.header:
            return "status"
        if any(p in self.header for p in [("Code",), ("Subject",), ("DocumentType",), ("DocumentId",)]):
            return "document"
        return "status" if ("ResponseFor",) in self.header else None


class _Target:
    """lxml parser target: follows the element path and keeps only what the schemas use."""

    def __init__(self, message: Message):
        self.m = message
        self.path: tuple[str, ...] = ()
        self.text: list[str] | None = None  # the element being captured, at depth capture_depth
        self.text_len = self.capture_depth = 0
        self.capture_to: tuple[str, Any] | None = None
        self.digest: _Base64Digest | None = None
        self.signature_depth: int | None = None
        self.root_seen = False

    def doctype(self, name, public_id, system_url):
        raise MessageError("xml_doctype", f"the message declares a DOCTYPE ({name}); edXML messages carry none "
                                          "and the hub does not read one")

    def start(self, tag, attrib, nsmap=None):
        ns, _, local = tag[1:].partition("}") if tag.startswith("{") else ("", "", tag)
        if not self.root_seen:
            self.root_seen = True
            if (ns, local) != (EDXML_NS, "edXML"):
                raise MessageError("edxml_namespace", f"wrong namespace: the root element is {tag}, an edXML "
                                                      f"message's is {{{EDXML_NS}}}edXML")
        name = local if ns == EDXML_NS else tag
        self.path += (name,)
        path = self.path
        if local == "Signature" and ns in (EDXML_NS, DSIG_NS) and self.signature_depth is None:
            self.m.has_signature = True
            self.signature_depth = len(path)
        elif self.signature_depth is not None and local == "X509Certificate" and self.m.certificate is None:
            self._capture(("certificate", None))
        elif path[:4] == MESSAGE_HEADER and len(path) > 4:
            rel = path[4:]
            if rel in HEADER_FIELDS:
                self.m.header.setdefault(rel, [])
                self._capture(("header", rel))
            elif rel in HEADER_PRESENCE:
                self.m.header.setdefault(rel, [])
        elif path == TRACE_HEADER:
            self.m.traces.append({})
        elif path[:5] == TRACE_HEADER and len(path) == 6 and name in ("OrganId", "Timestamp"):
            self._capture(("trace", name))
        elif path == ATTACHMENT:
            self.m.attachments.append({"name": None, "content_type": None, "size": None, "sha256": None})
        elif path[:3] == ATTACHMENT and len(path) == 4:
            if name == "ContentTransferEncoded":
                self.digest, self.capture_depth = _Base64Digest(), len(path)
            elif name in ("AttachmentName", "ContentType"):
                self._capture(("attachment", "name" if name == "AttachmentName" else "content_type"))

    def _capture(self, to: tuple[str, Any]) -> None:
        self.text, self.text_len, self.capture_to, self.capture_depth = [], 0, to, len(self.path)

    def data(self, data: str):
        if self.digest is not None:
            try:
                self.digest.feed(data)
            except (binascii.Error, ValueError) as exc:
                raise MessageError("edxml_attachment", f"attachment {self._attachment_name()} is not valid "
                                                       f"base64: {exc}") from None
        elif self.text is not None:
            self.text_len += len(data)
            if self.text_len > MAX_TEXT:
                raise MessageError("edxml_limits", f"element {'/'.join(self.path[1:])} is longer than "
                                                   f"{MAX_TEXT} characters")
            self.text.append(data)

    def _attachment_name(self) -> str:
        return repr(self.m.attachments[-1]["name"]) if self.m.attachments else "?"

    def end(self, tag):
        if len(self.path) != self.capture_depth:
            pass
        elif self.digest is not None:
            try:
                self.digest.close()
            except ValueError as exc:
                raise MessageError("edxml_attachment", f"attachment {self._attachment_name()} is not valid "
                                                       f"base64: {exc}") from None
            self.m.attachments[-1].update(size=self.digest.size, sha256=self.digest.sha256.hexdigest())
            self.digest, self.capture_depth = None, 0
        elif self.text is not None:
            value = "".join(self.text).strip()
            where, key = self.capture_to
            if where == "header":
                self.m.header[key].append(value)
            elif where == "trace":
                self.m.traces[-1][key] = value
            elif where == "attachment":
                self.m.attachments[-1][key] = value or None
            elif where == "certificate":
                self.m.certificate = value or None
            self.text = self.capture_to = None
            self.capture_depth = 0
        if self.signature_depth == len(self.path):
            self.signature_depth = None
        self.path = self.path[:-1]

    def close(self):
        return self.m


def _parser(target: _Target) -> etree.XMLParser:
    return etree.XMLParser(target=target, resolve_entities=False, no_network=True, load_dtd=False,
                           huge_tree=False)


def read_message(fh: BinaryIO, name: str, *, verify_max_bytes: int = 20 << 20) -> Message:
    """Read one message from a seekable binary stream; raise :class:`MessageError` if it is unusable.

    The stream is read once for parsing, hashing and size, and once more only to verify a
    signature. The :class:`MessageError` carries what the raw record needs (``message``).
    """
    message = Message(name)
    digest = hashlib.sha256()
    parser, error = _parser(_Target(message)), None
    seen_log = 0

    def step(call, *args) -> MessageError | None:
        # The first error in document order wins: a namespace error (undeclared prefix) is only
        # logged, and the parse goes on to fail later, or a parser-target check to raise.
        nonlocal seen_log
        try:
            call(*args)
            problem = None
        except etree.XMLSyntaxError as exc:
            problem = MessageError("xml_well_formed", f"not well-formed XML: {_syntax(exc)}")
        except MessageError as exc:
            problem = exc
        entries = list(parser.feed_error_log)
        for entry in entries[seen_log:]:
            if entry.level >= etree.ErrorLevels.ERROR:
                return MessageError("xml_well_formed", f"not well-formed XML: {entry.message}, "
                                                       f"line {entry.line}, column {entry.column}")
        seen_log = len(entries)
        return problem

    while block := fh.read(BLOCK):
        if not message.size:
            message.head = block[:HEAD_CHARS * 4].decode("utf-8", "replace")[:HEAD_CHARS]
        digest.update(block)
        message.size += len(block)
        if error is None:
            error = step(parser.feed, block)
    if error is None:
        error = step(parser.close) if message.size else MessageError("xml_well_formed", "the message is empty "
                                                                                        "(0 bytes)")
    message.sha256 = digest.hexdigest()
    if error is None:
        kind = message.kind
        if kind is None:
            error = MessageError("edxml_required", "neither a document (no Code, Subject, DocumentType, DocumentId "
                                                   "in edXMLEnvelope/edXMLHeader/MessageHeader) nor a status "
                                                   "message (no StatusCode, ResponseFor)")
        else:
            missing = ["/".join(p) for p in REQUIRED[kind] if p not in message.header]
            if missing:
                error = MessageError("edxml_required", f"{kind} message lacks required elements: "
                                                       f"{', '.join(missing)}")
    if error is not None:
        error.message = message
        raise error
    if message.has_signature and message.certificate:
        if message.size <= verify_max_bytes:
            fh.seek(0)
            message.signature_verified = _verify(fh, message)
        else:
            log.info("%s: signature not verified, the message is larger than %d bytes", name, verify_max_bytes)
    return message


def _syntax(exc: etree.XMLSyntaxError) -> str:
    text = exc.msg or str(exc)
    return text if "line" in text or not exc.lineno else f"{text}, line {exc.lineno}"


def _verify(fh: BinaryIO, message: Message) -> bool:
    from cryptography import x509
    from signxml import XMLVerifier
    from signxml.exceptions import SignXMLException

    try:
        certificate = x509.load_der_x509_certificate(base64.b64decode(message.certificate.translate(_WHITESPACE)))
        # huge_tree: an attachment may be one text node over libxml2's 10 MB default; the size
        # is capped by verify_max_bytes and the streaming pass has already refused any DTD.
        parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=True)
        root = etree.parse(fh, parser).getroot()
        result = XMLVerifier().verify(root, x509_cert=certificate)
        if result.signed_xml is None or result.signed_xml.tag != root.tag:
            raise SignXMLException("the signature covers only part of the message")
        return True
    except (SignXMLException, ValueError, etree.XMLSyntaxError) as exc:
        log.info("%s: signature does not verify: %s", message.name, exc)
        return False


def _value(value: str | None) -> str | None:
    """A header value, with the words systems write for nothing (``null``) read as missing."""
    return None if is_missing(value) else value


def document_record(m: Message, type_codes: dict[str, str] | None = None) -> dict[str, str | None]:
    first = lambda *path: _value(m.first(*path))  # noqa: E731
    type_name = first("DocumentType", "TypeName")
    if type_codes and type_name:
        type_name = type_codes.get(_fold(type_name), type_name)
    return {
        "document_id": first("DocumentId"), "organ_id": first("From", "OrganId"),
        "organ_name": first("From", "OrganName"), "code_number": first("Code", "CodeNumber"),
        "code_notation": first("Code", "CodeNotation"), "document_type": type_name,
        "subject": first("Subject"), "promulgation_date": first("PromulgationInfo", "PromulgationDate"),
        "promulgation_place": first("PromulgationInfo", "Place"), "signer_name": first("SignerInfo", "FullName"),
        "signer_position": first("SignerInfo", "Position"), "steering_type": first("SteeringType"),
        "priority": first("OtherInfo", "Priority"), "due_date": first("DueDate"),
        "recipients": ";".join(v for v in m.header.get(("To", "OrganId"), []) if not is_missing(v)) or None,
        "attachments": json.dumps(m.attachments, ensure_ascii=False),
        "has_signature": str(m.has_signature).lower(),
        "signature_verified": None if m.signature_verified is None else str(m.signature_verified).lower(),
        "message_id": m.name, "agency_code_problems": None,
    }


def trace_records(m: Message) -> list[tuple[str, dict[str, str | None]]]:
    """(position suffix, record) for each trace the message gives."""
    if m.kind == "status":
        return [("status", {
            "document_id": _value(m.first("ResponseFor", "DocumentId")),
            "recipient_organ_id": _value(m.first("From", "OrganId")),
            "status_code": _value(m.first("StatusCode")), "status_at": _value(m.first("Timestamp")),
            "description": _value(m.first("Description")), "staff_name": _value(m.first("StaffInfo", "Staff")),
            "message_id": m.name, "agency_code_problems": None})]
    return [(f"trace:{i}", {
        "document_id": _value(m.first("DocumentId")), "recipient_organ_id": _value(t.get("OrganId")),
        "status_code": "01", "status_at": t.get("Timestamp"), "description": TRACE_DESCRIPTION, "staff_name": None,
        "message_id": m.name, "agency_code_problems": None}) for i, t in enumerate(m.traces, 1)]


def _fold(name: str) -> str:
    return " ".join(unicodedata.normalize("NFC", name).casefold().split())


def document_type_codes() -> dict[str, str]:
    """Folded label or code -> code, from the ``document_type`` code list the hub ships."""
    import yaml

    from refdata.sync import CODE_LISTS

    codes = yaml.safe_load(CODE_LISTS.read_text(encoding="utf-8"))["document_type"]
    return {**{_fold(code): code for code in codes}, **{_fold(label): code for code, label in codes.items()}}


@dataclass
class _Pending:
    records: list[dict] = field(default_factory=list)
    positions: list[str] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)
    keys: set[tuple] = field(default_factory=set)
    messages: dict[str, str] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.records) + len(self.rejected)


@register
class EdxmlFolder(Adapter):
    kind = "edxml"

    def __init__(self, source_name: str, options):
        super().__init__(source_name, options)
        o = self.options
        self.folder = Path(o.path)
        self.pattern, self.record, self.chunk_size = o.pattern, o.record, o.chunk_size
        self.grace_ns = int(o.grace_seconds * 1e9)
        self.settle_ns = int(o.settle_seconds * 1e9)
        self.verify_max_bytes = o.verify_max_bytes
        self.agency_codes = o.agency_codes
        self.type_codes = document_type_codes() if o.document_types == "standard" else None
        from schemas import get_schema

        schema_name, self.columns = RECORDS[self.record]
        self.key = get_schema(schema_name).natural_key

    def describe(self) -> dict[str, Any]:
        if not self.folder.is_dir():
            raise self.fail(f"drop folder not found: {self.folder}")
        return {"file": str(self.folder / self.pattern)}

    def listing(self) -> list[tuple[int, str, Path]]:
        """(arrival stamp, name, path) of the settled files, in reading order."""
        self.describe()
        settled = time.time_ns() - self.settle_ns
        files = []
        matching = sorted(self.folder.glob(self.pattern))
        if not matching:  # not even one message, ever: a wrong folder or pattern, not a quiet day
            raise self.fail(f"drop folder {self.folder} has no files matching {self.pattern!r} (options.pattern)")
        for path in matching:
            try:
                st = path.lstat()  # a link's own stamp: what it points to is never looked at
            except FileNotFoundError:  # taken away while listing
                continue
            stamp = max(st.st_mtime_ns, st.st_ctime_ns)
            if (stat.S_ISREG(st.st_mode) or stat.S_ISLNK(st.st_mode)) and stamp <= settled:
                files.append((stamp, path.name, path))
        return sorted(files)

    def _outside(self, path: Path) -> str | None:
        """Why ``path`` is not a message of this folder (a link, or a way out of it), or None.

        Anyone who can drop a file can drop a link: following it would copy whatever it points to
        (``/etc/shadow``, another department's folder) into quarantine or the warehouse."""
        if path.is_symlink():
            return "is a symbolic link; the hub reads only regular files in the drop folder, never through a link"
        if not path.resolve().is_relative_to(self.folder.resolve()):
            return "resolves to a file outside the drop folder (a linked folder on its path); it is not read"
        return None

    def batches(self, resume_from: dict[str, Any] | None = None) -> Iterator[Batch]:
        resume_from = resume_from or {}
        latest: int | None = resume_from.get("latest_ns")
        seen: dict[str, int] = dict(resume_from.get("seen", {}))
        horizon = latest - self.grace_ns if latest is not None else None
        todo = [(s, n, p) for s, n, p in self.listing()
                if seen.get(n) != s and (horizon is None or s >= horizon)]
        pending = _Pending()

        def flush() -> Batch:
            nonlocal pending
            keep_from = latest - self.grace_ns
            batch = Batch(
                records=pd.DataFrame(pending.records, columns=self.columns, dtype=object),
                positions=pending.positions,
                position={"latest_ns": latest, "seen": {n: s for n, s in sorted(seen.items()) if s >= keep_from},
                          "messages": pending.messages},
                origin={"file": str(self.folder / self.pattern)},
                rejected=pending.rejected,
            )
            pending = _Pending()
            return batch

        for stamp, name, path in todo:
            outcome = self._read(path, stamp)
            if outcome is None:
                continue
            message, records, rejected = outcome
            keys = {tuple(r[k] and unicodedata.normalize("NFC", r[k]) for k in self.key) for _, r in records}
            if pending and keys & pending.keys:
                yield flush()
            pending.records += [r for _, r in records]
            pending.positions += [f"{name}#{suffix}" for suffix, _ in records]
            pending.rejected += rejected
            pending.keys |= keys
            pending.messages[name] = message.sha256
            seen[name] = stamp
            latest = stamp if latest is None else max(latest, stamp)
            if len(pending) >= self.chunk_size:
                yield flush()
        if pending.messages:  # also messages with nothing for this source: the watermark moves past them
            yield flush()

    def _read(self, path: Path, stamp: int):
        """The message's records for this source, or its rejection; None if it changed while read."""
        name = path.name
        refused = self._outside(path)
        if refused:
            if self.record == "trace":  # quarantined once, by the document source
                return Message(name), [], []
            return Message(name), [], [Rejected(f"{name}#message", {"file": name, "link": True},
                                                f"{name} {refused}", "edxml_link")]
        try:
            # O_NOFOLLOW: a file swapped for a link after the check above is refused by the kernel
            with os.fdopen(os.open(path, os.O_RDONLY | os.O_NOFOLLOW), "rb") as fh:
                try:
                    message = read_message(fh, name, verify_max_bytes=self.verify_max_bytes)
                    error = None
                except MessageError as exc:
                    message, error = exc.message, exc
            st = path.stat()
        except FileNotFoundError:
            return None
        except OSError as exc:
            if exc.errno == errno.ELOOP:  # became a link while listed: the next run refuses it
                return None
            raise self.fail(f"can't read {path}: {exc.strerror or exc}") from None
        if max(st.st_mtime_ns, st.st_ctime_ns) != stamp:
            log.info("%s changed while it was read; it is read again next run", name)
            return None
        problems = message.agency_problems() if error is None else []
        if problems and self.agency_codes == "quarantine":
            error = MessageError("agency_id", "; ".join(problems))
        if error is not None:
            kind = message.kind if error.check in ("edxml_required", "agency_id") else None
            mine = kind == "status" if self.record == "trace" else kind != "status"
            if not mine:
                return message, [], []
            raw = {"file": name, "bytes": message.size, "sha256": message.sha256, "text": message.head}
            document_id = message.first("DocumentId") or message.first("ResponseFor", "DocumentId")
            if document_id and kind:  # read whole: a status answering it is linked to the quarantined document
                raw["document_id"] = document_id
            if message.size <= WHOLE_MAX:  # jsonb holds text, not bytes: undecodable bytes and NULs replaced
                with os.fdopen(os.open(path, os.O_RDONLY | os.O_NOFOLLOW), "rb") as fh:
                    raw["text"] = fh.read().decode("utf-8", "replace").replace("\x00", "\ufffd")
            else:
                raw["truncated"] = True
            return message, [], [Rejected(f"{name}#message", raw, error.reason, error.check)]
        if self.record == "document":
            records = [("doc", document_record(message, self.type_codes))] if message.kind == "document" else []
        else:
            records = trace_records(message)
        for _, record in records:
            record["agency_code_problems"] = "; ".join(problems) or None
        return message, records, []
