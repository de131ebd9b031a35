"""The one registration pattern of imcspice: a named :class:`Registry` filled by decorators.

Every extensible set -- recipes, model kinds, closed forms, fitters, accuracy simulators
of accelerators -- is a ``Registry``. A module adds to it where the thing is defined::

    KINDS = Registry("model kind", discover="imcspice.models")

    @KINDS.register("mosfet-iv")          # or KINDS.add("mosfet-iv", obj)
    class MosfetIV(BehavioralModel): ...

and a lookup of an unknown name raises :class:`~imcspice.errors.UnknownNameError`
listing the known ones. A name is registered once: registering a different object
under a taken name raises (re-running the same definition, e.g. a module imported
twice under pytest, is allowed).

Discovery is one explicit mechanism: ``discover`` names a package, and before the
first lookup every module of that package is imported (``pkgutil`` walk, sorted,
non-recursive, names starting with ``_`` skipped). So a new module in the package is
found without being listed anywhere; nothing is imported by a name read from data.
"""
from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Iterator, Mapping
from typing import Generic, TypeVar

from .errors import UnknownNameError

T = TypeVar("T")


class DuplicateNameError(ValueError):
    """Two different definitions claim one name in a registry (a programming error)."""


def _origin(obj) -> str | None:
    """Where ``obj`` was defined ("module.qualname") for classes and functions: the same
    definition imported twice (a reload) counts as the same; None for other objects."""
    if isinstance(obj, type) or callable(obj) and hasattr(obj, "__qualname__"):
        return f"{getattr(obj, '__module__', '?')}.{obj.__qualname__}"
    return None


def import_submodules(package: str) -> list[str]:
    """Import every module of ``package`` (sorted by name, not recursive, ``_``-private
    modules skipped); returns their full names."""
    pkg = importlib.import_module(package)
    names = sorted(i.name for i in pkgutil.iter_modules(pkg.__path__)
                   if not i.name.startswith("_"))
    for n in names:
        importlib.import_module(f"{package}.{n}")
    return [f"{package}.{n}" for n in names]


class Registry(Mapping[str, T], Generic[T]):
    """Name -> object, filled by :meth:`register` / :meth:`add`; a read-only mapping.

    ``what``: what a name denotes, for messages ("model kind"). ``discover``: a package
    whose modules are imported before the first lookup (see the module docstring).
    ``same``: when two objects under one name are the same definition (default: the same
    object, or the same class / function by module and qualified name)."""

    def __init__(self, what: str, *, discover: str | None = None,
                 same: Callable[[T, T], bool] | None = None) -> None:
        self.what = what
        self._discover = discover
        self._discovered = discover is None
        self._same = same
        self._items: dict[str, T] = {}

    # --- filling ---------------------------------------------------------------
    def add(self, name: str, obj: T) -> T:
        """Register ``obj`` under ``name``; returns ``obj``. A taken name raises
        :class:`DuplicateNameError` unless ``obj`` is the same definition."""
        if not isinstance(name, str) or not name:
            raise ValueError(f"a {self.what} needs a non-empty name, got {name!r}")
        old = self._items.get(name)
        if old is not None and not self._is_same(old, obj):
            raise DuplicateNameError(f"{self.what} {name!r} is registered twice: "
                                     f"{_describe(old)} and {_describe(obj)}")
        self._items[name] = obj
        return obj

    def register(self, *names: str) -> Callable[[T], T]:
        """Decorator: register the decorated object under each of ``names``."""
        if not names:
            raise TypeError("register() needs at least one name")

        def deco(obj: T) -> T:
            for n in names:
                self.add(n, obj)
            return obj
        return deco

    def _is_same(self, old: T, new: T) -> bool:
        if old is new:
            return True
        if self._same is not None:
            return self._same(old, new)
        o = _origin(old)
        return o is not None and o == _origin(new)

    # --- lookup ----------------------------------------------------------------
    def _load(self) -> None:
        if not self._discovered:
            self._discovered = True        # set first: the walk may look names up itself
            try:
                import_submodules(self._discover)
            except BaseException:
                self._discovered = False
                raise

    def __getitem__(self, name: str) -> T:
        self._load()
        try:
            return self._items[name]
        except (KeyError, TypeError):
            raise UnknownNameError(f"unknown {self.what} {name!r}; known: "
                                   f"{', '.join(sorted(self._items)) or '(none)'}") from None

    def __contains__(self, name: object) -> bool:
        self._load()
        return name in self._items

    def __iter__(self) -> Iterator[str]:
        self._load()
        return iter(dict(self._items))

    def __len__(self) -> int:
        self._load()
        return len(self._items)

    def names(self) -> list[str]:
        """The registered names, sorted."""
        return sorted(self)

    def __repr__(self) -> str:
        return f"Registry({self.what!r}, {len(self._items)} registered)"


def _describe(obj) -> str:
    return _origin(obj) or f"{type(obj).__module__}.{type(obj).__qualname__} instance"
