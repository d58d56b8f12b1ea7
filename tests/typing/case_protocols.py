"""Sync twins: `with` and `for` on smart classes; dual context manager methods."""

from __future__ import annotations

from collections.abc import Iterator
from typing import assert_type

from smartlib import Client, Counter, SubClient, ticks

with Client() as c:
    assert_type(c, Client)
    with c.session("s") as label:
        assert_type(label, str)

with SubClient() as sub:
    assert_type(sub, SubClient)

for n in Counter(3):
    assert_type(n, int)

for chunk in Client().stream(2):
    assert_type(chunk, str)

for tick in ticks(2):
    assert_type(tick, int)

assert_type(iter(Counter(1)), Counter)
assert_type(next(Counter(1)), int)
assert_type(list(ticks(3)), list[int])


def consume(items: Iterator[str]) -> list[str]:
    return list(items)


consume(Client().stream(3))


async def main() -> None:
    async with Client() as c:
        assert_type(c, Client)
        async with c.session("s") as label:
            assert_type(label, str)
        with c.session("t") as label2:  # a dual context manager works both ways
            assert_type(label2, str)
    async for n in Counter(3):
        assert_type(n, int)
    async for chunk in Client().stream(2):
        assert_type(chunk, str)
    async for tick in ticks(2):
        assert_type(tick, int)
