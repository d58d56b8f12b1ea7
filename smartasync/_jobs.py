"""Jobs: a coroutine handed to a loop that its caller does not drive, and
the waiting for it.

A `Job` is made by the caller, started on the target loop (the sync loop,
a secondary loop of `_nested`, a loop of the user's in `_foreign`), and
tells its caller when it has finished (`on_finish`).  A blocking caller
waits on it in `_engine.wait`; an async caller on another loop awaits it
through a `Waiter`, which a per-loop `_Watch` checks every `TICK` for the
hang warning and for the home loops nobody runs.  The tasks' cancellation
(`request_cancel`, `abort`) is here too: it is the same for a job and for
the leader's own task (`_engine._lead`).

Nothing here knows who drives a loop; `_engine` does.
"""

from __future__ import annotations

import asyncio
import contextvars
import sys
import threading
import time
from collections.abc import Callable, Coroutine
from typing import Any, Final, TypeVar

from . import _sigint

_R = TypeVar("_R")

_get_ident = threading.get_ident
_monotonic = time.monotonic
_copy_context = contextvars.copy_context
_MISSING: Any = object()


class _Progress:
    """Jobs started or finished, ever: how `_engine._serve_ready` sees that
    running the loop on got somewhere."""

    __slots__ = ("count",)

    def __init__(self) -> None:
        self.count = 0


progress: Final = _Progress()


# Called once, in the waiting thread, when a job has kept its caller's loop
# blocked for too long (see `_runner`).
WarnHang = Callable[["Job"], None]


class Job:
    """One coroutine handed to a loop that the caller does not drive.

    Built in the caller's thread; started and finished on the loop's thread;
    the outcome is read back by the caller once `finished` is set.  `wake` is a
    lock held from birth and released once per signal (finished, or promoted
    to driver), so the caller can block on it without a Condition's overhead.
    """

    __slots__ = (
        "cancel_requested",
        "coro",
        "ctx",
        "drivable",
        "error",
        "finished",
        "ident",
        "loop",
        "notify",
        "on_finish",
        "promoted",
        "restore",
        "result",
        "seen_idle",
        "signalled",
        "started",
        "task",
        "told",
        "wake",
    )

    def __init__(
        self,
        coro: Coroutine[Any, Any, Any],
        loop: asyncio.AbstractEventLoop,
        on_finish: Callable[[Job], None],
        drivable: bool = False,
    ) -> None:
        self.coro = coro
        self.ctx = _copy_context()
        self.loop = loop
        self.on_finish = on_finish
        self.drivable = drivable
        self.ident = _get_ident()
        self.wake = threading.Lock()
        self.wake.acquire()
        self.task: asyncio.Task[None] | None = None
        self.started = self.finished = self.cancel_requested = False
        self.signalled = self.promoted = False
        # Its caller may go on: set once the job has ended *and* the thread
        # that ran it has let go of the loop, where that differs (_foreign).
        self.told = False
        self.seen_idle = False  # (_foreign: its loop was seen idle by a waiting caller)
        self.result: Any = None
        self.error: BaseException | None = None
        self.restore: tuple[contextvars.ContextVar[Any], Any] | None = None
        # Called on the loop's thread once the job has ended (an awaiting
        # caller on another loop is told this way, not through `wake`).
        self.notify: Callable[[Job], object] | None = None
        if not drivable:
            self._as_asyncio()

    def _as_asyncio(self) -> None:
        # A caller under another async library (trio) may carry sniffio's
        # context variable; the coroutine runs on an asyncio loop, and
        # anyio-based code in it (httpx) must see "asyncio" (rule 11).  The
        # caller gets its own value back in `outcome`.
        sniffio = sys.modules.get("sniffio")
        if sniffio is None:
            return
        cvar = sniffio.current_async_library_cvar
        value = self.ctx.get(cvar)
        if value is not None and value != "asyncio":
            self.ctx.run(cvar.set, None)
            self.restore = (cvar, value)

    # -- on the loop's thread ------------------------------------------------

    def start(self) -> None:
        if self.cancel_requested:  # cancelled before it was started: never run it
            self._end_unstarted()
            return
        self.task = self.loop.create_task(_job_main(self), context=self.ctx)
        progress.count += 1

    def cancel(self) -> None:
        if self.finished or self.cancel_requested:
            return
        self.cancel_requested = True
        task = self.task
        if task is None:
            return  # start() is still queued and will see the flag
        task.cancel()
        if not self.started:
            # Cancelled before its first step, the task never enters
            # _job_main, so that function's `finally` cannot report the end.
            task.add_done_callback(self._cancelled_before_start)

    def _cancelled_before_start(self, task: asyncio.Task[None]) -> None:
        if not self.started:
            self._end_unstarted()

    def _end_unstarted(self) -> None:
        self.coro.close()  # never started: closing it means no "never awaited"
        self.error = asyncio.CancelledError()
        self.on_finish(self)

    # -- on the caller's thread ----------------------------------------------

    def signal(self) -> None:
        """Wake the caller (under the owner's lock, if it has one)."""
        if not self.signalled:
            self.signalled = True
            self.wake.release()

    def flow_back(self) -> None:
        flow_back(self.ctx)
        if self.restore is not None:
            self.restore[0].set(self.restore[1])

    def outcome(self) -> Any:
        self.flow_back()
        error = self.error
        if error is not None:
            self.error = None  # no reference cycle through the traceback
            try:
                raise error
            finally:
                error = None  # nor through this frame (see _lead)
        return self.result


async def _job_main(job: Job) -> None:
    # Every exception is caught: KeyboardInterrupt or SystemExit raised by the
    # coroutine belong to the caller's thread and must not stop a loop that
    # other threads' calls share.  The outcome is stored before `on_finish`,
    # so the caller never reads a job that has not ended.
    job.started = True
    try:
        job.result = await job.coro
    except BaseException as exc:
        job.error = exc
    finally:
        job.finished = True
        job.on_finish(job)


def flow_back(ctx: contextvars.Context) -> None:
    """Copy the context variables the coroutine set into the caller's context."""
    # Unchanged is the common case, and cheap to see: a fresh copy shares the
    # caller's underlying mapping, and comparing a mapping with itself is an
    # identity check.  (`_lead` makes this test inline, then copies.)
    if ctx != _copy_context():
        copy_changes(ctx)


def copy_changes(ctx: contextvars.Context) -> None:
    for var, value in ctx.items():
        if var.get(_MISSING) is not value:
            var.set(value)


# Awaits carried to another loop are watched by one periodic check per
# awaiting loop while it has such awaits, rather than a timer per await (a
# TimerHandle made and cancelled, and the warning's closure, cost a carried
# await ~8 us against ~80 us for the hop itself; its budget is 1.2x a bare
# run_coroutine_threadsafe).  Each check gives the hang warning (rule 5) to
# the awaits past their deadline, and runs each await's own `tick` (a loop
# of the user's: see _foreign).  Set by _runner: warn(name, frame).
warn_across: Any = None

# How often a watch looks, and a caller waiting on a loop of the user's too
# (see `_foreign`): only calls that wait that long pay it, as latency.
TICK: Final = 0.1

# What is watched of one await: its deadline and (name, frame) for the hang
# warning (None once given, or if off), and its tick.
_Watched = tuple[float | None, tuple[str, Any] | None, Callable[[], None] | None]


class _Watch:
    __slots__ = ("jobs", "loop")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.jobs: dict[Job, _Watched] = {}


_watches: dict[int, _Watch] = {}  # by id(loop); only while it has jobs


def _watch_of(loop: asyncio.AbstractEventLoop) -> _Watch:
    """The awaiting loop's watch (on that loop's thread)."""
    watch = _watches.get(id(loop))
    if watch is None or watch.loop is not loop:
        watch = _watches[id(loop)] = _Watch(loop)
        loop.call_later(TICK, _check_watch, watch)
    return watch


def _check_watch(watch: _Watch) -> None:
    now = _monotonic()
    for job, (deadline, hang, tick) in list(watch.jobs.items()):
        if job.told:
            del watch.jobs[job]
            continue
        if tick is not None:
            tick()
        if deadline is not None and hang is not None and now >= deadline:
            watch.jobs[job] = (None, None, tick)
            if warn_across is not None:
                warn_across(*hang)
    if watch.jobs:
        watch.loop.call_later(TICK, _check_watch, watch)
    elif _watches.get(id(watch.loop)) is watch:
        del _watches[id(watch.loop)]


class Waiter:
    """How a coroutine on one loop waits for a job on another: a future of
    its own loop, settled (through `call_soon_threadsafe`) once the job has
    ended.  Cancelling the waiting task cancels the job, and the wait goes on
    (on a new future) until its cleanup is over, then CancelledError is
    raised.

    Not `asyncio.shield`: under `asyncio.run`, whose SIGINT handler cancels
    the main task from inside the signal handler, at any bytecode, a Ctrl-C
    landing inside shield's done-callback, between its `outer.cancelled()`
    test and `outer.set_result()`, printed "Exception in callback ...
    InvalidStateError" (the every-instant sweep, 3.11).  `settle` tolerates
    that landing."""

    __slots__ = ("future", "loop")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.future: asyncio.Future[None] = loop.create_future()

    def notify(self, job: Job) -> None:
        """The job has ended (called on the thread that ran it)."""
        try:
            self.loop.call_soon_threadsafe(self.settle)
        except RuntimeError:  # the awaiting loop has closed: nobody to tell
            pass

    def settle(self) -> None:
        future = self.future
        try:
            if not future.done():
                future.set_result(None)
        except asyncio.InvalidStateError:  # cancelled just now, by a signal handler
            pass

    async def watched(
        self,
        job: Job,
        hang: tuple[str, Any] | None,
        after: float | None,
        tick: Callable[[], None] | None = None,
        closed: Callable[[Job], None] | None = None,
    ) -> None:
        """`wait`, with the hang warning (`hang`: name and awaiting frame,
        given after `after` seconds) and `tick` run by the awaiting loop's
        watch (see `_Watch`)."""
        if after is None:
            hang = None
        if hang is None and tick is None:
            await self.wait(job, closed)
            return
        watch = _watch_of(self.loop)
        deadline = _monotonic() + after if hang is not None and after is not None else None
        watch.jobs[job] = (deadline, hang, tick)
        try:
            await self.wait(job, closed)
        finally:
            watch.jobs.pop(job, None)

    async def wait(self, job: Job, closed: Callable[[Job], None] | None = None) -> None:
        """Wait until `job.told`.  `closed(job)`: called if the job's loop
        has closed under it when the wait is cancelled (it ends the job)."""
        try:
            await self.future
        except asyncio.CancelledError:
            try:
                request_cancel(job)
            except RuntimeError:  # its loop has closed: nothing will run it
                if closed is None:
                    raise
                closed(job)
            while not job.told:
                self.future = self.loop.create_future()
                if job.told:  # (ended before the new future was in place)
                    break
                try:
                    await self.future
                except asyncio.CancelledError:
                    continue
            raise


async def run_then_stop(coro: Coroutine[Any, Any, _R], loop: asyncio.AbstractEventLoop) -> _R:
    # The loop stops in the very iteration in which the coroutine finishes.  A
    # done-callback (what run_until_complete uses) runs one iteration later:
    # measured 3.7 us against 5.1 us for a trivial coroutine, against 6.2 us for
    # run_until_complete itself.
    try:
        return await coro
    finally:
        loop.stop()


def request_cancel(target: asyncio.Task[Any] | Job) -> None:
    """Ask the loop running `target` to cancel it; safe from a signal handler
    and from any thread."""
    if isinstance(target, Job):
        target.loop.call_soon_threadsafe(target.cancel)
    else:
        target.get_loop().call_soon_threadsafe(_cancel_task, target.get_loop(), target)


def _cancel_task(loop: asyncio.AbstractEventLoop, task: asyncio.Task[Any]) -> None:
    if task.done():
        return
    task.cancel()
    # Cancelled before its first step, the task never enters run_then_stop, whose
    # `finally` stops the loop: stop it when the task ends instead.  (Seen as
    # a hang: run_forever slept forever.)  Only then: a task that started
    # (always, once its first step ran eagerly) stops the loop itself, and a
    # second stop() would be left queued for whoever runs the loop next
    # (seen at exit: "Event loop stopped before Future completed").
    # A task driven inline (see _eager) needs no stop at all.
    if _is_run_then_stop(task) and unstarted(task.get_coro()):
        task.add_done_callback(lambda _: loop.stop())


def abort(loop: asyncio.AbstractEventLoop, task: asyncio.Task[Any]) -> None:
    """A loop run ended with an exception: make sure no task is left pending
    for the next driver, and that its exception is retrieved."""
    if not task.done():
        task.cancel()
        if not _is_run_then_stop(task):  # run inline (see _eager): nothing stops the loop
            task.add_done_callback(lambda _: loop.stop())
        while not task.done():  # the coroutine's cleanup runs here
            loop.run_forever()
    if not task.cancelled():
        task.exception()  # retrieved: no "exception was never retrieved" later


def _is_run_then_stop(task: asyncio.Task[Any]) -> bool:
    """Is `task` the ordinary path's, whose coroutine stops the loop (`run_then_stop`)?"""
    return getattr(task.get_coro(), "cr_code", None) is run_then_stop.__code__


def close_unstarted(coro: Coroutine[Any, Any, Any]) -> None:
    """Close `coro` if it was created and never started (no "never awaited")."""
    if unstarted(coro):
        coro.close()


def unstarted(coro: Any) -> bool:
    """Was `coro` created and never started, nor closed?  (False for an
    awaitable that is not a native coroutine.)"""
    return (
        getattr(coro, "cr_frame", None) is not None
        and not getattr(coro, "cr_running", True)
        and not getattr(coro, "cr_suspended", True)
    )


def hard_interrupt() -> bool:
    """The second Ctrl-C of a call: stop waiting for cleanup."""
    return _get_ident() == _sigint.main_ident and _sigint.state.hits >= 2
