"""Home loops that smartasync does not own: who runs them while a call needs them.

An object's home may be a loop of the user's: the loop it was made on (an
`async def` fixture, a lifespan) or entered on (`async with`).  Its owner runs
it when it wants to, which may be never again while the object is used: a
pytest-asyncio session loop between tests, the loop of a thread that has
finished its `run_until_complete`.  A call handed to such a loop would wait
forever.  DESIGN §3 rule 3 says never, so:

* a blocking caller whose thread runs no loop of its own runs the home loop
  itself when nobody runs it (as the sync loop's leader does: `_engine._lead`,
  inline, Ctrl-C included), and when its own call ends while other calls are
  pending there, it starts the loop's driver thread;
* any other call is handed to the loop (`call_soon_threadsafe`) and its caller
  waits; if nobody runs the loop, the loop's driver thread (a daemon thread,
  one per loop, alive only while calls are pending) runs it until none is
  left;
* the owner may stop running its loop while one of our calls is pending on
  it (its own `run_until_complete` ended), and nothing tells us: so every
  waiting caller looks every `TICK` seconds, and starts the driver thread if
  the loop is idle and its call is not done.

Rejected: running every foreign home on a thread of ours for good (the owner
could never run its loop again: "This event loop is already running"), and
stopping the owner's run when our calls end (`loop.stop()` from our side
would end the owner's `run_until_complete` early).  Our driver only runs the
loop while a call of ours is pending and never stops a run it did not start.

Only our drivers take the loop's token; the owner knows nothing of it, which
is why idleness is read from `loop.is_running()` (true while anybody runs it,
our inline leader included) and read again while waiting.
"""

from __future__ import annotations

import asyncio
import os
import threading
import weakref
from collections.abc import Callable, Coroutine
from typing import Any, Final, TypeVar

from . import _asyncio_internals, _engine, _jobs

_R = TypeVar("_R")

_get_running_loop = _asyncio_internals.running_loop
_get_ident = threading.get_ident

# How often a waiting caller checks that somebody runs the loop its call
# waits on.  Only the case where the owner stopped running it mid-call pays
# it (as latency); an ordinary call is woken by its own end.
TICK: Final = _jobs.TICK


class _Drive:
    """Our bookkeeping for one foreign loop (under `_lock`)."""

    __slots__ = ("done", "pending", "runner", "thread", "token", "waiter")

    def __init__(self) -> None:
        self.token = threading.Lock()  # held by whichever of our drivers runs it
        self.pending = 0  # calls handed to the loop and not finished
        self.thread: threading.Thread | None = None  # the driver thread, while alive
        self.waiter: asyncio.Future[None] | None = None  # the driver thread's idle wait
        # While the driver thread runs the loop: its ident, and the jobs that
        # ended meanwhile, whose callers are told only once it has stopped
        # running the loop (a caller may close the loop as soon as it is told:
        # pytest-asyncio closing the session loop after the last test).
        self.runner: int | None = None
        self.done: list[_jobs.Job] = []


_lock = threading.Lock()
_drives: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Drive] = weakref.WeakKeyDictionary()
_strong: dict[int, tuple[asyncio.AbstractEventLoop, _Drive]] = {}  # loops without weakrefs


def _drive_of(loop: asyncio.AbstractEventLoop) -> _Drive:
    """The loop's bookkeeping, made on first need (under `_lock`)."""
    try:
        drive = _drives.get(loop)
        if drive is None:
            drive = _drives[loop] = _Drive()
        return drive
    except TypeError:  # a loop class without weak references
        entry = _strong.get(id(loop))
        if entry is None or entry[0] is not loop:
            entry = _strong[id(loop)] = (loop, _Drive())
        return entry[1]


# -- a blocking call --------------------------------------------------------------


def run_blocking(
    coro: Coroutine[Any, Any, _R],
    loop: asyncio.AbstractEventLoop,
    can_drive: bool,
    warn_hang: _jobs.WarnHang | None,
    after: float | None,
) -> _R:
    """Run `coro` on `loop` (a foreign home loop) for a blocking caller, and
    return its result.  `can_drive`: this thread runs no loop of its own."""
    saved = _engine.take_ctrl_c()
    with _lock:
        drive = _drive_of(loop)
    if can_drive and drive.token.acquire(False):
        if not loop.is_running():
            # The leader: nobody runs the loop, this thread does, inline.
            # The token is released inside `_lead`, with Ctrl-C still deferred.
            return _engine._lead(coro, loop, saved, drive.token, lambda: _after_leading(loop))
        drive.token.release()  # its owner runs it: hand the call over
    job = _engine.hand_over(saved, _submit, coro, loop)
    return _engine.wait(job, saved, warn_hang, after, _ticker(job))  # type: ignore[no-any-return]


def _after_leading(loop: asyncio.AbstractEventLoop) -> None:
    # The leader's call is done (Ctrl-C still deferred); calls handed over
    # meanwhile are served by the driver thread.
    with _lock:
        drive = _drive_of(loop)
        if drive.pending:
            _kick_locked(loop, drive)
        elif drive.thread is None:
            _strong.pop(id(loop), None)


# -- an await from another loop ---------------------------------------------------


async def run_async(
    coro: Coroutine[Any, Any, _R],
    loop: asyncio.AbstractEventLoop,
    hang: tuple[str, Any] | None,
    after: float | None,
) -> _R:
    """Await `coro` run on `loop` (a foreign home loop) from a coroutine on
    another loop.  Cancelling the awaiting task cancels the coroutine there
    and waits for its cleanup.  The awaiting loop's watch (see
    `_engine._Watch`) looks every TICK that somebody runs `loop` (`_check`)
    and gives the hang warning (`hang`: name and awaiting frame) after
    `after` seconds (DESIGN §3 rule 5)."""
    waiter = _jobs.Waiter(asyncio.get_running_loop())
    job = _submit(coro, loop, waiter.notify)
    await waiter.watched(job, hang, after, _ticker(job), _abandon)
    return job.outcome()  # type: ignore[no-any-return]


def _settle(done: asyncio.Future[None]) -> None:
    if not done.done():
        done.set_result(None)


# -- handing a call over ----------------------------------------------------------


def _submit(
    coro: Coroutine[Any, Any, Any],
    loop: asyncio.AbstractEventLoop,
    notify: Callable[[_jobs.Job], object] | None = None,
) -> _jobs.Job:
    job = _jobs.Job(coro, loop, _finish)
    job.notify = notify
    with _lock:
        drive = _drive_of(loop)
        try:
            loop.call_soon_threadsafe(job.start)
        except RuntimeError:  # closed meanwhile
            coro.close()
            raise
        drive.pending += 1
        if not loop.is_running():
            _kick_locked(loop, drive)
    return job


def _finish(job: _jobs.Job) -> None:
    """A job ended (on the thread running its loop)."""
    with _lock:
        drive = _drive_of(job.loop)
        drive.pending -= 1
        if drive.runner == _get_ident():  # told once the driver thread lets go
            drive.done.append(job)
            waiter = drive.waiter
            if waiter is not None and not waiter.done():
                waiter.set_result(None)
            return
    _tell([job])


def _tell(jobs: list[_jobs.Job]) -> None:
    """Tell the callers of `jobs`, which have ended: at once, or once the
    driver thread has stopped running their loop."""
    for job in jobs:
        with _lock:
            job.told = True
            job.signal()
        if job.notify is not None:
            job.notify(job)


def _abandon(job: _jobs.Job) -> None:
    """The job's loop was closed before the job could end (its owner closed
    it with the call still queued): end it with an error, or its caller
    would wait forever."""
    with _lock:
        if job.told or job.finished:  # it ran: its end is being told
            return
        _drive_of(job.loop).pending -= 1
        job.error = RuntimeError(
            "the event loop where this object lives (its home loop) was closed before "
            "the call could run; make the object where it is used, or keep its loop "
            "open while it is used"
        )
        job.finished = job.told = True
        job.signal()
    _jobs.close_unstarted(job.coro)
    task = job.task
    if task is not None and not task.done():
        # Made by `job.start` on the loop before it closed, never stepped:
        # nothing to report at its destruction ("Task was destroyed but it
        # is pending", "coroutine '_job_main' was never awaited").
        _jobs.close_unstarted(task.get_coro())  # type: ignore[arg-type]
        _asyncio_internals.quiet_destroy(task)
    if job.notify is not None:
        job.notify(job)


def _ticker(job: _jobs.Job) -> Callable[[], None]:
    return lambda: _check(job)


def _check(job: _jobs.Job) -> None:
    """A waiting caller's look: its call is pending on a loop nobody runs, or
    on one that has closed."""
    loop = job.loop
    if job.told:
        return
    if loop.is_closed():
        _abandon(job)
        return
    if loop.is_running():
        job.seen_idle = False
        return
    if not job.seen_idle:
        # Idle at one look only: wait for the next.  An owner that stopped
        # running its loop to close it (pytest-asyncio's teardown runs it a
        # few times, then closes it) is done within a tick; a driver of ours
        # running it then would make its close() fail ("Cannot close a
        # running event loop").  A loop idle at two looks is left idle.
        job.seen_idle = True
        return
    with _lock:
        _kick_locked(loop, _drive_of(loop))


def _kick_locked(loop: asyncio.AbstractEventLoop, drive: _Drive) -> None:
    """Make sure the loop has a driver thread (under `_lock`).  A driver that
    has decided to stop clears `drive.thread` in the same locked step, so a
    call handed over just then starts a new one instead of counting on it."""
    if drive.thread is not None:
        return
    thread = drive.thread = threading.Thread(
        target=_driver_main, args=(loop, drive), name="smartasync-home-loop", daemon=True
    )
    try:
        thread.start()
    except BaseException:
        drive.thread = None
        raise


def _stop_driving(loop: asyncio.AbstractEventLoop, drive: _Drive) -> None:
    """The driver thread stops (under `_lock`)."""
    if drive.thread is threading.current_thread():
        drive.thread = None
    if not drive.pending:
        _strong.pop(id(loop), None)  # (only loops without weak references are there)


def _driver_main(loop: asyncio.AbstractEventLoop, drive: _Drive) -> None:
    """Run `loop` while calls of ours are pending on it and nobody else runs
    it.  Gives up at once if its owner (or our inline leader) runs it: the
    waiting callers' ticks start it again if it is needed again."""
    while True:
        # (A leader holding the token calls `_after_leading` when it is done;
        # if that found this thread, it is this wait that serves what is
        # pending.)
        if not drive.token.acquire(timeout=TICK):
            with _lock:
                if not drive.pending:
                    _stop_driving(loop, drive)
                    return
            continue
        done: list[_jobs.Job] = []
        try:
            with _lock:
                if not drive.pending or loop.is_closed() or loop.is_running():
                    _stop_driving(loop, drive)
                    return
                drive.runner = _get_ident()
            idle = _idle(loop, drive)
            try:
                loop.run_until_complete(idle)
            except RuntimeError:
                # Its owner started running it, or closed it, since the look
                # above: let go (the ticks call a driver again if needed).
                _jobs.close_unstarted(idle)
                with _lock:
                    _stop_driving(loop, drive)
                return
        finally:
            with _lock:
                drive.runner = None
                drive.waiter = None
                done, drive.done = drive.done, []
            drive.token.release()
            _tell(done)


async def _idle(loop: asyncio.AbstractEventLoop, drive: _Drive) -> None:
    """Keep `loop` running until a call of ours on it has ended (its caller is
    told once the loop is let go) or none is pending (woken by `_finish`, and
    every TICK in case a call ended while the owner ran it)."""
    while True:
        with _lock:
            if not drive.pending or drive.done:
                return
            waiter = drive.waiter = loop.create_future()
        handle = loop.call_later(TICK, _settle, waiter)
        try:
            await waiter
        finally:
            handle.cancel()


def _after_fork_in_child() -> None:
    global _lock, _drives, _strong
    # The parent's loops are left alone (DESIGN §3 rule 8); the child drops
    # the homes on them (see _home), so nothing here is needed again.
    _lock = threading.Lock()
    _drives = weakref.WeakKeyDictionary()
    _strong = {}


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
