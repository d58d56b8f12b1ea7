"""A call leaves no reference cycle behind.

What a call leaves in a cycle is freed by the garbage collector at a later,
random instant of the program, and freeing it runs Python code: asyncio's
WeakSet callbacks, finalisers.  Python drops an exception raised there, so a
Ctrl-C landing in it is lost ("Exception ignored in WeakSet._remove", CI's
real-SIGINT sweep on 3.12).  It also keeps an async generator, its iterator
and their frames alive longer than the call.  So every kind of call must free
everything it made by reference counting, when it returns.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import itertools
import signal
import sys
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest

from smartasync import SmartAsync
from smartasync._dual import SPECIALISE_AT


class Subject(SmartAsync):
    async def work(self) -> int:
        await asyncio.sleep(0)
        return 1

    async def quick(self) -> int:
        return 1

    async def fail(self) -> None:
        await asyncio.sleep(0)
        raise ValueError("refused")

    async def items(self, n: int) -> AsyncIterator[int]:
        try:
            for i in range(n):
                await asyncio.sleep(0)
                yield i
        finally:
            await asyncio.sleep(0)

    @property
    async def value(self) -> int:
        await asyncio.sleep(0)
        return 2

    @contextlib.asynccontextmanager
    async def session(self) -> AsyncIterator[Subject]:
        await asyncio.sleep(0)
        yield self

    async def __aenter__(self) -> Subject:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await asyncio.sleep(0)


@contextlib.contextmanager
def no_cyclic_garbage() -> Iterator[None]:
    """Fails if what runs inside leaves anything for the collector."""
    gc.collect()
    enabled = gc.isenabled()
    gc.disable()  # no collection in the middle: everything is counted below
    try:
        yield
        gc.set_debug(gc.DEBUG_SAVEALL)
        found = gc.collect()
        kinds = sorted({type(obj).__name__ for obj in gc.garbage})
        assert found == 0, f"{found} objects left in cycles: {kinds}"
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        if enabled:
            gc.enable()


def _sync_calls(obj: Subject) -> dict[str, Callable[[], Any]]:
    def fail() -> None:
        # (Not pytest.raises: interrupted by Ctrl-C, its own objects form
        # cycles, which are not the call's.)
        try:
            obj.fail()
        except ValueError as error:
            assert str(error) == "refused"
        else:
            raise AssertionError("obj.fail() returned")

    def iterate(stop: int | None) -> None:
        for i in obj.items(3):
            if i == stop:
                break

    def session() -> None:
        with obj.session():
            pass

    def twin(raising: bool) -> None:
        with contextlib.suppress(KeyError), obj:
            if raising:
                raise KeyError

    return {
        "method": obj.work,
        "not suspending": obj.quick,
        "sync form": obj.work.sync,
        "raising": fail,
        "property": lambda: obj.value,
        "async generator": lambda: iterate(None),
        "async generator, break": lambda: iterate(0),
        "asynccontextmanager method": session,
        "with": lambda: twin(False),
        "with, raising in the body": lambda: twin(True),
    }


KINDS = list(_sync_calls(Subject()))


@pytest.mark.parametrize("kind", KINDS)
def test_a_sync_call_leaves_no_cycle(kind: str) -> None:
    call = _sync_calls(Subject())[kind]
    call()  # first uses: specialising, the loop
    call()
    with no_cyclic_garbage():
        call()


@pytest.mark.parametrize("kind", ["method", "raising", "async generator", "with"])
def test_a_sync_call_from_a_worker_thread_leaves_no_cycle(kind: str) -> None:
    call = _sync_calls(Subject())[kind]
    call()
    with no_cyclic_garbage():
        thread = threading.Thread(target=call)
        thread.start()
        thread.join(30)
        assert not thread.is_alive()


def _interrupt_at(k: int, call: Callable[[], Any]) -> bool:
    """Run `call` with a real SIGINT raised at its k-th instant (a function's
    start, a C call's return: where Python runs a pending handler).  Whether
    it was raised (the call has fewer instants)."""
    seen = 0

    def profiler(frame: Any, event: str, arg: Any) -> None:
        nonlocal seen
        if event in ("call", "c_return"):
            seen += 1
            if seen == k:
                signal.raise_signal(signal.SIGINT)

    try:
        try:
            sys.setprofile(profiler)
            call()
        finally:
            sys.setprofile(None)
    except KeyboardInterrupt:
        return True
    return seen >= k


@pytest.mark.parametrize("kind", ["method", "async generator", "with", "raising"])
def test_a_sync_call_interrupted_by_ctrl_c_leaves_no_cycle(kind: str) -> None:
    """Ctrl-C at every instant of the call (main thread).  The call's
    CancelledError, kept in a local of the engine's, once tied an interrupted
    iteration's iterator, and its finaliser, to a later collection."""
    call = _sync_calls(Subject())[kind]
    for _ in range(SPECIALISE_AT):  # past the first uses (the generated types)
        call()
    for k in itertools.count(1):
        with no_cyclic_garbage():
            raised = _interrupt_at(k, call)
        if not raised:
            break
    assert k > 20, k  # the sweep went through the call


@pytest.mark.asyncio
async def test_awaited_calls_leave_no_cycle() -> None:
    obj = Subject()

    async def calls() -> None:
        assert await obj.work() == 1
        assert await obj.value == 2
        assert [i async for i in obj.items(2)] == [0, 1]
        async with obj.session():
            pass
        async with obj:
            pass
        with pytest.raises(ValueError, match="refused"):
            await obj.fail()

    await calls()
    with no_cyclic_garbage():
        await calls()
