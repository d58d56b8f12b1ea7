"""`@abstractmethod` dual methods stay abstract, and a method's bounded type
variables keep their bounds, with the plugin."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Coroutine
from typing import Any, TypeVar, assert_type

from smartasync import SmartAsync


class Item: ...


class Part(Item): ...


_I = TypeVar("_I", bound=Item)


class Store(SmartAsync, ABC):
    @abstractmethod
    async def fetch(self, key: str) -> int: ...

    async def keep(self, item: _I) -> _I:
        return item


class Memory(Store):
    async def fetch(self, key: str) -> int:
        return len(key)


Store()  # E: Cannot instantiate abstract class "Store" with abstract attribute "fetch"  [abstract]
memory = Memory()
assert_type(memory.fetch("k"), int)
assert_type(memory.fetch.sync("k"), int)
assert_type(memory.keep(Part()), Part)
memory.keep(3)  # E: Value of type variable "_I" of "keep" of "Store" cannot be "int"  [type-var]


async def main(store: Store) -> None:
    assert_type(await store.fetch("k"), int)
    assert_type(store.keep(Part()), Coroutine[Any, Any, Part]).close()
    await store.keep("part")  # E: Value of type variable "_I" of "keep" of "Store" cannot be "str"  [type-var]
