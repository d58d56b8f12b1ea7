"""The background loop thread.

A blocking call cannot run on its own thread's loop while that loop is
running (a sync helper called from async code, forced `sync` mode inside
`asyncio.run`, a notebook cell).  Such calls run here, on one daemon thread
with its own loop, started on first use, while the caller's thread blocks.
Objects bound to the caller's loop cannot be used from here; asyncio raises a
clear "attached to a different loop" error for them rather than hanging.
"""

from __future__ import annotations

import asyncio
import atexit
import contextvars
import os
import threading
from collections.abc import Coroutine
from typing import Any, Protocol, TypeVar

from . import _loops

_R = TypeVar("_R")

_get_ident = threading.get_ident

# How often a waiting caller checks that the loop thread is still alive; the
# only way a wait could otherwise outlive the thread (at interpreter exit).
_LIVENESS_INTERVAL = 1.0
_STOP_TIMEOUT = 5.0


class _FlowBack(Protocol):
    def __call__(self, ctx: contextvars.Context, /) -> None: ...


class _Job:
    """One blocking call in flight: built in the caller's thread, started and
    finished on the loop thread, the outcome read back after `done` is released."""

    __slots__ = ("cancelled", "coro", "ctx", "done", "error", "loop", "result", "task")

    def __init__(self, coro: Coroutine[Any, Any, Any], loop: asyncio.AbstractEventLoop) -> None:
        self.coro = coro
        self.ctx = contextvars.copy_context()
        self.loop = loop
        self.done = threading.Lock()
        self.done.acquire()
        self.task: asyncio.Task[None] | None = None
        self.cancelled = False
        self.result: Any = None
        self.error: BaseException | None = None

    def start(self) -> None:  # on the loop thread
        self.task = self.loop.create_task(_job_main(self), context=self.ctx)
        if self.cancelled:
            self.task.cancel()

    def cancel(self) -> None:  # on the loop thread
        self.cancelled = True
        if self.task is not None:
            self.task.cancel()


async def _job_main(job: _Job) -> None:
    # The outcome is stored before `done` is released, so the caller never
    # reads a task that is not finished yet.  Every exception is caught:
    # KeyboardInterrupt or SystemExit raised by the coroutine belong to the
    # caller's thread, and must not stop the shared loop thread.
    try:
        job.result = await job.coro
    except BaseException as exc:
        job.error = exc
    finally:
        job.done.release()


class _Background:
    __slots__ = ("ident", "loop", "thread")

    def __init__(self, loop: asyncio.AbstractEventLoop, thread: threading.Thread) -> None:
        self.loop = loop
        self.thread = thread
        self.ident = thread.ident


_bg: _Background | None = None
_bg_lock = threading.Lock()


def _start() -> _Background:
    global _bg
    with _bg_lock:
        if _bg is not None and _bg.thread.is_alive():
            return _bg
        loop = _loops.new_loop()
        started = threading.Event()

        def serve() -> None:
            loop.call_soon(started.set)
            try:
                loop.run_forever()
            finally:
                _loops.close_loop(loop)

        thread = threading.Thread(target=serve, name="smartasync-background-loop", daemon=True)
        thread.start()
        started.wait()
        _bg = _Background(loop, thread)
        return _bg


def running_thread_ident() -> int | None:
    """The background loop thread's ident, if it runs (for tests)."""
    bg = _bg
    return bg.ident if bg is not None and bg.thread.is_alive() else None


def run(coro: Coroutine[Any, Any, _R], name: str, flow_back: _FlowBack) -> _R:
    """Run `coro` on the background loop while this thread waits."""
    bg = _bg
    if bg is None:
        bg = _start()
    if _get_ident() == bg.ident:
        coro.close()
        raise RuntimeError(
            f"{name}() was asked to run to completion from code that is itself running "
            f"on smartasync's background loop thread, which would wait for itself forever. "
            f"Inside a coroutine, await it instead: `await {name}()`, or "
            f"`await {name}.aio()` when the object is in 'sync' mode."
        )
    job = _Job(coro, bg.loop)
    try:
        bg.loop.call_soon_threadsafe(job.start)
    except RuntimeError:  # the loop was closed: interpreter exit
        coro.close()
        raise RuntimeError(
            f"{name}() cannot run: smartasync's background loop has been shut down "
            f"(the interpreter is exiting)"
        ) from None
    try:
        _wait(job, bg)
    finally:
        flow_back(job.ctx)
    error = job.error
    if error is not None:
        job.error = None
        raise error
    return job.result  # type: ignore[no-any-return]


def _acquire(done: threading.Lock, bg: _Background) -> bool:
    """Wait for `done`; False if the loop thread died first."""
    while not done.acquire(timeout=_LIVENESS_INTERVAL):
        if not bg.thread.is_alive():
            return False
    return True


def _wait(job: _Job, bg: _Background) -> None:
    try:
        finished = _acquire(job.done, bg)
    except BaseException:
        # KeyboardInterrupt (or an exception from another signal handler):
        # cancel the coroutine and let its cleanup run before the interrupt
        # reaches the caller.  A second Ctrl-C interrupts this wait too.
        if bg.thread.is_alive():
            bg.loop.call_soon_threadsafe(job.cancel)
            _acquire(job.done, bg)
        raise
    if not finished:
        raise RuntimeError(
            "smartasync's background loop thread stopped while a call was waiting on it"
        )


def _stop() -> None:
    bg = _bg
    if bg is None or not bg.thread.is_alive():
        return
    try:
        bg.loop.call_soon_threadsafe(bg.loop.stop)
    except RuntimeError:
        return
    bg.thread.join(_STOP_TIMEOUT)


def _after_fork_in_child() -> None:
    global _bg, _bg_lock
    # The thread did not survive the fork; its loop is abandoned like the
    # thread loops (see _loops._abandoned), never closed.
    if _bg is not None:
        _loops._abandoned.append(_bg.loop)
    _bg = None
    _bg_lock = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)

atexit.register(_stop)
