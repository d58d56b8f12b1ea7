"""`@smartasync` on the implementation of overloaded module-level functions."""

from __future__ import annotations

from collections.abc import Coroutine
from typing import Any, assert_type, overload

from smartasync import smartasync


@overload
async def lookup(key: int) -> str: ...
@overload
async def lookup(key: str, *, strict: bool = False) -> int: ...
@smartasync
async def lookup(key: int | str, *, strict: bool = False) -> str | int:
    return key


@overload
async def scale(value: int, factor: int = 2) -> int: ...
@overload
async def scale(value: float, factor: int = 2) -> float: ...
@smartasync(mode="sync")
async def scale(value: float, factor: int = 2) -> float:
    return value * factor


assert_type(lookup(1), str)
assert_type(lookup("a", strict=True), int)
assert_type(lookup.sync(1), str)
assert_type(lookup.sync("a"), int)
assert_type(lookup.aio(1), Coroutine[Any, Any, str]).close()
assert_type(scale(2), int)
assert_type(scale(2.5, 3), float)
assert_type(scale.sync(2.5), float)
lookup(1.5)  # E: No overload variant of "lookup" matches argument type "float"  [call-overload]
lookup(1, strict=True)  # E: No overload variant of "lookup" matches argument types "int", "bool"  [call-overload]
lookup.sync(b"k")  # E: No overload variant of "sync" of "DualBound" matches argument type "bytes"  [call-overload]
count: int = lookup(1)  # E: Incompatible types in assignment (expression has type "str", variable has type "int")  [assignment]


def helper(key: str) -> int:
    return lookup(key)


async def main() -> None:
    assert_type(await lookup(1), str)
    assert_type(await lookup("a"), int)
    pending = lookup(1)
    assert_type(pending, Coroutine[Any, Any, str]).close()
    assert_type(lookup.sync(1), str)
    assert_type(await lookup.aio("a"), int)
    assert_type(await scale(2), int)
    lookup(1)  # E: Value of type "Coroutine[Any, Any, str]" must be used  [unused-coroutine]
    text: str = lookup(1)  # E: Incompatible types in assignment (expression has type "Coroutine[Any, Any, str]", variable has type "str")  [assignment]
    await lookup.aio(1.5)  # E: No overload variant of "aio" of "DualBound" matches argument type "float"  [call-overload]
    del text
