"""A bare call with no Python caller at all: `atexit.register(client.close)`,
`_thread.start_new_thread(obj.m, ...)`, a C library's callback thread.
No Python code is calling, so no async code: the call runs to completion as
any sync caller's does (DESIGN §2).  It used to raise `ValueError: call
stack is not deep enough` (the rule read the caller's frame with
`sys._getframe(1)`), on the generic, the generated and the C paths alike."""

from __future__ import annotations

import _thread
import asyncio
import subprocess
import sys
import threading
from typing import Any

import pytest

from smartasync import SmartAsync, smartasync
from smartasync._dual import SPECIALISE_AT

ATEXIT = """
import atexit, sys
from smartasync import SmartAsync, smartasync, set_mode

class Client(SmartAsync):
    async def close(self, tag):
        print("method", tag)
        return tag

class Stubborn(SmartAsync, mode="sync"):
    async def close(self, tag):
        print("sync mode", tag)

@smartasync
async def flush(tag):
    print("function", tag)

client, stubborn = Client(), Stubborn()
for i in range(int(sys.argv[1])):  # 0: the generic path; more: specialised
    client.close(-1), flush(-1), stubborn.close(-1)
atexit.register(client.close, 1)
atexit.register(flush, 2)
atexit.register(stubborn.close, 3)
atexit.register(Client)  # made with no Python caller
"""


@pytest.mark.parametrize("warm", [0, SPECIALISE_AT + 1])
def test_atexit_callbacks_run_to_completion(warm: int) -> None:
    done = subprocess.run(
        [sys.executable, "-X", "dev", "-c", ATEXIT, str(warm)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert done.stderr == ""
    # atexit runs the last registered first
    assert done.stdout.splitlines()[-3:] == ["sync mode 3", "function 2", "method 1"]


class Recorder(SmartAsync):
    def __init__(self) -> None:
        self.seen: list[Any] = []
        self.done = threading.Event()

    async def record(self, value: Any) -> Any:
        await asyncio.sleep(0)
        self.seen.append((value, threading.get_ident()))
        self.done.set()
        return value


@smartasync
async def record_into(box: list[Any], event: threading.Event, value: Any) -> None:
    await asyncio.sleep(0)
    box.append(value)
    event.set()


def _from_c_threads(recorder: Recorder, box: list[Any], event: threading.Event) -> None:
    """One call of each path from threads that C starts, with no Python frame."""
    for use in range(SPECIALISE_AT + 2):
        recorder.done.clear()
        _thread.start_new_thread(recorder.record, (use,))
        assert recorder.done.wait(10), use
        event.clear()
        _thread.start_new_thread(record_into, (box, event, use))
        assert event.wait(10), use


def test_threads_started_from_c_get_the_call_run() -> None:
    """The thread's call runs (no coroutine left unawaited, no error)."""
    recorder, box, event = Recorder(), list[Any](), threading.Event()
    _from_c_threads(recorder, box, event)
    assert [value for value, _ in recorder.seen] == list(range(SPECIALISE_AT + 2))
    assert box == list(range(SPECIALISE_AT + 2))


@pytest.mark.asyncio
async def test_threads_started_from_c_while_a_loop_runs_here() -> None:
    """The same while this thread runs an event loop: those threads are sync
    callers of their own, and never touch this loop."""
    recorder, box, event = Recorder(), list[Any](), threading.Event()
    await asyncio.to_thread(_from_c_threads, recorder, box, event)
    assert box == list(range(SPECIALISE_AT + 2))
    assert all(ident != threading.get_ident() for _, ident in recorder.seen)
    assert await recorder.record("here") == "here"  # and awaiting here still works
