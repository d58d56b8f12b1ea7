"""Public async methods inherited from a base that is not smart are dual too."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Coroutine, Iterator
from typing import Any, assert_type

from plainlib import PlainClient
from smartasync import SmartAsync


class Client(SmartAsync, PlainClient):
    pass


class LocalPlain:
    """A plain base in the same module: its bare calls are typed through the
    smart subclass too (the explicit forms need it in another module)."""

    async def ping(self, n: int) -> int:
        return n


class LocalSmart(SmartAsync, LocalPlain):
    pass


assert_type(LocalSmart().ping(1), int)
assert_type(LocalPlain().ping(1), Coroutine[Any, Any, int]).close()


with Client() as client:
    assert_type(client, Client)
    assert_type(client.fetch("/"), bytes)
    assert_type(client.fetch.sync("/"), bytes)
    assert_type(client.lines(2), Iterator[str])
    with client.transaction() as tx:
        assert_type(tx, int)
    # private methods of a plain base are left as they are
    client._private().close()

assert_type(PlainClient().fetch("/"), Coroutine[Any, Any, bytes]).close()


async def main() -> None:
    async with Client() as client:
        assert_type(await client.fetch("/"), bytes)
        assert_type(client.lines(2), AsyncGenerator[str, None])
        async with client.transaction() as tx:
            assert_type(tx, int)
        assert_type(await LocalSmart().ping(1), int)
        client.fetch("/")  # E: Value of type "Coroutine[Any, Any, bytes]" must be used  [unused-coroutine]
