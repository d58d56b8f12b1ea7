"""Type variables in a plain base's `async def` inherited by a smart class: the
method's own (solved at each call) and its class's (as the smart class binds
them), the base in the same module or in another one.  `.sync` / `.aio` and
the bare call are typed from the base's signature either way."""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator, Coroutine, Iterator
from typing import Any, Generic, TypeVar, assert_type

from plainlib import PlainStore
from smartasync import SmartAsync

K = TypeVar("K")
V = TypeVar("V")
T = TypeVar("T")


class Base:
    async def get(self, key: K, default: V) -> K | V:
        return default

    async def each(self, items: list[K]) -> AsyncIterator[K]:
        for item in items:
            yield item


class Box(Generic[T]):
    def __init__(self, item: T) -> None:
        self.item = item

    async def take(self) -> T:
        return self.item

    async def swap(self, new: K) -> tuple[T, K]:
        return self.item, new


class Smart(SmartAsync, Base):
    pass


class Smarter(Smart):
    pass


class IntBox(SmartAsync, Box[int]):
    pass


class AnyBox(SmartAsync, Box[T]):
    pass


class Prices(SmartAsync, PlainStore[str, float]):
    pass


smart = Smart()
assert_type(smart.get("k", 1), str | int)
assert_type(smart.get.sync("k", 1), str | int)
assert_type(smart.get.aio("k", None), Coroutine[Any, Any, str | None]).close()
assert_type(smart.each([1]), Iterator[int])
assert_type(smart.each.sync(["a"]), Iterator[str])
assert_type(Smarter().get.sync(b"", 1.5), bytes | float)
box = IntBox(1)
assert_type(box.take(), int)
assert_type(box.take.sync(), int)
assert_type(box.swap.sync("a"), tuple[int, str])
assert_type(AnyBox("a").take.sync(), str)
assert_type(Prices().load("k"), float)
assert_type(Prices().load.sync("k"), float)
Prices().load.sync(1)  # E: Argument 1 to "sync" of "DualBound" has incompatible type "int"; expected "str"  [arg-type]
# The plain bases are left as they are.
assert_type(Base().get("k", 1), Coroutine[Any, Any, str | int]).close()
assert_type(Box(1).take(), Coroutine[Any, Any, int]).close()


async def main() -> None:
    assert_type(await smart.get("k", 1), str | int)
    assert_type(await smart.get.aio("k", 1), str | int)
    assert_type(smart.get.sync("k", 1), str | int)
    assert_type(smart.each([1]), AsyncGenerator[int, None])
    assert_type(await box.swap.aio("a"), tuple[int, str])
    assert_type(await Prices().load("k"), float)
    box.take()  # E: Value of type "Coroutine[Any, Any, int]" must be used  [unused-coroutine]
