"""The sync engine: how a blocking call runs a coroutine to completion.

Two routes, chosen per call:

* No loop runs in this thread (plain sync code): the coroutine runs as a task
  on this thread's persistent loop (see `_loops`), so loop-bound objects made
  in one call (locks, queues, connection pools) still work in the next one.
* This thread's loop is already running (a sync helper called from async code,
  a notebook cell, forced `sync` mode inside `asyncio.run`): that loop cannot
  be re-entered, so the coroutine runs on the background loop thread (see
  `_background`) while this thread blocks.

Both routes run the coroutine in a copy of the caller's context and copy the
variables it set back afterwards, so a sync call has the same contextvars
effects as a plain call or an `await`.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import importlib
import os
import signal
import threading
import warnings
from collections.abc import Callable, Coroutine
from types import FrameType
from typing import Any, TypeVar

from . import _background, _loops

# The C functions under `signal`.  The public wrappers convert handlers to and
# from enums by catching exceptions: 1.45 us per getsignal(), against 0.04 us
# here, and that is paid on every sync call in the main thread.
_sigmod: Any
try:
    _sigmod = importlib.import_module("_signal")
except ImportError:  # pragma: no cover - other implementations
    _sigmod = signal

_R = TypeVar("_R")

_get_running_loop = asyncio._get_running_loop
_get_ident = threading.get_ident
_copy_context = contextvars.copy_context
_getsignal: Callable[[int], object] = _sigmod.getsignal
_setsignal: Callable[[int, object], object] = _sigmod.signal
_SIGINT = int(signal.SIGINT)
_default_int_handler = signal.default_int_handler
_MISSING: Any = object()


def run_blocking(
    coro: Coroutine[Any, Any, _R],
    name: str,
    frame: FrameType | None = None,
    implicit: bool = False,
    source: object = None,
) -> _R:
    """Run `coro` to completion and return its result, or raise its exception.

    `name` (with `source`, the receiver, if any: see `display_name`) names the
    callable in errors and warnings.  `implicit` is true for a bare call that
    the rule decided to run (auto mode, sync caller); then, in asyncio debug
    mode, blocking a running loop earns a warning at `frame`.
    """
    try:
        return _run_blocking(coro, name, frame, implicit, source)
    except BaseException as exc:
        raise prune_traceback(exc)  # noqa: B904  (the same exception, re-raised)


def _run_blocking(
    coro: Coroutine[Any, Any, _R],
    name: str,
    frame: FrameType | None,
    implicit: bool,
    source: object,
) -> _R:
    running = _get_running_loop()
    if running is None:
        return run_on_thread_loop(coro)  # the name is not needed on this path
    name = display_name(name, source)
    if implicit and frame is not None and running.get_debug():
        try:
            _warn_blocked(name, frame)
        except BaseException:  # the warning raised (-W error): nothing will run it
            coro.close()
            raise
    if _get_ident() == _main_ident:
        return _background_in_main_thread(coro, name)
    return _background.run(coro, name, flow_back)


def display_name(qualname: str, source: object) -> str:
    """How errors and warnings name a call: by the receiver's class, so that a
    method inherited from a library class reads `Client.get`, not
    `AsyncClient.get`.  Built only where a message needs it: at ~150 ns it
    would be 3% of every sync call."""
    if source is None:
        return qualname
    owner = source if isinstance(source, type) else type(source)
    return f"{owner.__qualname__}.{qualname.rpartition('.')[2]}"


async def _main(coro: Coroutine[Any, Any, _R], loop: asyncio.AbstractEventLoop) -> _R:
    # The loop stops in the very iteration in which the coroutine finishes.  A
    # done-callback (what run_until_complete uses) runs one iteration later:
    # measured 3.7 us against 5.1 us for a trivial coroutine, against 6.2 us for
    # run_until_complete itself.
    try:
        return await coro
    finally:
        loop.stop()


def run_on_thread_loop(coro: Coroutine[Any, Any, _R]) -> _R:
    loop = _loops.thread_loop()
    ctx = _copy_context()
    task = loop.create_task(_main(coro, loop), context=ctx)
    try:
        if _get_ident() == _main_ident:
            return _run_in_main_thread(loop, task)
        _drive(loop, task)
        return task.result()
    finally:
        flow_back(ctx)


def _drive(loop: asyncio.AbstractEventLoop, task: asyncio.Task[Any]) -> None:
    try:
        # `while`, not one run_forever(): a stop() consumed elsewhere (a nested
        # run from a finaliser, or user code calling loop.stop()) must neither
        # end the call early nor leave it waiting.
        while not task.done():
            loop.run_forever()
    except BaseException:
        _abort(loop, task)
        raise


class _SigintState:
    """What Ctrl-C should cancel.  Only the main thread reads or writes it
    (Python runs signal handlers in the main thread), so it needs no lock."""

    __slots__ = ("hits", "loop", "task")

    def __init__(self) -> None:
        self.task: asyncio.Future[Any] | None = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self.hits = 0


_sigint = _SigintState()


def _noop() -> None:
    pass


def _on_sigint(signum: int, frame: FrameType | None) -> None:
    # As asyncio.Runner does: the first Ctrl-C cancels the running call, so its
    # finally / async with cleanup runs on the loop; KeyboardInterrupt is raised
    # once the task has ended.  Raising KeyboardInterrupt here instead could
    # land between two statements of the loop's own code and lose a callback.
    # With no loop run to cancel (a background wait), or at the second Ctrl-C,
    # interrupt at once.
    state = _sigint
    task = state.task
    if task is None or state.hits or task.done() or state.loop is None:
        raise KeyboardInterrupt
    state.hits += 1
    task.cancel()
    state.loop.call_soon_threadsafe(_noop)  # wake a select() with a long timeout


def _run_in_main_thread(loop: asyncio.AbstractEventLoop, task: asyncio.Task[_R]) -> _R:
    state = _sigint
    saved = (state.task, state.loop, state.hits)
    # Install our handler only over Python's default one: a handler of the
    # user's (or asyncio.Runner's) stays in charge.  Installed per call rather
    # than once for the process, so that `signal.getsignal()` outside our calls
    # still returns the default and asyncio.run/trio keep installing their own.
    install = _getsignal(_SIGINT) is _default_int_handler
    if install:
        _setsignal(_SIGINT, _on_sigint)
    state.task, state.loop, state.hits = task, loop, 0
    try:
        _drive(loop, task)
    finally:
        interrupted = state.hits
        state.task, state.loop, state.hits = saved
        if install and _getsignal(_SIGINT) is _on_sigint:
            _setsignal(_SIGINT, _default_int_handler)
    if interrupted and task.cancelled():
        raise KeyboardInterrupt
    return task.result()


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def _is_asyncio_runner_handler(handler: object) -> bool:
    runner_method = getattr(asyncio.Runner, "_on_sigint", None)
    return (
        isinstance(handler, functools.partial)
        and getattr(handler.func, "__func__", None) is runner_method is not None
    )


def _background_in_main_thread(coro: Coroutine[Any, Any, _R], name: str) -> _R:
    # The main thread is about to block on the background loop, so Ctrl-C
    # must interrupt that wait (the background job is then cancelled and its
    # cleanup awaited; see _background._wait).  Our own handler, installed by
    # an outer call, raises at once while no task is set.  asyncio.Runner's
    # handler (the call is inside asyncio.run) only cancels its main task,
    # which cannot run while we block: it is swapped for one that raises, for
    # the length of the wait.  Any other handler of the user's is kept.
    state = _sigint
    saved = state.task
    state.task = None
    handler = _getsignal(_SIGINT)
    swap = _is_asyncio_runner_handler(handler)
    if swap:
        _setsignal(_SIGINT, _interrupt)
    try:
        return _background.run(coro, name, flow_back)
    finally:
        state.task = saved
        if swap and _getsignal(_SIGINT) is _interrupt:
            _setsignal(_SIGINT, handler)


def _abort(loop: asyncio.AbstractEventLoop, task: asyncio.Task[Any]) -> None:
    """The loop run ended with an exception: a KeyboardInterrupt or SystemExit
    raised inside the coroutine (the task is then done), or one raised
    elsewhere.  Make sure no task is left pending for the next call to resume."""
    if not task.done():
        task.cancel()
        while not task.done():  # the coroutine's cleanup runs here
            loop.run_forever()
    if not task.cancelled():
        task.exception()  # retrieved: no "exception was never retrieved" later


_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep


def _is_ours(filename: str) -> bool:
    return filename.startswith(_PACKAGE_DIR) or filename.startswith("<smartasync generated")


def prune_traceback(exc: BaseException) -> BaseException:
    """Drop smartasync's frames from the front of `exc`'s traceback, up to the
    first frame of the user's code, and return `exc` itself.  An exception
    raised by smartasync (no user frame in its traceback) keeps them all."""
    first = tb = exc.__traceback__
    while first is not None and _is_ours(first.tb_frame.f_code.co_filename):
        first = first.tb_next
    if first is not None and first is not tb:
        exc.__traceback__ = first
    return exc


def flow_back(ctx: contextvars.Context) -> None:
    """Copy the context variables the coroutine set into the caller's context."""
    # Unchanged is the common case, and cheap to see: a fresh copy shares the
    # caller's underlying mapping, and comparing a mapping with itself is an
    # identity check.
    if ctx == _copy_context():
        return
    for var, value in ctx.items():
        if var.get(_MISSING) is not value:
            var.set(value)


def _warn_blocked(name: str, frame: FrameType) -> None:
    # warn_explicit at the caller's own line, with its module's registry: the
    # default filter then shows it once per call site.
    module = frame.f_globals.get("__name__", "<unknown>")
    registry = frame.f_globals.setdefault("__warningregistry__", {})
    warnings.warn_explicit(
        f"{name}() blocked the running event loop: it was called without `await` "
        f"from sync code while this thread's loop was running, so it ran to "
        f"completion on smartasync's background loop. Write `await {name}()` to "
        f"keep the loop free, or `{name}.sync()` to block on purpose.",
        RuntimeWarning,
        frame.f_code.co_filename,
        frame.f_lineno,
        module=module,
        registry=registry,
    )


_main_ident = threading.main_thread().ident


def _after_fork_in_child() -> None:
    global _main_ident
    _main_ident = threading.main_thread().ident
    _sigint.task, _sigint.loop, _sigint.hits = None, None, 0


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
