# examples/recipes/trio_anyio.py: one dual method under trio, anyio (trio backend) and a trio worker thread

import anyio
import trio

from smartasync import SmartAsync


class Counter(SmartAsync):
    async def add(self, a: int, b: int) -> int:
        await anyio.sleep(0.001)  # anyio: runs under asyncio and under trio
        return a + b


counter = Counter()


async def under_trio() -> tuple[int, int]:
    awaited = await counter.add(1, 2)  # an async def caller: the awaitable
    # A trio worker thread makes a sync call: it gets the value.
    in_thread = await trio.to_thread.run_sync(counter.add, 3, 4)
    return awaited, in_thread


async def under_anyio() -> int:
    return await counter.add(5, 6)


if __name__ == "__main__":
    print(trio.run(under_trio))  # (3, 7)
    print(anyio.run(under_anyio, backend="trio"))  # 11
    print(counter.add(7, 8))  # plain sync code: 15
