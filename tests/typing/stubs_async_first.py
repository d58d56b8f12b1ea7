"""What basedpyright sees on async-first stubs (`stubgen --async-first`).

The bare call is typed as the coroutine (async generator) everywhere.
Lines marked `# E` must have an error; no other line may.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Awaitable, Callable, Iterator
from typing import Any, Protocol, TypeVar, assert_type

from smartlib import Box, Client, Counter, Decorated, PerMethod, SubClient, fetch, ticks

T = TypeVar("T")


class AsyncGetter(Protocol):
    async def get(self, key: str, *, default: int = 0) -> int: ...


class AsyncNamer(Protocol):
    async def get(self, key: str, *, default: int = 0) -> str: ...


async def read(getter: AsyncGetter) -> int:
    return await getter.get("k")


async def settle(make: Callable[..., Awaitable[T]], *args: Any) -> T:
    return await make(*args)


async def main() -> None:
    client = Client()
    assert_type(await client.get("k"), int)
    assert_type(await fetch("u"), bytes)
    assert_type(client.stream(2), AsyncGenerator[str, None])
    assert_type([s async for s in ticks(2)], list[int])
    assert_type(await Client.create("x"), Client)
    assert_type(await SubClient.create("x"), SubClient)
    assert_type(await Client.version(), str)
    assert_type(await SubClient().get("k"), int)
    assert_type(await SubClient().renamed("z"), SubClient)
    assert_type(await Decorated().total(1), int)
    assert_type(await PerMethod().double(2), int)
    assert_type(await Box("s").get(), str)
    results = await asyncio.gather(*(client.get(k) for k in "ab"))
    assert_type(results, list[int])
    async with Client() as c:
        async with c.session("s") as label:
            assert_type(label, str)
    async for n in Counter(2):
        assert_type(n, int)
    # A smart class satisfies a Protocol written with `async def` (its
    # coroutine face is what an `async def` is: types.CoroutineType).
    getter: AsyncGetter = client
    assert_type(await read(SubClient()), int)
    assert_type(await getter.get("k"), int)
    assert_type(await settle(client.get, "k"), int)
    assert_type(await settle(client.get.aio, "k"), int)
    assert_type(await settle(fetch, "u"), bytes)
    await client.get(1)  # E: wrong argument type
    client.get("k")  # E: forgotten await
    client.get.aio("k")  # E: forgotten await
    fetch("u")  # E: forgotten await
    namer: AsyncNamer = client  # E: get returns int, not str
    print(getter, namer)


def sync_code() -> None:
    # Async-first stubs: sync code uses the explicit form.
    assert_type(Client().get.sync("k"), int)
    assert_type(Client().stream.sync(2), Iterator[str])
    with Client() as c:
        assert_type(c, Client)
    for n in Counter(2):
        assert_type(n, int)
