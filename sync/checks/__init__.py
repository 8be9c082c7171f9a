"""Reconciliation checks: one small interface and a registry, one file per check.

A check is a function from a connection and a :class:`Scope` to :class:`~sync.findings.Finding` s,
registered with :func:`reconciliation_check` together with what it applies to: the finding
kinds it owns (so a re-run resolves those it no longer finds), its direction between the
levels, the levels it reads, the period kinds ``--period`` narrows it to (none: it is not read
by period) and the map it reads on. ``hub reconcile`` and its ``--check`` help are built from
the registry, so a new check is one file in this folder and nothing else.
"""
from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from sqlalchemy import Connection

from common.errors import HubError
from common.vietnam import TIMEZONE
from refdata.admin_units import REFORM
from sync.findings import Finding

DIRECTIONS = ("upward", "across", "downward")
LEVELS = ("commune", "district", "province", "central")
PERIOD_KINDS = ("day", "month", "quarter", "year")


class CheckRegistryError(HubError, ValueError):
    """Two checks registered under one name, or a check declared with a kind it can't have."""


@dataclass(frozen=True)
class Scope:
    """What one ``hub reconcile`` asks of every check it runs."""
    period: str | None
    as_of: date
    working_days: int = 1
    reform: date = REFORM
    tz: str = TIMEZONE


@dataclass(frozen=True)
class Check:
    name: str
    """What ``hub reconcile --check`` names."""
    run: Callable[[Connection, Scope], list[Finding]]
    finds: tuple[str, ...]
    """The finding kinds it owns: those it does not find again are resolved."""
    direction: str
    levels: tuple[str, ...]
    periods: tuple[str, ...]
    """Period kinds ``--period`` narrows it to; empty when the check is not read by period."""
    geography: str = "recorded"
    """The map its findings are on: ``recorded`` (each period's own) or ``2025``."""
    stands_in_for: str | None = None
    """With ``--as-of-geography 2025`` this check runs in place of that one (and never by default)."""
    help: str = ""

    def describe(self) -> str:
        periods = "/".join(self.periods) if self.periods else "no period"
        return f"{self.name} ({self.direction}, {'-'.join(self.levels)}, {periods}): {self.help}"


REGISTRY: dict[str, Check] = {}


def reconciliation_check(name: str, *, finds: tuple[str, ...], direction: str, levels: tuple[str, ...],
                         periods: tuple[str, ...], geography: str = "recorded",
                         stands_in_for: str | None = None):
    """Register the decorated function as the check ``name``; its docstring's first line is its help."""
    if direction not in DIRECTIONS:
        raise CheckRegistryError(f"check {name!r}: direction must be one of {', '.join(DIRECTIONS)}")
    wrong = [x for x in (*levels, *periods) if x not in LEVELS + PERIOD_KINDS]
    if wrong:
        raise CheckRegistryError(f"check {name!r}: unknown level or period kind {wrong[0]!r}")

    def register(run: Callable[[Connection, Scope], list[Finding]]):
        held = REGISTRY.get(name)
        if held and (held.run.__module__, held.run.__qualname__) != (run.__module__, run.__qualname__):
            raise CheckRegistryError(f"two reconciliation checks are named {name!r} "
                                     f"({held.run.__module__} and {run.__module__})")
        REGISTRY[name] = Check(name, run, tuple(finds), direction, tuple(levels), tuple(periods), geography,
                               stands_in_for, ((run.__doc__ or "").strip().splitlines() or [""])[0])
        return run
    return register


def checks() -> dict[str, Check]:
    """Every registered check, this folder's modules imported first; upward, across, then downward."""
    for module in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{module.name}")
    return dict(sorted(REGISTRY.items(), key=lambda kv: DIRECTIONS.index(kv[1].direction)))


def help_text() -> str:
    """The ``--check`` help: every check with what it applies to."""
    return "Only this check. " + "; ".join(c.describe() for c in checks().values()) + "."
