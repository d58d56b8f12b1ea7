"""Bare calls from sync code (module level, a plain def, a class body) are the result."""

from __future__ import annotations

from collections.abc import Iterator
from typing import assert_type

from smartlib import (
    Aliased,
    Box,
    Client,
    Decorated,
    FromDecorated,
    PerMethod,
    SubClient,
    SyncTool,
    fetch,
)

client = Client()
assert_type(client.get("k"), int)
assert_type(client.get("k", default=2), int)
assert_type(fetch("u"), bytes)
assert_type(client.stream(3), Iterator[str])
assert_type(Client.create("x"), Client)
assert_type(Client.version(), str)
assert_type(client.version(), str)
assert_type(SubClient().get("k"), int)
assert_type(SubClient.create("y"), SubClient)
assert_type(SubClient().renamed("z"), SubClient)
assert_type(client.renamed("z"), Client)
assert_type(Aliased().ping(), bool)
assert_type(Decorated().total(1, 2), int)
assert_type(FromDecorated().mean(1, 2), float)
assert_type(SyncTool().run(), str)
assert_type(SyncTool().total(1), int)
assert_type(PerMethod().double(2), int)
assert_type(PerMethod.build(), PerMethod)
assert_type(PerMethod().build.sync(), PerMethod)
assert_type(PerMethod.square(3), int)
assert_type(PerMethod().square(3), int)
assert_type(Box(3).get(), int)
assert_type(Box("s").get(), str)
assert_type(client.plain(), str)


def helper(c: Client) -> int:
    value = c.get("k")
    assert_type(value, int)
    return value + 1


class Config:
    setting = Client().get("k")
    assert_type(setting, int)


total: int = Client().get("a") + Client().get("b")
