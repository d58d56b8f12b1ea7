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
import inspect
import os
import threading
import time
from collections.abc import Callable, Coroutine
from typing import Any, Final, TypeVar

from . import _eager, _loops, _sigint
from ._jobs import (
    TICK,
    Job,
    Waiter,
    WarnHang,
    abort,
    close_unstarted,
    copy_changes,
    hard_interrupt,
    request_cancel,
    run_then_stop,
)
from ._jobs import progress as _progress
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

# The driver thread's stand-in identity in `_State.driver`.
_DRIVER_THREAD: Final = -1


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
        before = _progress.count
        loop.call_soon(loop.stop)
        loop.run_forever()
        if not state.pending or _progress.count == before:
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
        _progress.count += 1
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
                try:
                    if _EAGER:
                        task.__init__(coro, loop=run, context=ctx, eager_start=True)
                    else:
                        task.__init__(coro, loop=run, context=ctx)
                except TypeError:
                    # Not made at all: `coro` is no coroutine (a function
                    # marked as a coroutine function that returns another
                    # awaitable).  An eager first step keeps its own errors
                    # in the task, so a TypeError here is the refusal; the
                    # half-made C Task must not reach `abort` (3.12 crashed
                    # reading its NULL coroutine, 3.13 hung).  Another
                    # awaitable is run as the ordinary path runs it (its
                    # run_then_stop awaits whatever it is given): through a
                    # coroutine that awaits it (not started eagerly: the
                    # loop below runs it).
                    task = None
                    if asyncio.iscoroutine(coro) or not inspect.isawaitable(coro):
                        raise
                    coro = _awaiting(coro)
                    task = _Task(coro, loop=run, context=ctx)
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
            abort(task.get_loop(), task)
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
                copy_changes(ctx)
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


async def _awaiting(awaitable: Any) -> Any:
    """A coroutine for an awaitable that is not one (see `_lead`)."""
    return await awaitable


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
    main = run_then_stop(coro, loop)
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
