"""What each adapter accepts under ``options:`` in ``sources.yaml``, declared as dataclasses.

Kept apart from ``adapters/`` because the registry is read wherever a source is named, Airflow's
DAG parsing included, and that must not import pandas, requests or lxml: this package imports
the standard library only. An adapter's options are one dataclass here (a module per adapter,
registered by ``kind``); the adapter reads the typed object, never the raw mapping. An adapter
whose options are declared in its own module (``Adapter.options_class``) works too, at the cost
of importing it when the registry is read.

:meth:`Options.parse` refuses what a serious tool refuses: a key the adapter does not know (a
misspelled option used to be ignored silently, so the default ran instead), a value of the wrong
type or outside its choices, a required option left out. Each fault is one line naming the
option and what is accepted.
"""
from __future__ import annotations

import difflib
import importlib
import pkgutil
import types
import typing
from collections.abc import Mapping
from dataclasses import MISSING, dataclass, fields
from typing import Any, ClassVar, Literal

from common.errors import HubError


class OptionError(HubError, ValueError):
    """An adapter's ``options:`` hold a key it does not know or a value it can't use.

    ``path`` is where, as keys from ``options:`` down (``["pagination", "stlye"]``), so the
    registry's reader can name the line it was written on."""

    def __init__(self, message: str, where: str = "options", key: str | None = None):
        super().__init__(message)
        self.path = [p for p in where.split(".")[1:]] + ([key] if key is not None else [])


@dataclass(frozen=True, kw_only=True)
class Options:
    """Base of every adapter's options (and of their nested groups: pagination, auth...)."""

    kind: ClassVar[str] = ""
    """The ``adapter:`` value these options belong to; empty for a nested group."""

    def check(self, where: str) -> None:
        """Rules across fields (``table`` or ``query``); raise :class:`OptionError` naming ``where``."""

    @classmethod
    def accepted(cls) -> list[str]:
        return sorted(f.name for f in fields(cls))

    @classmethod
    def parse(cls, given: Mapping[str, Any] | None, where: str = "options") -> "Options":
        """The typed options from a mapping as written in ``sources.yaml``; ``where`` names it in errors."""
        given = {} if given is None else given
        if not isinstance(given, Mapping):
            raise OptionError(f"{where} must be a mapping of option: value, not {_shown(given)}", where)
        cls = cls.variant(given, where)
        accepted = cls.accepted()
        for key in given:
            if key not in accepted:
                close = difflib.get_close_matches(str(key), accepted, n=1)
                hint = f"did you mean {close[0]!r}? " if close else ""
                raise OptionError(f"unknown option {key!r} in {where} ({hint}accepted: {', '.join(accepted)})",
                                  where, key)
        hints = typing.get_type_hints(cls)
        values = {}
        for f in fields(cls):
            if f.name in given:
                values[f.name] = _convert(given[f.name], hints[f.name], f"{where}.{f.name}")
            elif f.default is MISSING and f.default_factory is MISSING:
                raise OptionError(f"{where}.{f.name} is required", where)
        options = cls(**values)
        options.check(where)
        return options

    @classmethod
    def variant(cls, given: Mapping[str, Any], where: str) -> type["Options"]:
        """The class that reads ``given``: itself, unless it is a family picked by a key (``style``)."""
        return cls


class Family(Options):
    """A group of options whose accepted keys depend on one of them: a pagination's ``style``.

    The family's base declares ``variants = {}``; each variant is a subclass with a ``style``
    field defaulting to its own name, added with :meth:`member`."""

    default: ClassVar[str] = ""

    @classmethod
    def member(cls, variant: type[Options]) -> type[Options]:
        cls.variants[fields_of(variant)["style"].default] = variant
        return variant

    @classmethod
    def variant(cls, given: Mapping[str, Any], where: str) -> type[Options]:
        if "variants" not in cls.__dict__:
            return cls  # already a variant
        name = given.get("style", cls.default)
        if name not in cls.variants:
            raise OptionError(f"unknown style {name!r} in {where}.style (known: {', '.join(cls.variants)})",
                              where, "style")
        return cls.variants[name]


def fields_of(cls: type) -> dict[str, Any]:
    return {f.name: f for f in fields(cls)}


def _shown(value: Any) -> str:
    return f"{type(value).__name__} {value!r}"[:80]


def _convert(value: Any, hint: Any, where: str) -> Any:
    """``value`` as ``hint`` says, or an :class:`OptionError` naming ``where`` and what fits."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        kinds = [a for a in args if a is not type(None)]
        if len(kinds) == 1:
            return _convert(value, kinds[0], where)
        for kind in kinds:  # int | str: the first that takes the value as it is
            if isinstance(value, kind) and not (kind is int and isinstance(value, bool)):
                return value
        raise OptionError(f"{where} must be {' or '.join(_name(k) for k in kinds)}, not {_shown(value)}", where)
    if origin is Literal:
        for choice in args:
            if value == choice or (isinstance(value, str) and value.lower() == str(choice)):
                return choice
        leaf = where.rpartition(".")[2]
        raise OptionError(f"unknown {leaf} {value!r} in {where} (known: {', '.join(map(str, args))})", where)
    if isinstance(hint, type) and issubclass(hint, Options):
        return hint.parse(value, where)
    if origin in (dict, Mapping) or hint is dict:
        if not isinstance(value, Mapping):
            raise OptionError(f"{where} must be a mapping, not {_shown(value)}", where)
        return dict(value)
    if hint is Any:
        return value
    if isinstance(value, str) and hint in (int, float):  # a number quoted in YAML
        try:
            return hint(value.strip())
        except ValueError:
            pass
    elif hint is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    elif isinstance(value, hint) and (hint is bool or not isinstance(value, bool)):
        return value
    _fail(value, hint, where)


def _fail(value: Any, hint: Any, where: str):
    raise OptionError(f"{where} must be {_name(hint)}, not {_shown(value)}", where)


def _name(hint: Any) -> str:
    return {int: "an integer", float: "a number", bool: "true or false", str: "text"}.get(
        hint, getattr(hint, "__name__", str(hint)))


REGISTRY: dict[str, type[Options]] = {}


def register(cls: type[Options]) -> type[Options]:
    REGISTRY[cls.kind] = cls
    return cls


def options_class(kind: str) -> type[Options] | None:
    """The options of adapter ``kind``, or None if no module here declares them."""
    if kind not in REGISTRY:  # importing the modules fills the registry
        for module in pkgutil.iter_modules(__path__):
            importlib.import_module(f"{__name__}.{module.name}")
    return REGISTRY.get(kind)
