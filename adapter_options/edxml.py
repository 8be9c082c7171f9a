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
