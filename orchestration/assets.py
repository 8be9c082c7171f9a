"""The names Airflow knows the warehouse's tables by.

An Asset's URI is an identifier, not a connection string: the ``x-`` scheme tells Airflow to
keep it as written, and it carries no host or credential.
"""
from __future__ import annotations

from collections.abc import Iterable

from pipeline.config import SourceConfig


def core_table_uri(schema_name: str) -> str:
    return f"x-lienthong://warehouse/core/{schema_name}"


def core_table_name(schema_name: str) -> str:
    return f"core.{schema_name}"


def core_schemas(sources: Iterable[SourceConfig]) -> list[str]:
    """The ``core`` tables some source of the registry loads, in a stable order."""
    return sorted({s.schema for s in sources})
