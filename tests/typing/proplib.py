"""The library the async property cases use: `@property async def` in smart
classes of every form, and in classes that are not smart.

`tests/typing/property_stubs/` holds the stubs of this module as the stub
generator writes them (sync-first and async-first); the property cases for
pyright, pyrefly and ty read them, and test_stubgen_properties.py checks the
generator's own stubs against them.
"""

from __future__ import annotations

import abc
import functools
from collections.abc import AsyncIterator
from typing import Generic, TypeVar

from smartasync import SmartAsync, smartasync

T = TypeVar("T")


class User:
    def __init__(self, name: str) -> None:
        self.name = name


class Account(SmartAsync):
    """The smart base form: a read-only, a settable and a cached async property."""

    def __init__(self, balance: int = 0) -> None:
        self._balance = balance

    @property
    async def owner(self) -> User:
        return User("ann")

    @property
    async def balance(self) -> int:
        return self._balance

    @balance.setter
    def balance(self, value: int) -> None:
        self._balance = value

    @functools.cached_property
    async def report(self) -> str:
        return f"balance {self._balance}"

    @property
    def currency(self) -> str:
        return "EUR"


class Savings(Account):
    """An indirect subclass: its own async properties are dual too."""

    @property
    async def rate(self) -> float:
        return 0.5

    @property
    async def owner(self) -> User:
        base = await super().owner
        return User(base.name.upper())


@smartasync
class Decorated:
    """The class decorator form."""

    @property
    async def label(self) -> str:
        return "label"

    @property
    async def lines(self) -> AsyncIterator[str]:
        yield "line"


class Box(SmartAsync, Generic[T]):
    """Generic: the property's type is read through the receiver."""

    def __init__(self, item: T) -> None:
        self._item = item

    @property
    async def item(self) -> T:
        return self._item


class PlainBase:
    """Not smart: its async properties stay coroutines, here and in plain subclasses."""

    @property
    async def remote(self) -> int:
        return 1

    @property
    async def _hidden(self) -> int:
        return 2


class FromPlain(SmartAsync, PlainBase):
    """A smart class makes a plain base's public async properties dual."""


class Ledger(SmartAsync, abc.ABC):
    """Abstract: `total` must be implemented; `entries` can be deleted, not set."""

    @property
    @abc.abstractmethod
    async def total(self) -> int: ...

    @property
    async def entries(self) -> list[int]:
        return []

    @entries.deleter
    def entries(self) -> None:
        pass


class CashLedger(Ledger):
    @property
    async def total(self) -> int:
        return 0
