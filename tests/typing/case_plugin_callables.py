"""A dual method as a Callable value.

At run time whoever calls the value decides (DESIGN.md, section 2), and the
framework exceptions cut across the reading code's kind
(`asyncio.to_thread(obj.m)` in async code gets the result, `trio.run(obj.m)`
in sync code the awaitable), so a bare `obj.m` read as a value keeps the
facade, accepted as any callable with its parameters; the exact spelling as
a callback is `obj.m.sync` / `obj.m.aio`.  Stored bound methods are called
by the rule where they are called.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, assert_type

from smartlib import Client


def apply(f: Callable[[str], int]) -> int:
    return f("k")


def apply_text(f: Callable[[str], str]) -> str:
    return f("k")


async def apply_async(f: Callable[[str], Awaitable[int]]) -> int:
    return await f("k")


client = Client()
apply(client.get)
apply(client.get.sync)
apply_text(client.get.sync)  # E: Argument 1 to "apply_text" has incompatible type "def sync(self, key: str, *, default: int = ...) -> int"; expected "Callable[[str], str]"  [arg-type]
wrong: Callable[[int], int] = client.get  # E: Incompatible types in assignment (expression has type "DualBound[[str, DefaultNamedArg(int, 'default')], int]", variable has type "Callable[[int], int]")  [assignment]
apply_async(client.get.aio).close()
apply_async(client.get.sync).close()  # E: Argument 1 to "apply_async" has incompatible type "def sync(self, key: str, *, default: int = ...) -> int"; expected "Callable[[str], Awaitable[int]]"  [arg-type]
stored = client.get
assert_type(stored("k"), int)


async def main() -> None:
    await apply_async(client.get)
    await apply_async(client.get.aio)
    apply(client.get.aio)  # E: Argument 1 to "apply" has incompatible type "def aio(self, key: str, *, default: int = ...) -> Coroutine[Any, Any, int]"; expected "Callable[[str], int]"  [arg-type]
    pending = stored("k")
    assert_type(pending, Coroutine[Any, Any, int]).close()
