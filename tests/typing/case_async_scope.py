"""Bare calls from an `async def` body are awaitables; comprehensions belong to it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterator, Coroutine
from typing import Any, assert_type

from smartlib import Aliased, Box, Client, Decorated, FromDecorated, PerMethod, SubClient, fetch


async def main(client: Client) -> None:
    assert_type(await client.get("k"), int)
    assert_type(await fetch("u"), bytes)
    pending = client.get("k")
    assert_type(pending, Coroutine[Any, Any, int]).close()
    assert_type(await pending, int)
    items = client.stream(2)
    assert_type(items, AsyncGenerator[str, None])
    assert_type([s async for s in client.stream(2)], list[str])
    assert_type(await Client.create("x"), Client)
    assert_type(await Client.version(), str)
    assert_type(await SubClient().get("k"), int)
    assert_type(await SubClient().renamed("z"), SubClient)
    assert_type(await Aliased().ping(), bool)
    assert_type(await Decorated().total(1), int)
    assert_type(await FromDecorated().mean(1), float)
    assert_type(await PerMethod().double(2), int)
    assert_type(await PerMethod.build(), PerMethod)
    assert_type(await PerMethod().square(3), int)
    assert_type(await Box(1.5).get(), float)
    results = await asyncio.gather(*(client.get(k) for k in "ab"))
    assert_type(results, list[int])
    coroutines = [client.get(k) for k in "ab"]
    assert_type(coroutines, list[Coroutine[Any, Any, int]])
    mapping = {k: client.get(k) for k in "ab"}
    assert_type(mapping, dict[str, Coroutine[Any, Any, int]])
    await asyncio.gather(*coroutines, *mapping.values())


async def agen(client: Client) -> AsyncIterator[int]:
    # an async generator body is async code too
    yield await client.get("k")
    pending = client.get("k")
    assert_type(pending, Coroutine[Any, Any, int]).close()
    yield await pending
