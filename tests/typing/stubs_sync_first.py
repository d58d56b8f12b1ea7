"""What basedpyright (or any checker without a plugin) sees on sync-first stubs.

The bare call is typed as the result everywhere, the explicit forms exactly.
Lines marked `# E` must have an error; no other line may.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Awaitable, Callable, Iterator
from types import CoroutineType
from typing import Any, Protocol, TypeVar, assert_type

from smartlib import (
    Aliased,
    Box,
    Client,
    Counter,
    Decorated,
    FromDecorated,
    PerMethod,
    SubClient,
    fetch,
    ticks,
)

T = TypeVar("T")


class AsyncGetter(Protocol):
    async def get(self, key: str, *, default: int = 0) -> int: ...


async def settle(make: Callable[..., Awaitable[T]], *args: Any) -> T:
    return await make(*args)

client = Client()
assert_type(client.get("k"), int)
assert_type(client.get("k", default=2), int)
assert_type(fetch("u"), bytes)
assert_type(client.stream(3), Iterator[str])
assert_type(ticks(3), Iterator[int])
assert_type(Client.create("x"), Client)
assert_type(SubClient.create("x"), SubClient)
assert_type(Client.version(), str)
assert_type(SubClient().get("k"), int)
assert_type(Aliased().ping(), bool)
assert_type(Decorated().total(1, 2), int)
assert_type(FromDecorated().mean(1, 2), float)
assert_type(PerMethod().double(2), int)
assert_type(PerMethod.build(), PerMethod)
assert_type(PerMethod().square(3), int)
assert_type(PerMethod.square.sync(3), int)
assert_type(Box(3).get(), int)
assert_type(SubClient().renamed("z"), SubClient)
assert_type(SubClient().renamed.sync("z"), SubClient)

assert_type(client.get.sync("k"), int)
assert_type(client.get.aio("k"), CoroutineType[Any, Any, int]).close()
assert_type(client.stream.sync(2), Iterator[str])
assert_type(client.stream.aio(2), AsyncGenerator[str, None])
assert_type(asyncio.run(fetch.aio("u")), bytes)

with Client() as entered:
    assert_type(entered, Client)
    with entered.session("s") as label:
        assert_type(label, str)
for n in Counter(3):
    assert_type(n, int)
for chunk in client.stream(2):
    assert_type(chunk, str)

client.get(1)  # E: wrong argument type
client.get.sync("k", default="x")  # E: wrong keyword argument type
fetch("u", 1, 2)  # E: too many arguments
asyncio.run(client.get("k"))  # E: in sync code the bare call is not a coroutine
getter: AsyncGetter = client  # E: sync-first stubs type the bare call as the result, not a coroutine


async def main() -> None:
    # Sync-first stubs cannot see the caller: here the truth is the coroutine,
    # so async code uses the explicit form.
    assert_type(await client.get.aio("k"), int)
    assert_type(await settle(client.get.aio, "k"), int)
    assert_type(await settle(fetch.aio, "u"), bytes)
    client.get.aio("k")  # E: forgotten await
    async with Client() as c:
        assert_type(c, Client)
        async with c.session("s") as label:
            assert_type(label, str)
    async for tick in ticks.aio(2):
        assert_type(tick, int)
