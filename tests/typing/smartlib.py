"""The library the typing cases use: smart classes in every form.

Generated stubs of this module (`python -m smartasync stubgen smartlib`) are
what basedpyright sees in the stub cases.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Generic, Self, TypeVar

import smartasync
from smartasync import SmartAsync, async_only
from smartasync import SmartAsync as Smart
from smartasync import smartasync as dualize

T = TypeVar("T")


@smartasync.smartasync
async def fetch(url: str, /, retries: int = 0, *, timeout: float = 1.0) -> bytes:
    return url.encode()


@dualize
async def ticks(n: int) -> AsyncIterator[int]:
    for i in range(n):
        yield i


class Client(SmartAsync):
    """The smart base form."""

    def __init__(self, name: str = "c") -> None:
        self.name = name

    async def get(self, key: str, *, default: int = 0) -> int:
        return default

    async def stream(self, n: int) -> AsyncIterator[str]:
        for i in range(n):
            yield str(i)

    @contextlib.asynccontextmanager
    async def session(self, label: str) -> AsyncIterator[str]:
        yield label

    async def renamed(self, name: str) -> Self:
        return type(self)(name)

    @classmethod
    async def create(cls, name: str) -> Self:
        return cls(name)

    @staticmethod
    async def version() -> str:
        return "1"

    @async_only
    async def raw(self) -> int:
        return 1

    def plain(self) -> str:
        return self.name

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        return None


class SubClient(Client):
    """An indirect subclass: overrides are dual without a decorator."""

    async def get(self, key: str, *, default: int = 0) -> int:
        base = await super().get(key, default=default)
        return base + 1

    def get_now(self, key: str) -> int:
        return super().get(key)


class Aliased(Smart):
    """The smart base imported under another name."""

    async def ping(self) -> bool:
        return True


@dualize
class Decorated:
    """The class decorator form (imported under another name)."""

    async def total(self, *values: int) -> int:
        return sum(values)


@smartasync.smartasync(mode="sync")
class DecoratedWithMode:
    async def answer(self) -> int:
        return 42


class FromDecorated(Decorated):
    """A subclass of a decorated class is smart too."""

    async def mean(self, *values: int) -> float:
        return sum(values) / len(values)


class SyncTool(Decorated, mode="sync"):
    """A class keyword on a subclass of a decorated class; the mode is run-time only."""

    async def run(self) -> str:
        return "ran"


class PerMethod:
    """Not a smart class: one method made dual by the decorator."""

    @smartasync.smartasync
    async def double(self, x: int) -> int:
        return 2 * x

    async def untouched(self) -> int:
        return 0

    @smartasync.smartasync(mode="sync")
    @classmethod
    async def build(cls) -> PerMethod:
        return cls()

    @dualize
    @staticmethod
    async def square(x: int) -> int:
        return x * x


class Box(SmartAsync, Generic[T]):
    """A generic smart class."""

    def __init__(self, item: T) -> None:
        self.item = item

    async def get(self) -> T:
        return self.item


class Counter(SmartAsync):
    """Async iteration protocol: sync twins for `for`."""

    def __init__(self, n: int) -> None:
        self.n = n

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> int:
        if self.n <= 0:
            raise StopAsyncIteration
        self.n -= 1
        return self.n
