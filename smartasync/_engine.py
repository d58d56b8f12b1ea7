"""The engine: where a blocking call runs its coroutine, and who drives it.

DESIGN §3.  An object's async resources (a pool, a lock, a queue) belong to
the loop that made them, so every sync call in the process runs on **one
loop, the sync loop**, whichever thread makes it.  Who drives that loop is
decided per call, leader/follower style:

* **Leader**: nobody drives the loop, so the calling thread does, itself, for
  as long as its own call lasts.  No thread hop: this is the uncontended case
  and costs what a kept loop costs plus one non-blocking acquire and one
  release of the token (`_State.token`).
* **Follower**: another thread drives the loop.  The call is handed to the
  loop (`call_soon_threadsafe`) and the caller waits on a lock of its own.
  When the driver's own call ends while followers wait, it runs what is
  ready for them without waiting (`_serve_ready`), then hands the loop to one
  of them (promotion) rather than keep driving: a leader never waits for
  somebody else's coroutine.
* **Cannot drive**: the caller's own loop is running (a sync helper inside
  async code, a notebook cell without `await`, a caller under trio).  The call
  is handed over like a follower's; if nobody drives, the driver thread (one
  daemon thread, started on first need) drives until no such call is left.
* **Nested**: code running on the sync loop (or on a secondary loop) makes a
  blocking call.  Its loop is blocked by that very call, so the call runs on a
  secondary loop in another thread (`_nested`), at any depth.

Why leader/follower and not one loop thread that everybody hands calls to: a
hop costs two thread switches (tens of microseconds under the GIL), against
about 4 us for a whole uncontended sync call.

The token says who drives; the rest of the state is guarded by `_lock`, a
plain `threading.Lock` held only for a few attribute reads and writes, never
across a loop run.  In the main thread Ctrl-C is deferred (`_sigint`) from
before the token or a job exists until the call has ended.
"""

from __future__ import annotations

import asyncio
import atexit
import contextvars
import os
import sys
import threading
import time
from collections.abc import Callable, Coroutine
from typing import Any, Final, TypeVar

from . import _eager, _loops, _sigint
from ._modes import COLD, SYNC_BORN, hot_for

_R = TypeVar("_R")
_T = TypeVar("_T")

_get_ident = threading.get_ident
_monotonic = time.monotonic
_copy_context = contextvars.copy_context
_usable = _eager.usable
_Task = _eager.Task
_EAGER: Final = _eager.EAGER
_get_asyncgen_hooks = _eager.get_asyncgen_hooks
_set_asyncgen_hooks = _eager.set_asyncgen_hooks
_set_running_loop = _eager.set_running_loop
_MISSING: Any = object()

# Called once, in the waiting thread, when a job has kept its caller's loop
# blocked for too long (see `_runner`).
WarnHang = Callable[["Job"], None]

# The driver thread's stand-in identity in `_State.driver`.
_DRIVER_THREAD: Final = -1


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
        _state.progress += 1

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
        _copy_changes(ctx)


def _copy_changes(ctx: contextvars.Context) -> None:
    for var, value in ctx.items():
        if var.get(_MISSING) is not value:
            var.set(value)


# -- the sync loop ----------------------------------------------------------------


class _State:
    __slots__ = (
        "driver",
        "driver_signalled",
        "driver_thread",
        "driver_wake",
        "hooks",
        "loop",
        "pending",
        "progress",
        "token",
        "waiting",
    )

    def __init__(self) -> None:
        self.loop: asyncio.AbstractEventLoop | None = None
        self.hooks: tuple[Any, Any] | None = None  # see _new_sync_loop
        # Held by whoever drives the loop.  Taken with a non-blocking acquire
        # by an uncontended caller (the leader), and passed on without being
        # released to a promoted caller or the driver thread.
        self.token = threading.Lock()
        # Who drives, when it was passed on (a promoted caller's ident, or
        # _DRIVER_THREAD); None while a leader or nobody drives.
        self.driver: int | None = None
        # Jobs handed to the loop and not finished yet.
        self.pending = 0
        # Jobs started or finished, ever: how `_serve_ready` sees progress.
        self.progress = 0
        # Of those, the ones whose callers can drive (no loop of their own
        # runs), in arrival order: the candidates for promotion.
        self.waiting: dict[Job, None] = {}
        self.driver_thread: threading.Thread | None = None
        self.driver_wake = threading.Lock()
        self.driver_wake.acquire()
        self.driver_signalled = False


# Guards `_State` for everything but the leader's fast path, which touches
# only the token and reads `pending` (see `run_sync`).
_lock = threading.Lock()
_state = _State()


def sync_loop() -> asyncio.AbstractEventLoop | None:
    """The sync loop, if one was made (for tests and diagnostics)."""
    return _state.loop


def is_sync_loop(loop: asyncio.AbstractEventLoop) -> bool:
    return loop is _state.loop


def run_sync(
    coro: Coroutine[Any, Any, _R],
    can_drive: bool = True,
    warn_hang: WarnHang | None = None,
    after: float | None = None,
) -> _R:
    """Run `coro` on the sync loop and return its result.  `can_drive` is
    false when the calling thread runs a loop of its own (it may not run ours
    inside it); it then waits, and `warn_hang` runs if it waits longer than
    `after` seconds (see `wait`)."""
    token = _state.token
    if _get_ident() == _sigint.main_ident:
        # Ctrl-C is deferred (see _sigint) *before* the token is taken: a
        # KeyboardInterrupt landing just after the acquire, before anything
        # recorded it, would keep the token forever and hang every later
        # call (seen on 3.13, where more instructions check for signals).
        saved = _sigint.install_main()
        if can_drive and token.acquire(False):
            return _lead(coro, None, saved, token)
        return _follow(coro, can_drive, warn_hang, after, saved)
    # Worker threads get no signals: nothing can come between the acquire and
    # `_lead`'s `try`, which gives the token back.
    if can_drive and token.acquire(False):
        return _lead(coro, None, None, token)
    return _follow(coro, can_drive, warn_hang, after, None)


def _follow(
    coro: Coroutine[Any, Any, _R],
    can_drive: bool,
    warn_hang: WarnHang | None,
    after: float | None,
    saved: _sigint.Saved | None,
) -> _R:
    """Another thread drives the sync loop (or this one cannot): hand the
    coroutine over and wait.  `saved`: Ctrl-C deferred by the caller."""
    job = hand_over(saved, _submit_locked, coro, can_drive)
    return wait(job, saved, warn_hang, after)  # type: ignore[no-any-return]


def _submit_locked(coro: Coroutine[Any, Any, Any], drivable: bool) -> Job:
    with _lock:
        return _submit(coro, drivable)


def hand_over(saved: _sigint.Saved | None, submit: Callable[..., _T], *args: Any) -> _T:
    """`submit(*args)`, which makes a job, with Ctrl-C deferred (`saved`, from
    `take_ctrl_c`); if it fails, Ctrl-C is given back before the error goes
    on (otherwise `wait` gives it back)."""
    try:
        return submit(*args)
    except BaseException:
        if saved is not None:
            _sigint.restore(saved)
        raise


async def run_async(
    coro: Coroutine[Any, Any, _R],
    hang: tuple[str, Any] | None = None,
    after: float | None = None,
) -> _R:
    """Await `coro` run on the sync loop, from a coroutine on another loop
    (an async call on an object whose home is the sync loop).  Cancelling the
    awaiting task cancels the coroutine there, and waits for its cleanup.
    `hang`: (name, awaiting frame) for the hang warning, given if it has not
    ended after `after` seconds (rule 5; see `_Watch`)."""
    waiter = Waiter(asyncio.get_running_loop())
    with _lock:
        job = _submit(coro, False)
        job.notify = waiter.notify  # under _lock: the job cannot have started yet
    await waiter.watched(job, hang, after)
    return job.outcome()  # type: ignore[no-any-return]


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


def take_ctrl_c() -> _sigint.Saved | None:
    """In the main thread, defer Ctrl-C (see `_sigint`) from before a job is
    made until `wait` is done with it: a KeyboardInterrupt between the two
    would leave a job running that nobody waits for."""
    return _sigint.install() if _get_ident() == _sigint.main_ident else None


# At most this many extra loop iterations for other callers' ready work.
_SERVE_ROUNDS: Final = 8


def _serve_ready(loop: asyncio.AbstractEventLoop) -> None:
    """The driver's own call is done while other callers' jobs are pending:
    run the loop on while that makes progress without waiting (each round
    runs what is ready, then stops, with a select timeout of zero), before
    handing the loop on.  A promotion costs a thread switch during which
    nobody runs the loop; with 4 threads making short calls on one object,
    serving first measured 1.1-1.4x four private kept loops, against
    2.6-3.4x promoting at once (budget 1.5x).  It never waits for I/O or a
    timer: a job that is suspended waits for the next driver."""
    state = _state
    for _ in range(_SERVE_ROUNDS):
        before = state.progress
        loop.call_soon(loop.stop)
        loop.run_forever()
        if not state.pending or state.progress == before:
            return


def _first_sync_loop() -> asyncio.AbstractEventLoop:
    with _lock:
        return _state.loop or _new_sync_loop()


def _new_sync_loop() -> asyncio.AbstractEventLoop:
    """Make the sync loop (under `_lock`)."""
    loop = _loops.new_loop()
    # Read on every call: whether its class lets `_lead` drive it inline, and
    # if so its async-generator hooks (each attribute read makes a new bound
    # method: reading them once saves ~0.15 us a call).
    _state.hooks = _eager.hooks(loop) if _eager.fits(type(loop)) else None
    _state.loop = loop
    # Objects born in sync code live on the sync loop, whichever it is: their
    # shared home lets the fast path give coroutines on this loop at once.
    SYNC_BORN.hot = hot_for(loop)
    return loop


def _submit(coro: Coroutine[Any, Any, Any], drivable: bool) -> Job:
    """Hand `coro` to the sync loop (under `_lock`), then make sure someone
    drives it: if nobody holds the token now, this caller takes it, and
    drives itself (promoted at once) or has the driver thread drive."""
    state = _state
    loop = state.loop
    if loop is None or loop.is_closed():
        # Nobody can be running a closed loop, so no job is pending on it.
        loop = _new_sync_loop()
    job = Job(coro, loop, _finish, drivable)
    try:
        loop.call_soon_threadsafe(job.start)
    except RuntimeError:  # closed under a running call: only at interpreter exit
        coro.close()
        raise RuntimeError(
            "smartasync's sync loop has been shut down (the interpreter is exiting)"
        ) from None
    state.pending += 1
    if drivable:
        state.waiting[job] = None
    if state.token.acquire(False):  # nobody drives: this caller sees to it
        if drivable:
            _promote(job)
        else:
            _wake_driver_thread()
    return job


def _finish(job: Job) -> None:
    """A job of the sync loop ended (on the driving thread)."""
    state = _state
    with _lock:
        job.finished = job.told = True
        state.progress += 1
        state.pending -= 1
        state.waiting.pop(job, None)
        driver = state.driver
        if driver == job.ident:  # its own caller drives (it was promoted)
            job.loop.stop()
            return
        if driver == _DRIVER_THREAD and not state.pending:
            job.loop.stop()
        job.signal()
    if job.notify is not None:
        job.notify(job)


def _hand_off() -> None:
    """The token holder is done with the loop: pass it on, or release it."""
    with _lock:
        if _state.pending:
            _pass_on()
        else:
            _state.driver = None
            _state.token.release()


def _pass_on() -> None:
    """Jobs are pending and the token is held by a thread that will not drive
    (under `_lock`): promote a caller that can drive, or else wake the driver
    thread.  The token goes with it, never released in between."""
    if _state.waiting:
        _promote(next(iter(_state.waiting)))
    else:  # only callers that cannot drive are waiting
        _wake_driver_thread()


def _promote(job: Job) -> None:
    """Make `job`'s caller the driver (under `_lock`, with the token held)."""
    del _state.waiting[job]
    _state.driver = job.ident
    job.promoted = True
    job.signal()


def _wake_driver_thread() -> None:
    """Make the driver thread the driver (under `_lock`)."""
    state = _state
    state.driver = _DRIVER_THREAD
    thread = state.driver_thread
    if thread is None or not thread.is_alive():
        thread = state.driver_thread = threading.Thread(
            target=_driver_thread_main, name="smartasync-sync-loop", daemon=True
        )
        thread.start()
    if not state.driver_signalled:
        state.driver_signalled = True
        state.driver_wake.release()


def _driver_thread_main() -> None:
    # Reads `_state` afresh on each round: after a fork the child has a new one.
    while True:
        _state.driver_wake.acquire()
        with _lock:
            state = _state
            state.driver_signalled = False
            loop = state.loop
        if loop is None:
            continue
        try:
            while state.pending:
                loop.run_forever()
        except BaseException:  # a callback raised out of the loop; the jobs go on
            pass
        # Release the token, promote a waiting caller that can drive, or, if
        # callers that cannot drive arrived meanwhile, wake this thread again
        # (its wake lock is then released already).
        _hand_off()


async def _main(coro: Coroutine[Any, Any, _R], loop: asyncio.AbstractEventLoop) -> _R:
    # The loop stops in the very iteration in which the coroutine finishes.  A
    # done-callback (what run_until_complete uses) runs one iteration later:
    # measured 3.7 us against 5.1 us for a trivial coroutine, against 6.2 us for
    # run_until_complete itself.
    try:
        return await coro
    finally:
        loop.stop()


def run_stopped_loop(loop: asyncio.AbstractEventLoop, coro: Coroutine[Any, Any, _R]) -> _R:
    """Run `coro` on a loop of the user's that nobody runs now, in this
    thread (a blocking call on an object whose home loop is idle)."""
    return _lead(coro, loop, take_ctrl_c(), None)


def _lead(
    coro: Coroutine[Any, Any, _R],
    loop: asyncio.AbstractEventLoop | None,
    saved: _sigint.Saved | None,
    token: threading.Lock | None,
    released: Callable[[], None] | None = None,
) -> _R:
    """Run `coro` on `loop` (None: the sync loop, as its leader, holding
    `token`) in this thread, and return its result or raise its exception.
    For a loop of the user's (`_foreign`), `token` is that loop's and
    `released()` runs once it is given back, still with Ctrl-C deferred.

    This is the whole of an uncontended sync call, kept in one function on
    purpose: each Python call on this path costs about 0.05 us against ~2 us
    for the call.  Where the loop allows it (`_eager.usable`) the task is run
    without `run_forever`: see `_eager` for why that is exact.

    In the main thread Ctrl-C was taken over (`saved`) *before* the task (or
    the first loop) exists: no instant is left where KeyboardInterrupt could
    strand a task that the next driver would then run to completion behind
    the caller's back, or a half-made loop.  The task is released before
    Ctrl-C is given back: freeing it may run asyncio's WeakSet callback,
    Python code in which a KeyboardInterrupt raised by the restored handler
    would be printed and lost ("Exception ignored in WeakSet._remove", seen
    once in the CI sweep on 3.13)."""
    ctx = _copy_context()
    st = _sigint.state
    task: Any = None
    cancelled = False
    value: Any = None
    error: BaseException | None = None
    try:
        if loop is None:
            state = _state
            loop = state.loop or _first_sync_loop()
            # (`hooks` is None unless its class fits: then the attributes exist.
            # They are asyncio's private ones, touched here inline only where
            # `_asyncio_internals.INLINE` allows: see `_eager.fits`.)
            ours: Any = state.hooks
            run: Any = loop
            inline = ours is not None and not (
                run._debug or run._closed or run._task_factory is not None
            )
        else:
            inline = _usable(loop)
            ours = _eager.hooks(loop) if inline else None
        if inline:
            run = loop
            hooks = _get_asyncgen_hooks()
            try:  # (set inside the `try`, as run_forever sets them: undone whatever lands)
                run._thread_id = _get_ident()
                _set_asyncgen_hooks(*ours)
                _set_running_loop(run)
                task = _Task.__new__(_Task)  # ours even if the first step raises
                if _EAGER:
                    task.__init__(coro, loop=run, context=ctx, eager_start=True)
                else:
                    task.__init__(coro, loop=run, context=ctx)
                if not task.done():
                    if saved is not None:
                        st.target = task
                        if st.hits:  # pressed before there was anything to cancel
                            request_cancel(task)
                    while not task.done():
                        run._run_once()
                        run._stopping = False
                    st.target = None  # not kept alive past the restore
            finally:
                run._stopping = False
                run._thread_id = None
                _set_running_loop(None)
                _set_asyncgen_hooks(*hooks)
        else:
            task = _task_on(coro, loop, token is not None and released is None, ctx)
            loop = task.get_loop()
            if saved is not None:
                st.target = task
                if st.hits:
                    request_cancel(task)
            while not task.done():
                loop.run_forever()
            st.target = None
        if token is not None and released is None and _state.pending:
            _serve_ready(task.get_loop())
        try:
            value = task.result()
        except asyncio.CancelledError as cancel:  # raised by the coroutine, or Ctrl-C's
            cancelled, error = True, cancel
        except BaseException as failure:
            error = failure
        task = None
    except BaseException:
        # The loop run ended with an exception: a KeyboardInterrupt or
        # SystemExit raised inside the coroutine (the task is then done), or
        # one raised elsewhere (the second Ctrl-C does not wait for cleanup).
        if task is not None and (task.done() or not hard_interrupt()):
            _abort(task.get_loop(), task)
        raise
    finally:
        try:
            if token is not None:  # given back while Ctrl-C is still deferred
                # Release first, then look: a follower registers first, then
                # tries the token.  Whatever the interleaving, either it gets
                # the token or this thread sees it pending (under the GIL,
                # reads and writes are seen in order).
                token.release()
                if released is not None:
                    try:
                        released()
                    except Exception:
                        # Starting the loop's driver thread failed (at
                        # interpreter exit): the waiting callers' ticks try
                        # again; Ctrl-C must be given back all the same.
                        pass
                elif _state.pending and token.acquire(False):
                    _hand_off()
            hits = _sigint.restore(saved) if saved is not None else 0
            if ctx != _copy_context():  # flow_back, inline
                _copy_changes(ctx)
        except BaseException:
            # Left by another exception (a Ctrl-C raised once Ctrl-C is
            # given back): the call's own is dropped, not kept in a cycle
            # with this frame (see below).
            error = None
            raise
    if hits:
        error = None  # dropped, as above
        if cancelled:
            close_unstarted(coro)
        raise KeyboardInterrupt  # the interrupt wins over the outcome
    if error is not None:
        # Raised from a local that is then cleared: kept, it would tie the
        # exception to this frame in a cycle (exception -> traceback -> frame
        # -> exception), and with it the frames the exception came through.
        # An async generator's last step (StopAsyncIteration) then left the
        # generator to a later garbage collection, whose asyncio WeakSet
        # callback ran at a random instant of the program, where a Ctrl-C is
        # lost ("Exception ignored in WeakSet._remove"; CI's sweep, 3.12).
        try:
            raise error
        finally:
            error = None
    return value  # type: ignore[no-any-return]


def _task_on(
    coro: Coroutine[Any, Any, _R],
    loop: asyncio.AbstractEventLoop,
    sync_loop: bool,
    ctx: contextvars.Context,
) -> asyncio.Task[_R]:
    """The ordinary path's task (a loop `_eager` does not drive): `coro`
    wrapped so that the loop stops when it ends.  A sync loop that user code
    closed (it kept `get_running_loop()` and closed it later) is replaced
    here, where asyncio says so, rather than checked on every call (rule 10)."""
    main = _main(coro, loop)
    try:
        return loop.create_task(main, context=ctx)
    except RuntimeError:
        main.close()
        if not sync_loop or not loop.is_closed():
            raise
    with _lock:
        if _state.loop is loop:
            _new_sync_loop()
        loop = _state.loop  # type: ignore[assignment]
    return _task_on(coro, loop, True, ctx)


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
    # Cancelled before its first step, the task never enters _main, whose
    # `finally` stops the loop: stop it when the task ends instead.  (Seen as
    # a hang: run_forever slept forever.)  Only then: a task that started
    # (always, once its first step ran eagerly) stops the loop itself, and a
    # second stop() would be left queued for whoever runs the loop next
    # (seen at exit: "Event loop stopped before Future completed").
    # A task driven inline (see _eager) needs no stop at all.
    if _is_main(task) and unstarted(task.get_coro()):
        task.add_done_callback(lambda _: loop.stop())


def _abort(loop: asyncio.AbstractEventLoop, task: asyncio.Task[Any]) -> None:
    """A loop run ended with an exception: make sure no task is left pending
    for the next driver, and that its exception is retrieved."""
    if not task.done():
        task.cancel()
        if not _is_main(task):  # run inline (see _eager): nothing stops the loop
            task.add_done_callback(lambda _: loop.stop())
        while not task.done():  # the coroutine's cleanup runs here
            loop.run_forever()
    if not task.cancelled():
        task.exception()  # retrieved: no "exception was never retrieved" later


def _is_main(task: asyncio.Task[Any]) -> bool:
    """Is `task` the ordinary path's, whose coroutine stops the loop (`_main`)?"""
    return getattr(task.get_coro(), "cr_code", None) is _main.__code__


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


# -- waiting for a job ------------------------------------------------------------


def wait(
    job: Job,
    saved: _sigint.Saved | None,
    warn_hang: WarnHang | None,
    after: float | None = None,
    tick: Callable[[], None] | None = None,
) -> Any:
    """Wait for `job` in its caller's thread and return its outcome; drive the
    sync loop meanwhile if the job is promoted.  `saved` is what
    `take_ctrl_c()` returned before the job was made.  `warn_hang(job)` runs
    once if the job is still running `after` seconds on.  `tick()`, if
    given, runs every `TICK` seconds while the job is pending (a job on a
    loop of the user's checks that somebody runs it: see `_foreign`)."""
    if saved is not None:
        st = _sigint.state
        st.target = job
        if st.hits:
            request_cancel(job)
    hits = 0
    try:
        _wait(job, warn_hang, after, tick)
    except BaseException:
        # An interrupt that did not come through our handler (a handler of
        # the user's raised), or the second Ctrl-C: ask for cancellation, and
        # unless it is the second Ctrl-C, let the cleanup finish first.
        if not job.finished:
            try:
                job.loop.call_soon_threadsafe(job.cancel)
            except RuntimeError:
                pass
            if not hard_interrupt():
                _wait(job, None, None, tick)
        raise
    finally:
        if saved is not None:
            hits = _sigint.restore(saved)
    if hits:  # the coroutine has ended: its outcome gives way to the interrupt
        job.error = job.result = None
        job.flow_back()
        raise KeyboardInterrupt
    return job.outcome()


def _wait(
    job: Job,
    warn_hang: WarnHang | None,
    after: float | None,
    tick: Callable[[], None] | None = None,
) -> None:
    wake = job.wake
    deadline = None
    if warn_hang is not None and after is not None:
        deadline = _monotonic() + after
    while True:
        if deadline is None and tick is None:
            wake.acquire()
        else:
            timeout: float = TICK if tick is not None else (after or 0.0)
            if deadline is not None:
                timeout = max(0.0, min(timeout, deadline - _monotonic()))
            if not wake.acquire(timeout=timeout):
                if deadline is not None and _monotonic() >= deadline:
                    hang, deadline = warn_hang, None
                    assert hang is not None
                    hang(job)
                if tick is not None:
                    tick()
                continue
        with _lock:
            promoted = job.promoted
            job.promoted = job.signalled = False
        if promoted:
            _drive_for(job)
        if job.finished:
            return


def _drive_for(job: Job) -> None:
    """Promoted: drive the sync loop until this job is finished, then pass it on."""
    loop = job.loop
    try:
        while not job.finished:
            loop.run_forever()
        if _state.pending:
            _serve_ready(loop)
    except BaseException:
        if not job.finished and not hard_interrupt():
            job.cancel()
            while not job.finished:
                loop.run_forever()
        raise
    finally:
        _hand_off()


# -- fork and exit ----------------------------------------------------------------


def _after_fork_in_child() -> None:
    global _lock, _state
    # Runs single-threaded in the child.  The inherited loop is abandoned,
    # never closed (see _loops.abandoned); the next sync call makes a new one.
    # The lock is new too: another thread may have held it at fork time.
    if _state.loop is not None:
        _loops.abandoned.append(_state.loop)
    _lock = threading.Lock()
    _state = _State()
    SYNC_BORN.hot = COLD


def _close_at_exit() -> None:
    # A loop still driven (by a daemon thread mid-call) is left as it is:
    # closing it under that call would fail it with "Event loop is closed".
    state = _state
    loop = state.loop
    if loop is None or not state.token.acquire(False):
        return
    try:
        _loops.close_loop(loop)
    finally:
        _hand_off()


_sigint.cancel = request_cancel

if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)

atexit.register(_close_at_exit)
