"""The explicit forms on smart classes (base and class decorator forms).

mypy sees these through the plugin (or generated stubs); without either, a
smart class's methods are plain `async def` to a checker.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Iterator
from typing import assert_type

from smartlib import Box, Client, Decorated, SubClient

client = Client()
assert_type(client.get.sync("k"), int)
assert_type(client.get.sync("k", default=1), int)
assert_type(asyncio.run(client.get.aio("k")), int)
assert_type(client.stream.sync(3), Iterator[str])
assert_type(SubClient().get.sync("k"), int)
assert_type(Decorated().total.sync(1, 2, 3), int)
assert_type(Box(b"x").get.sync(), bytes)
assert_type(Client.create.sync("n"), Client)
assert_type(SubClient.create.sync("n"), SubClient)
assert_type(Client.version.sync(), str)
assert_type(SubClient().renamed.sync("z"), SubClient)


async def main() -> None:
    assert_type(await client.get.aio("k"), int)
    assert_type(client.get.sync("k"), int)
    assert_type(client.stream.aio(2), AsyncGenerator[str, None])
    assert_type(await SubClient.create.aio("n"), SubClient)


client.get.sync(1)  # E: Argument 1 to "sync" of "DualBound" has incompatible type "int"; expected "str"  [arg-type]
client.get.sync("k", default="x")  # E: Argument "default" to "sync" of "DualBound" has incompatible type "str"; expected "int"  [arg-type]
client.get.aio("k")  # E: Value of type "Coroutine[Any, Any, int]" must be used  [unused-coroutine]
