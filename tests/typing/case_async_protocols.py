"""A user's Protocol written with `async def`, and callbacks typed `Callable[..., Awaitable[T]]`.

A dual method satisfies an async Protocol in any scope: its coroutine face
is what mypy infers for an `async def` (`typing.Coroutine`; other checkers,
on generated stubs, `types.CoroutineType`: stubs_async_first.py).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Protocol, TypeVar, assert_type

from smartlib import Client, Decorated, PerMethod, SubClient, fetch

T = TypeVar("T")


class AsyncGetter(Protocol):
    async def get(self, key: str, *, default: int = 0) -> int: ...


class AsyncTotal(Protocol):
    async def total(self, *values: int) -> int: ...


class AsyncDoubler(Protocol):
    async def double(self, x: int) -> int: ...


class AsyncNamer(Protocol):
    async def get(self, key: str, *, default: int = 0) -> str: ...


async def read(getter: AsyncGetter) -> int:
    return await getter.get("k")


async def settle(make: Callable[..., Awaitable[T]], *args: Any) -> T:
    return await make(*args)


getter: AsyncGetter = Client()
total: AsyncTotal = Decorated()
doubler: AsyncDoubler = PerMethod()
# Not caught on mypy: read as a value, a dual method's bare call is Any (its
# caller decides; smartasync/mypy.py, _method_face).  Async-first stubs
# catch it (stubs_async_first.py).
namer: AsyncNamer = Client()


async def main() -> None:
    client = Client()
    local: AsyncGetter = client
    assert_type(await read(client), int)
    assert_type(await read(SubClient()), int)
    assert_type(await local.get("k"), int)
    assert_type(await total.total(1, 2), int)
    assert_type(await doubler.double(2), int)
    assert_type(await settle(client.get.aio, "k"), int)
    assert_type(await settle(fetch.aio, "u"), bytes)
    # The bare method as a value: accepted, its result Any on mypy (as above).
    print(await settle(client.get, "k"), await settle(fetch, "u"))
    assert_type(await settle(PerMethod().double.aio, 2), int)
    await read(Decorated())  # E: Argument 1 to "read" has incompatible type "Decorated"; expected "AsyncGetter"  [arg-type]
    client.get.aio("k")  # E: Value of type "Coroutine[Any, Any, int]" must be used  [unused-coroutine]
    fetch.aio("u")  # E: Value of type "Coroutine[Any, Any, bytes]" must be used  [unused-coroutine]
    local.get("k")  # E: Value of type "Coroutine[Any, Any, int]" must be used  [unused-coroutine]
