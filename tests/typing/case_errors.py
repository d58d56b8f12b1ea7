"""What must stay an error with the plugin on."""

from __future__ import annotations

import asyncio

from smartlib import Client, PerMethod, fetch

client = Client()

client.get(1)  # E: Argument 1 to "get" of "Client" has incompatible type "int"; expected "str"  [arg-type]
client.get("k", default="x")  # E: Argument "default" to "get" of "Client" has incompatible type "str"; expected "int"  [arg-type]
fetch("u", 1, 2)  # E: Too many positional arguments for "__call__" of "DualBound"  [call-arg]
PerMethod().double("2")  # E: Argument 1 to "double" of "PerMethod" has incompatible type "str"; expected "int"  [arg-type]
Client.create(1)  # E: Argument 1 to "create" of "Client" has incompatible type "int"; expected "str"  [arg-type]

# In sync code the bare call is the result, not a coroutine: asyncio.run needs .aio().
asyncio.run(client.get("k"))  # E: Argument 1 to "run" has incompatible type "int"; expected "Coroutine[Any, Any, Never]"  [arg-type]
asyncio.run(client.get.aio("k"))
text: str = client.get("k")  # E: Incompatible types in assignment (expression has type "int", variable has type "str")  [assignment]


def sync_helper() -> int:
    return await client.get("k")  # E: Returning Any from function declared to return "int"  [no-any-return]  # E: "await" outside coroutine ("async def")  [await-not-async]  # E: Incompatible types in "await" (actual type "int", expected type "Awaitable[Any]")  [misc]


async def forgot() -> None:
    client.get("k")  # E: Value of type "Coroutine[Any, Any, int]" must be used  [unused-coroutine]
    fetch("u")  # E: Value of type "Coroutine[Any, Any, bytes]" must be used  [unused-coroutine]
    value: int = client.get("k")  # E: Incompatible types in assignment (expression has type "Coroutine[Any, Any, int]", variable has type "int")  [assignment]
    doubled = client.get("k") * 2  # E: Unsupported operand types for * ("Coroutine[Any, Any, int]" and "int")  [operator]
    del value, doubled
    await client.get("k")
    for _ in client.stream(2):  # E: "AsyncGenerator[str, None]" has no attribute "__iter__" (not iterable)  [attr-defined]
        pass
    await client.raw()
    client.raw()  # E: Value of type "Coroutine[Any, Any, int]" must be used  [unused-coroutine]


client.raw()  # E: Value of type "Coroutine[Any, Any, int]" must be used  [unused-coroutine]
