"""Extract: one small interface that every department system is met through.

An adapter opens a source and yields :class:`Batch` es: a chunk of raw records (strings, in
the department's own column names) and the position to resume from once that batch has
committed. The whole source is never in memory. Adapters are found by the ``adapter:`` value
of a source in ``sources.yaml`` through :data:`REGISTRY`; no code is written per department.
"""
from __future__ import annotations

from common.errors import HubError

from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, ClassVar, NamedTuple

import pandas as pd

from adapter_options import OptionError, Options, options_class


class SourceError(HubError):
    """A source that can't be read at all (missing, undecodable, wrong shape, empty).

    Raised before any of its records reach the warehouse, so the batch fails whole.
    """

    def __init__(self, problem: str, source: str | None = None):
        self.problem, self.source = problem, source
        super().__init__(f"source {source!r}: {problem}" if source else problem)


class Rejected(NamedTuple):
    """A record the adapter could not turn into fields; it is quarantined whole, with ``reason``.

    ``check`` names what failed in quarantine's ``failed_checks`` (a CSV line with the wrong
    number of fields, an XML message that is not well-formed, a file its encoding can't decode:
    ``encoding``, ...). Plain 3-tuples are accepted and mean ``field_count``.
    """
    position: str
    raw: dict
    reason: str
    check: str = "field_count"


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
    rejected: list[Rejected | tuple[str, dict, str]] = field(default_factory=list)
    """Records the adapter could not even split into fields: (position, raw, reason[, check]).
    A batch with no columns and only rejections (a file its encoding can't decode) is held whole."""

    def __len__(self) -> int:
        return len(self.records) + len(self.rejected)


class Adapter(ABC):
    """Base of every adapter; ``options`` are the source's ``options:`` from sources.yaml, typed.

    The options' class is ``adapter_options.<module>`` registered under the adapter's ``kind``
    (light, so reading sources.yaml checks them without importing adapters), or ``options_class``
    set on the adapter itself."""

    kind: ClassVar[str]
    options_class: ClassVar[type[Options]]
    snapshot: ClassVar[bool] = False
    """True where one read holds each record once (an export file): a key read again in the same
    read is a duplicate in the source. A stream of messages or changes may carry a record again to
    update it, so there the later one wins."""

    def __init__(self, source_name: str, options: dict[str, Any] | Options):
        self.source_name = source_name
        try:
            self.options = options if isinstance(options, Options) else self.options_class.parse(options)
        except OptionError as exc:
            raise self.fail(str(exc)) from None

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "kind" in cls.__dict__ and "options_class" not in cls.__dict__:
            cls.options_class = options_class(cls.kind) or Options

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
