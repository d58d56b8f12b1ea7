"""Smart protocols stay runtime-checkable: smartasync's mode keys in a
protocol's class dict are not protocol members, so `isinstance` matches by
structure on every Python (3.11 collects members at each check, 3.12+ when
each protocol class is made, sub-protocols included)."""

from __future__ import annotations

import asyncio
from typing import Any, Protocol, runtime_checkable

import pytest

from smartasync import SmartAsync, get_mode, smartasync


@runtime_checkable
@smartasync
class Store(Protocol):
    async def load(self, key: str) -> str: ...


@runtime_checkable
class NamedStore(Store, Protocol):  # a sub-protocol, walked as it is made
    async def name(self) -> str: ...


@smartasync(mode="sync")
@runtime_checkable
class SyncStore(Protocol):
    async def load(self, key: str) -> str: ...


class Structural:
    """Matches by structure only: not a subclass, not smart."""

    async def load(self, key: str) -> str:
        return f"structural:{key}"

    async def name(self) -> str:
        return "structural"


class Unrelated:
    async def save(self, key: str) -> None: ...


class Memory(NamedStore):  # an explicit implementation: a smart class
    async def load(self, key: str) -> str:
        await asyncio.sleep(0)
        return f"memory:{key}"

    async def name(self) -> str:
        return "memory"


class SyncMemory(SyncStore):
    async def load(self, key: str) -> str:
        return f"sync:{key}"


def test_isinstance_matches_by_structure() -> None:
    assert isinstance(Structural(), Store)
    assert isinstance(Structural(), NamedStore)
    assert isinstance(Structural(), SyncStore)
    assert not isinstance(Unrelated(), Store)
    # (Typed through Any: the mypy plugin makes dual methods attributes, which
    # mypy counts as non-method members, refusing issubclass on the protocol.)
    store: Any = Store
    named: Any = NamedStore
    assert issubclass(Structural, store) and issubclass(Structural, named)
    assert not issubclass(Unrelated, store)


def test_explicit_implementations_are_smart_and_keep_the_protocol_mode() -> None:
    assert isinstance(Memory(), NamedStore) and isinstance(Memory(), Store)
    assert Memory().load("k") == "memory:k"
    assert get_mode(SyncStore) == "sync" and get_mode(SyncMemory()) == "sync"


def test_smart_base_and_protocol_is_refused_by_typing() -> None:
    # typing.Protocol takes only protocols as bases; the decorator is the
    # spelling for a smart protocol.
    with pytest.raises(TypeError, match="Protocols can only inherit from other protocols"):

        class Both(SmartAsync, Protocol):  # type: ignore[misc]
            async def load(self, key: str) -> str: ...


@pytest.mark.asyncio
async def test_isinstance_from_async_code_and_calls_on_implementations() -> None:
    assert isinstance(Structural(), Store) and isinstance(Structural(), NamedStore)
    assert not isinstance(Unrelated(), NamedStore)
    assert await Memory().load("k") == "memory:k"
    assert await Memory().name() == "memory"


@pytest.mark.asyncio
async def test_sync_mode_protocol_implementation_from_async_code() -> None:
    # The protocol's mode is inherited: the implementation runs to completion.
    # (Typed through Any: the plugin does not read a protocol's mode.)
    memory: Any = SyncMemory()
    assert memory.load("k") == "sync:k"
