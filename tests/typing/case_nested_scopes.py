"""Sync code nested inside an `async def` (a lambda, a plain def) gets the result."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any, assert_type

from smartlib import Client


async def outer(client: Client) -> None:
    now: Callable[[], int] = lambda: client.get("k")
    assert_type(now(), int)

    def inner() -> int:
        value = client.get("k")
        assert_type(value, int)
        return value

    assert_type(inner(), int)

    async def nested_async() -> int:
        pending = client.get("k")
        assert_type(pending, Coroutine[Any, Any, int]).close()
        return await pending

    assert_type(await nested_async(), int)

    class Local:
        in_class_body = client.get("k")
        assert_type(in_class_body, int)

        def method(self) -> int:
            return client.get("k")

        async def amethod(self) -> int:
            return await client.get("k")

    del Local


def sync_outer(client: Client) -> None:
    async def inside() -> int:
        pending = client.get("k")
        assert_type(pending, Coroutine[Any, Any, int]).close()
        return await pending

    del inside
