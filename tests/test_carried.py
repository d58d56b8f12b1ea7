"""A call on an object homed on another loop gives a carrier: a coroutine
that, once awaited, runs the method's own coroutine on the home loop.  A
carrier closed, or whose task is cancelled, before its first step runs none
of its code; the method's coroutine it holds must still be closed, or Python
reports it "never awaited" (an error under `-W error`, as in these tests).
A carrier that is simply forgotten warns once, naming the method."""

from __future__ import annotations

import asyncio
import gc
import threading
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from smartasync import SmartAsync


class Remote(SmartAsync, loop_bound=True):
    """Born in async code on a loop of its own thread: that loop is its home."""

    async def where(self) -> asyncio.AbstractEventLoop:
        return asyncio.get_running_loop()

    async def count(self, n: int) -> AsyncIterator[int]:
        for i in range(n):
            yield i


@pytest.fixture
def remote() -> Iterator[tuple[Remote, asyncio.AbstractEventLoop]]:
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()

    async def make() -> Remote:
        return Remote()

    obj = asyncio.run_coroutine_threadsafe(make(), loop).result(10)
    yield obj, loop
    loop.call_soon_threadsafe(loop.stop)
    thread.join(10)
    loop.close()


async def _close_every_carrier_early(obj: Remote, home: asyncio.AbstractEventLoop) -> None:
    here = asyncio.get_running_loop()
    assert await obj.where() is home is not here  # carried, and it works
    obj.where().close()  # closed before its first step
    obj.where.aio().close()
    task = asyncio.create_task(obj.where())
    task.cancel()  # cancelled before its first step
    with pytest.raises(asyncio.CancelledError):
        await task
    steps = obj.count(3).__aiter__()
    step: Any = steps.__anext__()
    step.close()
    assert [i async for i in obj.count(3)] == [0, 1, 2]
    gc.collect()


def test_carriers_closed_early_close_what_they_carry_sync(
    remote: tuple[Remote, asyncio.AbstractEventLoop],
) -> None:
    """From sync code: its own loops (asyncio.run), and `.aio()` made outside
    any loop, closed unawaited."""
    obj, home = remote
    asyncio.run(_close_every_carrier_early(obj, home))
    obj.where.aio().close()
    gc.collect()


@pytest.mark.asyncio
async def test_carriers_closed_early_close_what_they_carry_async(
    remote: tuple[Remote, asyncio.AbstractEventLoop],
) -> None:
    """From an async test's loop."""
    obj, home = remote
    await _close_every_carrier_early(obj, home)


@pytest.mark.asyncio
async def test_a_forgotten_carrier_warns_once_naming_the_method(
    remote: tuple[Remote, asyncio.AbstractEventLoop],
) -> None:
    obj, _ = remote
    with pytest.warns(RuntimeWarning) as caught:
        forgotten: Any = obj.where()
        del forgotten
        gc.collect()
    messages = [str(w.message) for w in caught if "never awaited" in str(w.message)]
    assert messages == ["coroutine 'Remote.where' was never awaited"]
