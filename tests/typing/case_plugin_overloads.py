"""Overloaded async methods are dual with every overload."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, assert_type, overload

from smartasync import SmartAsync, smartasync


class Repo(SmartAsync):
    @overload
    async def find(self, key: int) -> str: ...
    @overload
    async def find(self, key: str) -> int: ...
    async def find(self, key: int | str) -> str | int:
        return key


@smartasync
class Catalog:
    @overload
    async def item(self, ref: int, /) -> str: ...
    @overload
    async def item(self, ref: str, /, *, strict: bool = False) -> bytes: ...
    async def item(self, ref: int | str, /, *, strict: bool = False) -> str | bytes:
        return str(ref)


repo = Repo()
assert_type(repo.find(1), str)
assert_type(repo.find("a"), int)
assert_type(repo.find.sync(1), str)
assert_type(repo.find.sync("a"), int)
assert_type(repo.find.aio(1), Coroutine[Any, Any, str]).close()
assert_type(Catalog().item(1), str)
assert_type(Catalog().item("x", strict=True), bytes)
assert_type(Catalog().item.sync("x"), bytes)
repo.find(1.5)  # E: No overload variant of "find" of "Repo" matches argument type "float"  [call-overload]
repo.find.sync(1.5)  # E: No overload variant of "sync" of "DualBound" matches argument type "float"  [call-overload]
Catalog().item(1, strict=True)  # E: No overload variant of "item" of "Catalog" matches argument types "int", "bool"  [call-overload]


def helper(r: Repo) -> int:
    return r.find("k")


async def main(r: Repo) -> None:
    assert_type(await r.find(1), str)
    assert_type(await r.find("a"), int)
    pending = r.find(1)
    assert_type(pending, Coroutine[Any, Any, str]).close()
    assert_type(r.find.sync(1), str)
    assert_type(await r.find.aio("a"), int)
    assert_type(await Catalog().item(1), str)
    r.find(1)  # E: Value of type "Coroutine[Any, Any, str]" must be used  [unused-coroutine]
    text: str = r.find(1)  # E: Incompatible types in assignment (expression has type "Coroutine[Any, Any, str]", variable has type "str")  [assignment]
    del text


# As a value, the exact spellings carry every overload.  (A bare `r.find`
# read as a value keeps mypy's overload of coroutine faces: mypy asks no
# plugin hook for a method read from an instance; see smartasync/mypy.py.)


def apply(f: Callable[[int], str]) -> str:
    return f(1)


async def apply_async(f: Callable[[str], Awaitable[int]]) -> int:
    return await f("k")


apply(repo.find.sync)
apply_async(repo.find.aio).close()
apply(repo.find.aio)  # E: Argument 1 to "apply" has incompatible type overloaded function; expected "Callable[[int], str]"  [arg-type]


async def callbacks(r: Repo) -> None:
    assert_type(await apply_async(r.find.aio), int)
    await apply_async(r.find.sync)  # E: Argument 1 to "apply_async" has incompatible type overloaded function; expected "Callable[[str], Awaitable[int]]"  [arg-type]
