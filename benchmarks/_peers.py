"""The peers: other libraries that make one `async def` callable both ways.

Each is used the way its documentation shows, on the same method bodies as
the subjects.  A peer that is not installed, or fails to import or to build,
is recorded with the reason and skipped.  Scenarios a peer does not offer
(no async form, no blocking call inside a running loop) are stated, not
timed.

Statements per scenario:
    sync_m / sync_s  blocking call from sync code (trivial / suspending)
    async_m          awaited from async code
    inloop_m         blocking call made while this thread's loop runs
"""

from __future__ import annotations

import asyncio
import importlib
import importlib.metadata
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from _subjects import Predecessor, Raw


@dataclass
class Peer:
    name: str
    dist: str | None  # distribution name, None for the in-file re-creation
    note: str
    # Makes the objects (called in the thread that will use them).
    build: Callable[[], dict[str, Any]]
    stmts: dict[str, str]
    # Scenario -> why it is not measured.
    missing: dict[str, str] = field(default_factory=dict)
    version: str | None = None
    error: str | None = None


def _predecessor() -> dict[str, Any]:
    return {"pred": Predecessor()}


def _universalasync() -> dict[str, Any]:
    universalasync = importlib.import_module("universalasync")

    @universalasync.wrap
    class UA:
        async def m(self, x: int) -> int:
            return x + 1

        async def s(self, x: int) -> int:
            await asyncio.sleep(0)
            return x + 1

    return {"ua": UA()}


def _a_sync() -> dict[str, Any]:
    a_sync = importlib.import_module("a_sync")

    class AZ(a_sync.ASyncGenericBase):  # type: ignore[misc]
        def __init__(self, sync: bool) -> None:
            super().__init__()
            self.sync = sync

        async def m(self, x: int) -> int:
            return x + 1

        async def s(self, x: int) -> int:
            await asyncio.sleep(0)
            return x + 1

    # ez-a-sync picks the style per instance (`sync=`), not per caller.
    return {"az_sync": AZ(sync=True), "az_async": AZ(sync=False)}


_synchronizer: Any = None


def _synchronicity() -> dict[str, Any]:
    global _synchronizer
    synchronicity = importlib.import_module("synchronicity")
    if _synchronizer is None:
        _synchronizer = synchronicity.Synchronizer()

    class SY:
        async def m(self, x: int) -> int:
            return x + 1

        async def s(self, x: int) -> int:
            await asyncio.sleep(0)
            return x + 1

    blocking = _synchronizer.create_blocking(SY, "BlockingSY", __name__)
    return {"sy": blocking()}


def _asgiref() -> dict[str, Any]:
    sync_module = importlib.import_module("asgiref.sync")
    raw = Raw()
    return {
        "a2s_m": sync_module.async_to_sync(raw.m),
        "a2s_s": sync_module.async_to_sync(raw.s),
    }


def peers() -> list[Peer]:
    """Every peer, with its version or the reason it cannot be measured."""
    found = [
        Peer(
            "predecessor (asyncio.run per call)",
            None,
            "ten-line re-creation: running-loop check + asyncio.run()",
            _predecessor,
            {
                "sync_m": "pred.m(1)",
                "sync_s": "pred.s(1)",
                "async_m": "pred.m(1)",
                "inloop_m": "pred.m(1)",
            },
        ),
        Peer(
            "universalasync",
            "universalasync",
            "@universalasync.wrap; loop.run_until_complete on a per-thread loop",
            _universalasync,
            {"sync_m": "ua.m(1)", "sync_s": "ua.s(1)", "async_m": "ua.m(1)", "inloop_m": "ua.m(1)"},
        ),
        Peer(
            "ez-a-sync",
            "ez-a-sync",
            "ASyncGenericBase; style chosen per instance (sync=True/False)",
            _a_sync,
            {
                "sync_m": "az_sync.m(1)",
                "sync_s": "az_sync.s(1)",
                "async_m": "az_async.m(1)",
                "inloop_m": "az_sync.m(1)",
            },
        ),
        Peer(
            "synchronicity",
            "synchronicity",
            "Synchronizer.create_blocking; runs on its own loop thread; async form is .aio",
            _synchronicity,
            {
                "sync_m": "sy.m(1)",
                "sync_s": "sy.s(1)",
                "async_m": "sy.m.aio(1)",
                "inloop_m": "sy.m(1)",
            },
        ),
        Peer(
            "asgiref async_to_sync",
            "asgiref",
            "async_to_sync(obj.m) made once, called per call; sync only",
            _asgiref,
            {"sync_m": "a2s_m(1)", "sync_s": "a2s_s(1)", "inloop_m": "a2s_m(1)"},
            {"async_m": "no async form (its docs: await the function directly)"},
        ),
    ]
    for peer in found:
        if peer.dist is not None:
            try:
                peer.version = importlib.metadata.version(peer.dist)
            except importlib.metadata.PackageNotFoundError:
                peer.error = f"not installed (pip install {peer.dist}, or the `bench` extra)"
    return found
