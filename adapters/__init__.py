"""Extract: one small interface that every department system is met through.

An adapter opens a source and yields :class:`Batch` es: a chunk of raw records (strings, in
the department's own column names) and the position to resume from once that batch has
committed. The whole source is never in memory. Adapters are found by the ``adapter:`` value
of a source in ``sources.yaml`` through :data:`REGISTRY`; no code is written per department.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, ClassVar, NamedTuple

import pandas as pd


class SourceError(Exception):
    """A source that can't be read at all (missing, undecodable, wrong shape, empty).

    Raised before any of its records reach the warehouse, so the batch fails whole.
    """

    def __init__(self, problem: str, source: str | None = None):
        self.problem, self.source = problem, source
        super().__init__(f"source {source!r}: {problem}" if source else problem)


class Rejected(NamedTuple):
    """A record (or a whole file) the adapter could not split into fields, with the reason."""

    position: str
    raw: dict
    reason: str
    check: str = "field_count"
    """The check it failed, as quarantine lists it: ``field_count``, ``encoding`` (a whole file)."""


@dataclass
class Batch:
    records: pd.DataFrame
    """Raw values as strings, in the source's column names, indexed 0..n-1."""
    positions: list[str]
    """Where each record came from (``file:line`` or a message id), for lineage."""
    position: dict[str, Any]
    """Resume point after this batch: handed back to :meth:`Adapter.batches` next time."""
    origin: dict[str, Any] = field(default_factory=dict)
    """What the batch was read from (file path, sha256, ...), recorded in ``audit.batch``."""
    rejected: list[Rejected] = field(default_factory=list)
    """Records the adapter could not even split into fields. A batch with no columns at all and
    only rejections (a file its encoding can't decode) is quarantined whole and held."""

    def __len__(self) -> int:
        return len(self.records) + len(self.rejected)


class Adapter(ABC):
    """Base of every adapter; ``options`` are the source's ``options:`` from sources.yaml."""

    kind: ClassVar[str]

    def __init__(self, source_name: str, options: dict[str, Any]):
        self.source_name = source_name
        self.options = options

    @abstractmethod
    def batches(self, resume_from: dict[str, Any] | None = None) -> Iterator[Batch]:
        """Yield batches in order, starting after ``resume_from`` when given."""

    def describe(self) -> dict[str, Any]:
        """What the source is right now (file and checksum, endpoint...), before reading."""
        return {}

    def estimated_records(self) -> int | None:
        """A total for progress bars, when the source can tell cheaply."""
        return None

    def fail(self, problem: str) -> SourceError:
        return SourceError(problem, self.source_name)


REGISTRY: dict[str, type[Adapter]] = {}


def register(cls: type[Adapter]) -> type[Adapter]:
    REGISTRY[cls.kind] = cls
    return cls


def get_adapter_class(kind: str) -> type[Adapter]:
    # Importing the modules fills the registry; done lazily so DAG parsing stays cheap.
    import importlib
    import pkgutil

    for module in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{module.name}")
    try:
        return REGISTRY[kind]
    except KeyError:
        raise SourceError(f"unknown adapter {kind!r} (known: {', '.join(sorted(REGISTRY))})") from None
