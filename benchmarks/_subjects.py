"""What is measured: the raw class (floors), smartasync's three forms, the
pass-through wrappers and the predecessor's design, all with the same bodies.

`m` is the trivial coroutine, `s` one that suspends once.
"""

from __future__ import annotations

import asyncio
import functools
import threading
from collections.abc import Callable, Coroutine
from typing import Any


class Raw:
    async def m(self, x: int) -> int:
        return x + 1

    async def s(self, x: int) -> int:
        await asyncio.sleep(0)
        return x + 1


async def raw_f(x: int) -> int:
    return x + 1


def drive(coro: Coroutine[Any, Any, Any]) -> Any:
    """Run a coroutine by hand, with no loop: enough for one that never
    suspends, or only on a bare `yield` (asyncio.sleep(0))."""
    try:
        while True:
            coro.send(None)
    except StopIteration as stop:
        return stop.value


def passthrough(fn: Callable[..., Any]) -> Callable[..., Any]:
    """The do-nothing decorator most code would write."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        return fn(*args, **kwargs)

    return wrapper


def passthrough_exact(fn: Callable[[Any, int], Any]) -> Callable[[Any, int], Any]:
    """A pass-through with the method's own signature: no argument packing."""

    def wrapper(self: Any, x: int) -> Any:
        return fn(self, x)

    return wrapper


class PassThrough:
    m = passthrough(Raw.m)
    s = passthrough(Raw.s)


class PassThroughExact:
    m = passthrough_exact(Raw.m)
    s = passthrough_exact(Raw.s)


# The predecessor (SmartAsync v0.1) in ten lines: a running-loop check, and
# asyncio.run() per sync call.
def predecessor(fn: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        coro = fn(*args, **kwargs)
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return asyncio.run(coro)
        return coro

    return wrapper


class Predecessor:
    m = predecessor(Raw.m)
    s = predecessor(Raw.s)


def build_smart(sa: Any) -> dict[str, Any]:
    """smartasync's forms, built with the module `sa` (possibly a scratch copy)."""

    @sa.smartasync
    class Smart:
        async def m(self, x: int) -> int:
            return x + 1

        async def s(self, x: int) -> int:
            await asyncio.sleep(0)
            return x + 1

    class Based(sa.SmartAsync):
        async def m(self, x: int) -> int:
            return x + 1

        async def s(self, x: int) -> int:
            await asyncio.sleep(0)
            return x + 1

    @sa.smartasync
    async def smart_f(x: int) -> int:
        return x + 1

    @sa.smartasync
    class Held:
        """An object whose `hold()` keeps a sync call running (and so the
        loop it runs on driven by the calling thread) until `release()`."""

        def __init__(self) -> None:
            self.holding = threading.Event()
            self._loop: asyncio.AbstractEventLoop | None = None
            self._released: asyncio.Event | None = None

        async def m(self, x: int) -> int:
            return x + 1

        async def where(self) -> int:
            """The thread that runs the call."""
            return threading.get_ident()

        async def hold(self, limit: float) -> None:
            self._loop = asyncio.get_running_loop()
            self._released = asyncio.Event()
            self.holding.set()
            async with asyncio.timeout(limit):
                await self._released.wait()

        async def release(self) -> None:
            # On a shared sync loop this call runs on the held loop; with
            # per-thread loops it does not, and must cross threads safely.
            assert self._loop is not None and self._released is not None
            if asyncio.get_running_loop() is self._loop:
                self._released.set()
            else:
                self._loop.call_soon_threadsafe(self._released.set)

    return {"Smart": Smart, "Based": Based, "smart_f": smart_f, "Held": Held}


def helper_m(obj: Any) -> Any:
    """Sync code calling a bare `obj.m(1)`: run inside a coroutine, this is the
    sync helper called from async code."""
    return obj.m(1)


def helper_s(obj: Any) -> Any:
    return obj.s(1)


def class_namespace(count: int) -> dict[str, Any]:
    """A class body of `count` trivial async methods."""
    namespace: dict[str, Any] = {"__module__": __name__}
    for index in range(count):
        scope: dict[str, Any] = {}
        exec(f"async def m{index}(self, x):\n    return x + {index}\n", scope)
        namespace[f"m{index}"] = scope[f"m{index}"]
    return namespace
