"""Methods generic in their own type variables: solved at each call."""

from __future__ import annotations

from collections.abc import AsyncIterator, Coroutine, Iterator
from typing import Any, Generic, TypeVar, assert_type

from smartasync import SmartAsync

K = TypeVar("K")
V = TypeVar("V")
T = TypeVar("T")


class Store(SmartAsync, Generic[K, V]):
    def __init__(self) -> None:
        self.data: dict[K, V] = {}

    async def get(self, key: K, default: T) -> V | T:
        return self.data.get(key, default)

    async def first(self, items: list[T]) -> T:
        return items[0]

    async def each(self, items: list[T]) -> AsyncIterator[T]:
        for item in items:
            yield item


store: Store[str, int] = Store()
assert_type(store.get("k", None), int | None)
assert_type(store.get("k", "x"), int | str)
assert_type(store.first([1.5]), float)
assert_type(store.get.sync("k", b""), int | bytes)
assert_type(store.each(["a"]), Iterator[str])
assert_type(store.get.aio("k", 0), Coroutine[Any, Any, int]).close()
store.get(1, None)  # E: Argument 1 to "get" of "Store" has incompatible type "int"; expected "str"  [arg-type]


async def main() -> None:
    assert_type(await store.get("k", None), int | None)
    assert_type(await store.first(["a"]), str)
    assert_type(await store.get.aio("k", 0.5), int | float)
    store.first([1])  # E: Value of type "Coroutine[Any, Any, int]" must be used  [unused-coroutine]
