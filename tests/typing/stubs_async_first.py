"""What basedpyright sees on async-first stubs (`stubgen --async-first`).

The bare call is typed as the coroutine (async generator) everywhere.
Lines marked `# E` must have an error; no other line may.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Iterator

from typing import assert_type

from smartlib import Box, Client, Counter, Decorated, PerMethod, SubClient, fetch, ticks


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
    await client.get(1)  # E: wrong argument type
    client.get("k")  # E: forgotten await


def sync_code() -> None:
    # Async-first stubs: sync code uses the explicit form.
    assert_type(Client().get.sync("k"), int)
    assert_type(Client().stream.sync(2), Iterator[str])
    with Client() as c:
        assert_type(c, Client)
    for n in Counter(2):
        assert_type(n, int)
