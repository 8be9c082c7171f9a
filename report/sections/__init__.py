"""The report's sections: one small interface, one module per section, a registry by name.

A section collects its figures from :class:`report.figures.Figures` (plain values: they are
also the JSON of ``hub report --json``) and says which pages it writes, each a Jinja template
with those figures. Adding a section is one module here that calls :func:`register`, plus its
template; the navigation and the JSON follow from the registry's order.
"""
from __future__ import annotations

import importlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Protocol

from common.errors import HubError


@dataclass(frozen=True)
class Page:
    path: str
    """Where the page goes, relative to the report folder (``units/legacy-07210.html``)."""
    template: str
    context: dict[str, Any]
    title: str


class Section(Protocol):
    name: str
    title: str
    """The navigation's label."""
    page: str
    """The section's own page (the overview's is ``quality_report.html``)."""

    def collect(self, figures) -> dict[str, Any]:
        """The section's figures as plain values (JSON-ready)."""

    def pages(self, data: dict[str, Any], figures) -> Iterator[Page]:
        """The section's page, and any pages below it (a unit's, a batch's)."""


SECTIONS: dict[str, Section] = {}
ORDER = ("overview", "freshness", "volume", "schema", "distribution", "units", "quarantine", "reconciliation",
         "lineage")
"""The navigation's order; each name is a module of this package."""


def register(section: Section) -> Section:
    SECTIONS[section.name] = section
    return section


def _load() -> None:
    for name in ORDER:
        if name not in SECTIONS:
            importlib.import_module(f"report.sections.{name}")


def get_section(name: str) -> Section:
    _load()
    if name not in SECTIONS:
        raise HubError(f"no report section named {name!r} (known: {', '.join(SECTIONS)})")
    return SECTIONS[name]


def all_sections() -> list[Section]:
    _load()
    return [SECTIONS[n] for n in ORDER if n in SECTIONS] + [s for n, s in SECTIONS.items() if n not in ORDER]
