"""`.sync` / `.aio` of an overloaded method: typed for the receiver.

The class's type variables come from the receiver (a specialised subclass, an
annotated instance) and `Self` is the receiver's class, as for the bare call.
"""

from __future__ import annotations

from collections.abc import Coroutine
from typing import Any, Generic, Self, TypeVar, assert_type, overload

from smartasync import SmartAsync

K = TypeVar("K")
V = TypeVar("V")


class Table(SmartAsync, Generic[K, V]):
    @overload
    async def get(self, key: K) -> V | None: ...
    @overload
    async def get(self, key: K, default: V) -> V: ...
    async def get(self, key: K, default: V | None = None) -> V | None:
        return default

    @overload
    async def copy(self) -> Self: ...
    @overload
    async def copy(self, times: int) -> list[Self]: ...
    async def copy(self, times: int | None = None) -> Self | list[Self]:
        return self if times is None else [self] * times


class Names(Table[int, str]):
    pass


names = Names()
ints: Table[str, int] = Table()
assert_type(names.get.sync(1), str | None)
assert_type(names.get.sync(1, "x"), str)
assert_type(ints.get.sync("a", 2), int)
assert_type(names.get.aio(1, "x"), Coroutine[Any, Any, str]).close()
assert_type(names.copy.sync(), Names)
assert_type(names.copy.sync(2), list[Names])
assert_type(ints.copy.sync(), Table[str, int])
names.get.sync("one")  # E: No overload variant of "get" of "Table" matches argument type "str"  [call-overload]
ints.get.sync("a", "b")  # E: No overload variant of "get" of "Table" matches argument types "str", "str"  [call-overload]
names.get.sync(1, "x", 3)  # E: No overload variant of "sync" of "DualBound" matches argument types "int", "str", "int"  [call-overload]


def lookup(table: Table[int, bytes]) -> bytes:
    found = table.get.sync(1, b"")
    assert_type(found, bytes)
    table.get.aio(1).close()
    return found


async def serve(table: Names) -> None:
    assert_type(await table.get.aio(1), str | None)
    assert_type(await table.get.aio(1, "x"), str)
    assert_type(table.get.sync(1, "x"), str)
    assert_type(await table.copy.aio(), Names)
    assert_type(await table.copy(), Names)
    await table.get.aio("one")  # E: No overload variant of "get" of "Table" matches argument type "str"  [call-overload]
    table.get.aio(1)  # E: Value of type "Coroutine[Any, Any, str | None]" must be used  [unused-coroutine]
