"""The explicit forms of the per-method decorator: exact with no plugin, on every checker."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Coroutine, Iterator
from typing import Any, assert_type

from smartlib import PerMethod, fetch, ticks

assert_type(fetch.sync("u", 1, timeout=2.0), bytes)
assert_type(fetch.sync("u"), bytes)
assert_type(asyncio.run(fetch.aio("u")), bytes)
assert_type(ticks.sync(3), Iterator[int])
assert_type(PerMethod().double.sync(2), int)
assert_type(asyncio.run(PerMethod().double.aio(2)), int)
assert_type(PerMethod.double.sync(PerMethod(), 2), int)


async def main() -> None:
    # A coroutine face is what the checker infers for an `async def`:
    # types.CoroutineType (typing.Coroutine on mypy), a Coroutine either way.
    coroutine: Coroutine[Any, Any, bytes] = fetch.aio("u")
    coroutine.close()
    assert_type(await fetch.aio("u"), bytes)
    assert_type(fetch.sync("u"), bytes)
    assert_type(ticks.aio(2), AsyncGenerator[int, None])
    assert_type(await PerMethod().double.aio(2), int)


fetch.sync("u", timeout="slow")  # E: Argument "timeout" to "sync" of "DualBound" has incompatible type "str"; expected "float"  [arg-type]
fetch.sync(url="u")  # E: Unexpected keyword argument "url" for "sync" of "DualBound"  [call-arg]
fetch.aio(1)  # E: Value of type "Coroutine[Any, Any, bytes]" must be used  [unused-coroutine]  # E: Argument 1 to "aio" of "DualBound" has incompatible type "int"; expected "str"  [arg-type]
PerMethod().double.sync()  # E: Missing positional argument "x" in call to "sync" of "DualBound"  [call-arg]
PerMethod().double.sync("2")  # E: Argument 1 to "sync" of "DualBound" has incompatible type "str"; expected "int"  [arg-type]
ticks.sync("3")  # E: Argument 1 to "sync" of "DualGenBound" has incompatible type "str"; expected "int"  [arg-type]
