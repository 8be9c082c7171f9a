"""Format checks: what ``format:`` on a schema field means, one small interface and a registry.

A format is a rule on a value (with, for some, other fields of the same record: a citizen ID is
read with the date of birth and the sex) that says in words why a value is wrong, registered with
:func:`format_check` together with the field types it applies to. The schema file names it, the
schema loader refuses a name nobody registered or a field of another type, and ``quality.checks``
turns each into a Great Expectations expectation. A new format is one file in this folder.

Nothing here imports Great Expectations, so reading a schema file stays cheap.
"""
from __future__ import annotations

import importlib
import pkgutil
import re
from collections.abc import Callable
from dataclasses import dataclass

from common.errors import HubError


class FormatRegistryError(HubError, ValueError):
    """Two formats registered under one name."""


@dataclass(frozen=True)
class FormatCheck:
    name: str
    """The ``format:`` value in a schema file."""
    problem: Callable[..., str | None]
    """Why a value is wrong (naming the value), or None when it is right or missing."""
    check: str
    """The check's name in quarantine, ``<check>:<field>``."""
    rule: str
    """The expectation it runs as: ``expect_column_values_to_be_<rule>``, or
    ``expect_multicolumn_values_to_be_<rule>`` for a format that reads related fields."""
    applies_to: tuple[str, ...] = ("string",)
    """Field types it may be declared on."""
    related: tuple[str, ...] = ()
    """Field attributes (``birth_date_field``, ...) naming the other fields its rule reads, in order."""
    reason: str = "{problem}"
    """How a failing row is described: ``{column}`` and ``{problem}`` are filled in."""

    def columns(self, field) -> list[str]:
        return [field.name] + [getattr(field, r) for r in self.related if getattr(field, r)]

    def describe(self, column: str, *values) -> str:
        return self.reason.format(column=column, problem=self.problem(*values) or f"is not a valid {self.name}")

    @property
    def expectation_class(self) -> str:
        stem = "ExpectMulticolumnValuesToBe" if self.related else "ExpectColumnValuesToBe"
        return stem + "".join(p.capitalize() for p in re.split(r"_", self.rule))


REGISTRY: dict[str, FormatCheck] = {}


def format_check(name: str, *, check: str | None = None, rule: str | None = None,
                 applies_to: tuple[str, ...] = ("string",), related: tuple[str, ...] = (),
                 reason: str = "{problem}"):
    """Register the decorated ``problem(value, *related values)`` as the format ``name``."""
    def register(problem: Callable[..., str | None]):
        held = REGISTRY.get(name)
        if held and (held.problem.__module__, held.problem.__qualname__) != (problem.__module__, problem.__qualname__):
            raise FormatRegistryError(f"two formats are named {name!r} ({held.problem.__module__} and "
                                      f"{problem.__module__})")
        REGISTRY[name] = FormatCheck(name, problem, check or name, rule or name, tuple(applies_to),
                                     tuple(related), reason)
        return problem
    return register


def formats() -> dict[str, FormatCheck]:
    """Every registered format, this folder's modules imported first."""
    for module in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{module.name}")
    return dict(sorted(REGISTRY.items()))

