"""super() calls, overrides, stored bound methods, generic classes."""

from __future__ import annotations

from collections.abc import Coroutine
from typing import Any, assert_type

from smartlib import Box, Client, SubClient


class Mine(SubClient):
    async def get(self, key: str, *, default: int = 0) -> int:
        value = super().get(key, default=default)
        assert_type(value, Coroutine[Any, Any, int]).close()
        return await value

    def sync_get(self, key: str) -> int:
        value = super().get(key)
        assert_type(value, int)
        return value

    async def extra(self) -> str:
        return "x"


class Narrower(Client):
    async def get(self, key: str, *, default: int = 0) -> bool:  # a narrower result is fine
        return True


class Broken(Client):
    async def get(self, key: int) -> int:  # E: Signature of "get" incompatible with supertype "Client"  [override]
        return key


assert_type(Mine().get("k"), int)
assert_type(Mine().extra(), str)
assert_type(Mine().sync_get("k"), int)
assert_type(Narrower().get("k"), bool)

bound = Client().get
assert_type(bound("k"), int)
assert_type(bound.sync("k"), int)
getter = Box(2).get
assert_type(getter(), int)


async def main() -> None:
    assert_type(await bound("k"), int)
    pending = bound("k")
    assert_type(pending, Coroutine[Any, Any, int]).close()
    await pending
    assert_type(await Mine().extra(), str)
    assert_type(await getter(), int)
