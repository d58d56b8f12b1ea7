"""Secondary loops for nested blocking calls (DESIGN §3 rule 4).

A blocking call made by code that itself runs on the sync loop (a plain `def`
helper inside a coroutine that a sync call is running) cannot run on that
loop: the loop is blocked by the very call that waits.  It runs on a
secondary loop instead, each on a daemon thread of its own, made on first
need and kept.  A call made from a secondary loop goes to another one that
is not blocked, so any depth works; depth N uses at most N-1 secondary
loops.

Where their resources live: an object first used by a nested call binds its
loop-bound parts (a lock, a pool) to the secondary loop that ran it.  The
choice is stable (the first loop that is not blocked, in creation order), so
the same nesting depth keeps using the same loop; an object shared between
top-level sync calls and nested ones is the case the cross-loop note
explains.
"""

from __future__ import annotations

import asyncio
import atexit
import os
import threading
from collections.abc import Coroutine
from typing import Any, Final, TypeVar

from . import _engine, _jobs, _loops

_R = TypeVar("_R")

_STOP_TIMEOUT: Final = 5.0


class _LoopThread:
    __slots__ = ("blocked", "loop", "stopping", "thread")

    def __init__(self, index: int) -> None:
        self.loop = _loops.new_loop()
        self.blocked = False  # its thread waits in a nested call of its own
        self.stopping = False
        started = threading.Event()
        self.thread = threading.Thread(
            target=self._serve,
            args=(started,),
            name=f"smartasync-nested-loop-{index}",
            daemon=True,
        )
        self.thread.start()
        started.wait()

    def _serve(self, started: threading.Event) -> None:
        loop = self.loop
        loop.call_soon(started.set)
        try:
            # A coroutine that calls loop.stop() must not end this thread
            # for good (rule 10): only `stopping` does.
            while not self.stopping:
                loop.run_forever()
        finally:
            _loops.close_loop(loop)


_lock = threading.Lock()
_loop_threads: list[_LoopThread] = []


def owns(loop: asyncio.AbstractEventLoop) -> bool:
    """True if `loop` is one of the secondary loops."""
    if not _loop_threads:  # the usual case, asked at each birth in async code
        return False
    return any(lt.loop is loop for lt in _loop_threads)


def run(
    coro: Coroutine[Any, Any, _R],
    running: asyncio.AbstractEventLoop,
    warn_hang: _jobs.WarnHang | None,
    after: float | None,
) -> _R:
    """Run `coro` on a secondary loop that is not blocked, while this thread
    (whose running loop is `running`) waits."""
    saved = _engine.take_ctrl_c()
    job, own = _engine.hand_over(saved, _submit, coro, running)
    try:
        return _engine.wait(job, saved, warn_hang, after)  # type: ignore[no-any-return]
    finally:
        if own is not None:
            own.blocked = False


def run_on(
    coro: Coroutine[Any, Any, _R],
    loop: asyncio.AbstractEventLoop,
    warn_hang: _jobs.WarnHang | None,
    after: float | None,
) -> _R:
    """Run `coro` on `loop`, a loop of the user's that another thread runs
    (an object's home), while this thread waits."""
    saved = _engine.take_ctrl_c()
    job = _engine.hand_over(saved, _submit_to, coro, loop)
    return _engine.wait(job, saved, warn_hang, after)  # type: ignore[no-any-return]


def _submit_to(coro: Coroutine[Any, Any, Any], loop: asyncio.AbstractEventLoop) -> _jobs.Job:
    job = _jobs.Job(coro, loop, _finish)
    loop.call_soon_threadsafe(job.start)
    return job


def _submit(
    coro: Coroutine[Any, Any, Any], running: asyncio.AbstractEventLoop
) -> tuple[_jobs.Job, _LoopThread | None]:
    with _lock:
        own = None
        target = None
        for lt in _loop_threads:
            if lt.loop is running:
                own = lt
            elif target is None and not lt.blocked and lt.thread.is_alive():
                target = lt
        if target is None:
            target = _LoopThread(len(_loop_threads) + 1)
            _loop_threads.append(target)
        job = _jobs.Job(coro, target.loop, _finish)
        target.loop.call_soon_threadsafe(job.start)
        if own is not None:
            own.blocked = True
    return job, own


def _finish(job: _jobs.Job) -> None:
    # Nobody else signals a nested job (it is never promoted): no lock needed.
    job.finished = job.told = True
    job.signal()


def _stop_all() -> None:
    with _lock:
        loop_threads = list(_loop_threads)
    for lt in loop_threads:
        lt.stopping = True
        try:
            lt.loop.call_soon_threadsafe(lt.loop.stop)
        except RuntimeError:
            continue
    for lt in loop_threads:
        lt.thread.join(_STOP_TIMEOUT)


def _after_fork_in_child() -> None:
    global _lock, _loop_threads
    # The threads did not survive the fork; their loops are abandoned, never
    # closed (see _loops.abandoned).
    _loops.abandoned.extend(lt.loop for lt in _loop_threads)
    _lock = threading.Lock()
    _loop_threads = []


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)

atexit.register(_stop_all)
