"""``adapter: edxml``: a drop folder of edXML messages (QCVN 102:2016/BTTTT)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from adapter_options import Options, register


@register
@dataclass(frozen=True, kw_only=True)
class EdxmlOptions(Options):
    kind = "edxml"

    path: str
    """The drop folder; relative to ``sources.yaml``."""
    record: Literal["document", "trace"] = "document"
    """What a message becomes: an ``official_document`` row, or its ``document_trace`` rows."""
    pattern: str = "*.edxml"
    chunk_size: int = 500
    grace_seconds: float = 600
    """How far behind the latest arrival a late file is still looked for."""
    settle_seconds: float = 5
    """A file younger than this may still be being written: it waits for the next run."""
    verify_max_bytes: int = 20 << 20
    """Signatures are verified for messages up to this size (verifying holds the whole message)."""
    agency_codes: Literal["quarantine", "flag"] = "quarantine"
    """An agency code that is not a QCVN 102 identifier: the message is quarantined (check ``agency_id``),
    or loaded with the problem in ``agency_code_problems`` (``flag``), which the auditors' report lists."""
    document_types: Literal["standard", "as_is"] = "standard"
    """``standard``: a ``TypeName`` is read against the ``document_type`` code list's labels (Decree
    30/2020 and the legal types) and becomes its code; ``as_is``: left to the source's ``values:``."""
