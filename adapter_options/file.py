"""``adapter: file``: a department's export file (CSV or xlsx)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from adapter_options import Options, register


@register
@dataclass(frozen=True, kw_only=True)
class FileOptions(Options):
    kind = "file"

    path: str
    """The file; relative to ``sources.yaml``."""
    format: Literal["csv", "xlsx"] | None = None
    """None: from the suffix (``.xlsx``, ``.xlsm``), else csv."""
    encoding: str = "auto"
    """auto (a BOM, or valid UTF-8), or declared: any Python codec, tcvn3, vni."""
    delimiter: str = ","
    chunk_size: int = 50_000
    sheet: int | str | None = None
    """xlsx: a sheet name or a 0-based index; the first sheet if not given."""
    datetime_format: str = "%Y-%m-%d %H:%M:%S"
    """How an xlsx date cell is written as text for the mapping."""
    fast: bool = True
    """Read a UTF-8 CSV with Arrow while every line is one record (off: the stdlib reader only)."""
