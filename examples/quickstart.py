"""One class, written once with `async def`, used from sync code and from async code.

Run it:  python examples/quickstart.py
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from smartasync import SmartAsync, set_mode, smartasync


class Counter(SmartAsync):
    """A tiny service: every async def below is callable both ways."""

    def __init__(self) -> None:
        self.lock: asyncio.Lock | None = None
        self.total = 0

    async def add(self, amount: int) -> int:
        if self.lock is None:
            self.lock = asyncio.Lock()  # bound to the loop of the first call
        async with self.lock:
            await asyncio.sleep(0.01)
            self.total += amount
            return self.total

    async def countdown(self, start: int) -> AsyncIterator[int]:  # an async generator method
        for value in range(start, 0, -1):
            await asyncio.sleep(0)
            yield value


@smartasync
async def greet(name: str) -> str:
    await asyncio.sleep(0)
    return f"hello, {name}"


def sync_main() -> None:
    counter = Counter()
    print("sync:", greet("sync code"))
    print("sync: total after two calls =", counter.add(1), "->", counter.add(2))
    print("sync: countdown", list(counter.countdown(3)))
    print("sync: explicit form .sync() =", counter.add.sync(10))
    print("sync: explicit form .aio() under asyncio.run =", asyncio.run(Counter().add.aio(7)))


async def async_main() -> None:
    counter = Counter()
    print("async:", await greet("async code"))
    totals = await asyncio.gather(*(counter.add(i) for i in range(1, 4)))
    print("async: gathered totals", sorted(totals))
    print("async: countdown", [value async for value in counter.countdown(3)])
    forced = Counter()
    set_mode(forced, "sync")  # this instance always runs to completion
    print("async: a sync-mode instance returns values even here:", forced.add(5))


if __name__ == "__main__":
    sync_main()
    asyncio.run(async_main())
