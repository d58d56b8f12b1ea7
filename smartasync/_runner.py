"""A blocking call: run a coroutine to completion for a sync caller.

This is the one entry point (`run_blocking`) between the dual callables and
the engine.  It picks the route by what the calling thread is doing:

* no loop runs here (plain sync code, a worker thread): the sync loop, driven
  by this thread if nobody else drives it (`_engine.run_sync`);
* another loop runs here (a sync helper inside `asyncio.run`, a notebook
  cell without `await`, a caller under trio): the sync loop too, driven by
  someone else while this thread waits, blocking its own loop;
* the sync loop or a secondary loop runs here (code of a sync call making
  another blocking call): a secondary loop (`_nested`).

And it keeps the promises that do not depend on the route: exceptions come
out as the same object with smartasync's frames pruned from the front, a
cross-loop error carries a note saying what happened, a loop blocked for too
long is warned about.
"""

from __future__ import annotations

import asyncio
import os
import sys
import threading
import warnings
from collections.abc import Coroutine
from types import FrameType
from typing import Any, Final, TypeVar

from . import _asyncio_internals, _engine, _foreign, _jobs, _nested
from ._jobs import close_unstarted

_R = TypeVar("_R")

_get_running_loop = _asyncio_internals.running_loop
_modules = sys.modules

# Where each route runs the coroutine, for the cross-loop note.
ON_SYNC_LOOP: Final = "smartasync's sync loop (one event loop that every thread's sync calls share)"
ON_HOME_LOOP: Final = (
    "the event loop where the object lives (its home loop: where it was made, or entered "
    "with `async with`)"
)
_ON_SYNC_LOOP = ON_SYNC_LOOP
_ON_NESTED_LOOP: Final = (
    "a secondary loop of smartasync's, because it was called from code that was itself "
    "running on the sync loop (a nested blocking call)"
)


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
    where = _ON_SYNC_LOOP
    try:
        running = _get_running_loop()
        if running is None:
            # sniffio's thread-local is set while trio (or another library
            # that reports itself there) runs this thread: its loop is running
            # even though asyncio sees none, so this thread may not drive ours.
            sniffio = _modules.get("sniffio")
            if sniffio is None or sniffio.thread_local.name is None:
                return _engine.run_sync(coro)
        elif _engine.is_sync_loop(running) or _nested.owns(running):
            if source is not None and nested_on_home is not None:
                nested_on_home(source, coro, name, running)  # an object living on the sync loop
            where = _ON_NESTED_LOOP
        return _run_blocking_a_loop(
            coro, running, where is _ON_NESTED_LOOP, name, frame, implicit, source
        )
    except BaseException as exc:
        close_unstarted(coro)  # interrupted before anything ran it
        raise explain(prune_traceback(exc), name, source, where)  # noqa: B904  (the same exception)


def _run_blocking_a_loop(
    coro: Coroutine[Any, Any, _R],
    running: asyncio.AbstractEventLoop | None,
    nested: bool,
    name: str,
    frame: FrameType | None,
    implicit: bool,
    source: object,
) -> _R:
    """The caller's thread runs a loop (`running`; None under trio), which
    waits as long as the call lasts.  `nested`: that loop is the sync loop or
    a secondary one, so the call goes to a secondary loop."""
    display = display_name(name, source)
    if implicit and frame is not None and running is not None and running.get_debug():
        _warn_blocked(display, frame)
    warn_hang = _HangWarning(display, frame) if _hang_after is not None else None
    if nested:
        assert running is not None
        return _nested.run(coro, running, warn_hang, _hang_after)
    return _engine.run_sync(coro, False, warn_hang, _hang_after)


def run_on_loop(
    coro: Coroutine[Any, Any, _R],
    loop: asyncio.AbstractEventLoop,
    name: str,
    source: object,
) -> _R:
    """A blocking call that must run on `loop` (the home loop of the object
    it is made on, not the sync loop), from a thread that does not run that
    loop.  Whether anybody runs it or not (an async fixture's loop between
    tests), the call is served: see `_foreign`."""
    try:
        running = _get_running_loop()
        can_drive = running is None
        if can_drive:
            sniffio = _modules.get("sniffio")
            can_drive = sniffio is None or sniffio.thread_local.name is None
        warn_hang = None
        if not can_drive and _hang_after is not None:
            warn_hang = _HangWarning(display_name(name, source), None)
        return _foreign.run_blocking(coro, loop, can_drive, warn_hang, _hang_after)
    except BaseException as exc:
        close_unstarted(coro)
        raise explain(prune_traceback(exc), name, source, ON_HOME_LOOP)  # noqa: B904


def display_name(qualname: str, source: object) -> str:
    """How errors and warnings name a call: by the receiver's class, so that a
    method inherited from a library class reads `Client.get`, not
    `AsyncClient.get`.  Built only where a message needs it: at ~150 ns it
    would be 3% of every sync call."""
    if source is None:
        return qualname
    owner = source if isinstance(source, type) else type(source)
    return f"{owner.__qualname__}.{qualname.rpartition('.')[2]}"


# -- never a silent hang (rule 5) -----------------------------------------------------

_hang_after: float | None = 10.0

# Set by `_home` (which imports this module): raises for a nested blocking
# call on an object whose home is the sync loop.
nested_on_home: Any = None


def hang_after() -> float | None:
    """The hang threshold in force (None: off)."""
    return _hang_after


def warn_across(name: str, frame: FrameType | None) -> None:
    """The hang warning (rule 5) for an await carried to another loop, at
    `frame` (the awaiting code, or the first frame of the user's above it)."""
    _warn_at(
        f"{name}() has waited {_hang_after:g} s for its object's home loop, another "
        f"event loop than the one awaiting it. If the home loop waits for something this "
        f"await holds up, it will never finish. Use the object on the loop where it was "
        f"made or entered (make it in the code that runs on that loop, e.g. an app's "
        f"lifespan, or enter it there with `async with`).",
        _user_frame(frame),
    )


def set_hang_warning(seconds: float | None) -> None:
    """Warn when a blocking call keeps a running event loop blocked for longer
    than `seconds` (default 10); `None` turns the warning off.

    A sync call made while its thread's event loop runs (a plain `def` helper
    inside async code) blocks that loop until it returns.  If the coroutine
    waits for something that only the blocked loop can do (a lock one of its
    tasks holds, a queue it feeds), the call can never finish; the warning,
    a `RuntimeWarning` naming the call and the blocked thread, is how you find
    it.  It is given once per call.

    Raises:
        TypeError: `seconds` is not a number or None.
        ValueError: `seconds` is negative or not finite.
    """
    global _hang_after
    if seconds is None:
        _hang_after = None
        return
    if isinstance(seconds, bool) or not isinstance(seconds, int | float):
        raise TypeError(f"set_hang_warning() expected a number of seconds or None, got {seconds!r}")
    if not 0 <= seconds < float("inf"):
        raise ValueError(
            f"set_hang_warning() expected a finite number of seconds >= 0 "
            f"(or None to turn the warning off), got {seconds!r}"
        )
    _hang_after = float(seconds)


class _HangWarning:
    """Given once, in the blocked thread, when a call has kept its loop
    blocked for `_hang_after` seconds."""

    __slots__ = ("frame", "name")

    def __init__(self, name: str, frame: FrameType | None) -> None:
        self.name = name
        self.frame = frame

    def __call__(self, job: _jobs.Job) -> None:
        name = self.name
        thread = threading.current_thread().name
        message = (
            f"{name}() has kept the event loop of thread {thread!r} blocked for "
            f"{_hang_after:g} s: it was called without `await` from sync code running on "
            f"that loop, which waits until the call returns. If the call waits for "
            f"something only that loop can do (a lock or a queue of one of its tasks), it "
            f"will never finish. Call it from async code with `await {name}()` (or "
            f"`await {name}.aio()`), or move the sync code off the loop "
            f"(`await asyncio.to_thread(...)`)."
        )
        _warn_at(message, self.frame or _user_frame())


def _user_frame(frame: FrameType | None = None) -> FrameType | None:
    """The first frame of the user's from `frame` (default: the caller's) up."""
    if frame is None:
        frame = sys._getframe(1)
    while frame is not None and is_ours(frame.f_code.co_filename):
        frame = frame.f_back
    return frame


def _warn_at(message: str, frame: FrameType | None) -> None:
    # warn_explicit at the caller's own line, with its module's registry: the
    # default filter then shows it once per call site.
    if frame is None:
        warnings.warn(message, RuntimeWarning, stacklevel=2)
        return
    warnings.warn_explicit(
        message,
        RuntimeWarning,
        frame.f_code.co_filename,
        frame.f_lineno,
        module=frame.f_globals.get("__name__", "<unknown>"),
        registry=frame.f_globals.setdefault("__warningregistry__", {}),
    )


def _warn_blocked(name: str, frame: FrameType) -> None:
    _warn_at(
        f"{name}() blocked the running event loop: it was called without `await` "
        f"from sync code while this thread's loop was running, so it ran to "
        f"completion on smartasync's sync loop. Write `await {name}()` to "
        f"keep the loop free, or `{name}.sync()` to block on purpose.",
        frame,
    )


# -- exceptions --------------------------------------------------------------------

_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep


def is_ours(filename: str) -> bool:
    return filename.startswith(_PACKAGE_DIR) or filename.startswith("<smartasync generated")


# asyncio's own frames, between ours and the user's when a task is run by
# `run_forever` (the ordinary path: debug mode, uvloop, other loops, or
# asyncio's internals not used: see _asyncio_internals), are dropped with
# ours: they stand for the same machinery as the inline run, which has none.
_ASYNCIO_DIR: Final = os.path.dirname(os.path.abspath(asyncio.__file__)) + os.sep


def prune_traceback(exc: BaseException) -> BaseException:
    """Drop smartasync's frames (and asyncio's among them) from the front of
    `exc`'s traceback, up to the first frame of the user's code, and return
    `exc` itself.  An exception raised by smartasync (no user frame in its
    traceback) keeps them all."""
    first = tb = exc.__traceback__
    while first is not None and (
        is_ours(name := first.tb_frame.f_code.co_filename) or name.startswith(_ASYNCIO_DIR)
    ):
        first = first.tb_next
    if first is not None and first is not tb:
        exc.__traceback__ = first
    return exc


# Set by `_home`: where an object living on the sync loop was made, if its
# birth loop closed (for the note).
made_where: Any = None

# What asyncio (and anyio, on asyncio) say when an object bound to one loop is
# used from another, or after its loop was closed.
_CROSS_LOOP_SIGNS: Final = (
    "different event loop",
    "attached to a different loop",
    "event loop is closed",
    "non-thread-safe operation",
)
_NOTE_MARK: Final = "smartasync: "


def explain(
    exc: BaseException, name: str, source: object, where: str, home: object = None
) -> BaseException:
    """Add a note to a cross-loop error out of a sync call, or out of any call
    on an object with a home (rule 6)."""
    if not isinstance(exc, Exception):
        return exc
    text = str(exc).lower()
    if not any(sign in text for sign in _CROSS_LOOP_SIGNS):
        return exc
    if any(note.startswith(_NOTE_MARK) for note in getattr(exc, "__notes__", ())):
        return exc  # explained already, by a nested call
    display = display_name(name, source)
    made = made_where(source) if made_where is not None and source is not None else None
    if made is not None:
        exc.add_note(
            f"{_NOTE_MARK}{display}() ran on {where}: this object was made in async code, "
            f"in {made}, on an event loop that has since closed, and what it made there (a "
            f"lock, a connection pool) died with that loop. Make the object where it is "
            f"used: in sync code (module level, a sync fixture) to use it from everywhere, "
            f"or inside the loop that uses it (a lifespan, an async fixture of the same "
            f"loop scope, `async with`)."
        )
        return exc
    if home is not None:
        exc.add_note(
            f"{_NOTE_MARK}{display}() was awaited on one event loop and ran on {where}; "
            f"something it used (a lock, an event, a connection pool) belongs to yet another "
            f"loop, typically one that has closed. Make the object where it is used (in "
            f"sync code to use it from everywhere, or in the loop that uses it), or enter "
            f"it with `with` / `async with` so all of its calls run on one loop."
        )
        return exc
    exc.add_note(
        f"{_NOTE_MARK}{display}() was called from sync code, so it ran on {where}; "
        f"something it used (a lock, an event, a connection pool) belongs to another "
        f"event loop, typically one where the object was first used with `await` "
        f"(inside asyncio.run, an async test or an async framework), or to a loop that "
        f"has since closed. Keep to one call style for this object, or enter it with "
        f"`with` / `async with` so all of its calls run on one loop."
    )
    return exc


_jobs.warn_across = warn_across
