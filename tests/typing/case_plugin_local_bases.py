"""`.sync` / `.aio` on async methods inherited from a plain base in the same module."""

from __future__ import annotations

from collections.abc import AsyncIterator, Coroutine, Iterator
from typing import Any, assert_type

from smartasync import SmartAsync


class Base:
    async def ping(self, n: int) -> int:
        return n

    async def names(self, n: int) -> AsyncIterator[str]:
        for i in range(n):
            yield str(i)


class Smart(SmartAsync, Base):
    pass


smart = Smart()
assert_type(smart.ping(1), int)
assert_type(smart.ping.sync(1), int)
assert_type(smart.ping.aio(1), Coroutine[Any, Any, int]).close()
assert_type(smart.names(2), Iterator[str])
assert_type(smart.names.sync(2), Iterator[str])
smart.ping.sync("1")  # E: Argument 1 to "sync" of "DualBound" has incompatible type "str"; expected "int"  [arg-type]


async def main() -> None:
    assert_type(await smart.ping(1), int)
    assert_type(await smart.ping.aio(1), int)
    assert_type(smart.ping.sync(1), int)
    smart.ping(1)  # E: Value of type "Coroutine[Any, Any, int]" must be used  [unused-coroutine]
