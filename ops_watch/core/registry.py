"""The one Registry type: every plug-in point of ops-watch (checks, evidence kinds, sources, door pollers,
vendor formats, report sections, score indicators, contract sections, commands) is a Registry.

A registry maps a name to a plug-in and refuses a name registered twice. It never imports its plug-ins:
the application loads them once, explicitly (`ops_watch.plugins.load`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import TypeVar

T = TypeVar("T")
F = TypeVar("F")


class DuplicateName(ValueError):
    """Two plug-ins under one name: a programming error, raised at import."""


class UnknownName(LookupError):
    """A name no plug-in is registered under; the message lists the known names."""

    def __init__(self, what: str, name: str, known: list[str]):
        self.what = what
        self.name = name
        super().__init__(f"unknown {what} {name!r} (known: {', '.join(known)})")


class Registry(Mapping[str, T]):
    """Name -> plug-in, in registration order. `what` names the plug-ins in messages ("check", "evidence kind")."""

    def __init__(self, what: str) -> None:
        self.what = what
        self._items: dict[str, T] = {}

    def add(self, name: str, item: T) -> T:
        if name in self._items:
            raise DuplicateName(f"{self.what} {name!r} registered twice")
        self._items[name] = item
        return item

    def decorator(self, name: str, make: Callable[[F], T]) -> Callable[[F], F]:
        """A decorator registering `make(fn)` under `name` and returning `fn` unchanged."""

        def register(fn: F) -> F:
            self.add(name, make(fn))
            return fn

        return register

    @contextmanager
    def registered(self, name: str, item: T) -> Iterator[T]:
        """`item` under `name` for the duration of a with block (a test's own plug-in), then removed."""
        self.add(name, item)
        try:
            yield item
        finally:
            del self._items[name]

    def lookup(self, name: str) -> T:
        """The plug-in under `name`, or UnknownName listing the known names."""
        try:
            return self._items[name]
        except KeyError:
            raise UnknownName(self.what, name, sorted(self._items)) from None

    def names(self) -> list[str]:
        return sorted(self._items)

    def __getitem__(self, name: str) -> T:
        return self._items[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __repr__(self) -> str:
        return f"Registry({self.what!r}, {list(self._items)!r})"


__all__ = ["DuplicateName", "Registry", "UnknownName"]
