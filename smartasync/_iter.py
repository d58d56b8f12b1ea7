"""Sync faces of async iteration: iterating an async generator with `for`
(`SyncIterator`, what an async generator method gives sync code), closing
one that is dropped (here, or by the closer thread), and the sync twins
`__iter__`/`__next__` a smart class gets for its `__aiter__`/`__anext__`.
(`with` on async context managers: `_contexts`.)

Every step runs with the same rules as a sync call (`run_blocking`), on the
home loop of the object it came from if that object was entered (`_home`).
"""

from __future__ import annotations

import asyncio
import opcode
import os
import queue
import sys
import threading
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Coroutine, Iterator
from types import TracebackType
from typing import Any, Final, Generic, TypeVar

from . import _sigint
from ._asyncio_internals import forget_asyncgen, running_loop
from ._contexts import owner_name, run_deferred
from ._engine import take_ctrl_c
from ._home import run_sync_for
from ._jobs import close_unstarted, unstarted
from ._rule import caller_frame
from ._runner import prune_traceback

_Y = TypeVar("_Y")
_T = TypeVar("_T")

_NEW: Final = 0
_STARTED: Final = 1
_DONE: Final = 2


async def _anext(iterator: AsyncIterator[_Y]) -> _Y:
    # `__anext__()` is called here, inside the running loop, not by the caller:
    # the loop's async-generator hooks register a generator on its first step,
    # and only a registered generator is finalised by the loop (otherwise a
    # thread ending with one suspended prints "async generator ignored
    # GeneratorExit").
    try:
        return await iterator.__anext__()
    except BaseException:
        _forget_finished(iterator)
        raise


async def _aclose(agen: Any) -> None:
    try:
        await agen.aclose()
    finally:
        _forget_finished(agen)


# As `_anext`: `asend()` / `athrow()` are called inside the running loop.
async def _asend(agen: Any, value: Any) -> Any:
    try:
        return await agen.asend(value)
    except BaseException:
        _forget_finished(agen)
        raise


async def _athrow(agen: Any, exc: BaseException) -> Any:
    try:
        return await agen.athrow(exc)
    except BaseException:
        _forget_finished(agen)
        raise


def _forget_finished(agen: Any) -> None:
    """An async generator that just finished leaves the running loop's
    registry (its WeakSet of generators) at once, in the step that finished
    it, while the call still holds Ctrl-C.  Left there, it would leave when
    freed: asyncio's WeakSet callback would then run where the caller drops
    the iterator (a `for` loop's end), and Python loses a Ctrl-C landing in
    a callback (the every-instant sweep, 3.12).  Only a finished generator:
    the loop still closes an unfinished one at shutdown."""
    if getattr(agen, "ag_frame", False) is None:  # (another async iterator has none)
        forget_asyncgen(running_loop(), agen)


def _exception(typ: Any, value: Any, tb: TracebackType | None) -> BaseException:
    """The exception `generator.throw(typ, value, tb)` would raise, built here
    so that `athrow` gets the one-argument form (the three-argument one is
    deprecated since 3.12 and warns)."""
    if isinstance(typ, BaseException):
        if value is not None:
            raise TypeError("instance exception may not have a separate value")
        exc = typ
    elif isinstance(typ, type) and issubclass(typ, BaseException):
        if isinstance(value, typ):
            exc = value
        elif value is None:
            exc = typ()
        elif isinstance(value, tuple):
            exc = typ(*value)
        else:
            exc = typ(value)
    else:
        raise TypeError(
            f"exceptions must be classes or instances deriving from BaseException, "
            f"not {type(typ).__name__}"
        )
    return exc.with_traceback(tb) if tb is not None else exc


def _finished(agen: Any) -> bool:
    return agen.ag_frame is None


def _untouched(iterator: Any, step: Any) -> bool:
    """Did a first step leave `iterator` as it was (refused before it ran)?
    The step cannot always tell: a refusal on the home loop's own thread
    (`_home.run_sync`) closes it, and a closed coroutine looks like one that
    ran.  Taken for started, the never-run generator went to the closer
    thread, which ran its `aclose()` on the user's loop whenever it got
    there: while the loop's owner was closing it (an `aclose` left pending in
    the closed loop, "coroutine method 'aclose' was never awaited"), or
    between its owner's runs (the owner's next run: "This event loop is
    already running").  So an async generator is asked itself: one that never
    ran has nothing to close."""
    if unstarted(step):
        return True
    frame = getattr(iterator, "ag_frame", None)
    if frame is None or iterator.ag_running:  # finished, or not an async generator
        return False
    suspended = getattr(iterator, "ag_suspended", None)  # (3.12+)
    if suspended is not None:
        return not suspended
    # 3.11: a generator that never ran is still at its RETURN_GENERATOR (after
    # the MAKE_CELL / COPY_FREE_VARS of a closure); one that ran is past it.
    code = frame.f_code.co_code
    for offset in range(0, len(code), 2):
        if code[offset] == _RETURN_GENERATOR:
            return bool(frame.f_lasti <= offset)
    return False


_RETURN_GENERATOR: Final = opcode.opmap.get("RETURN_GENERATOR", -1)


class SyncIterator(Generic[_Y]):
    """A plain iterator over an async generator; each `next()` runs one step.
    Like a generator it also takes `send()` and `throw()` (each runs one step
    of `asend` / `athrow`) and `close()`.  (`async for` works on it too,
    stepping the generator directly.)

    Exhausting it, `close()`, leaving a `with` block, or dropping it (`break`
    out of a `for`, garbage collection) closes the async generator, so its
    `finally` and `async with` cleanup run.
    """

    __slots__ = ("__weakref__", "_agen", "_name", "_source", "_state", "_thread")

    def __init__(
        self, agen: AsyncIterator[_Y], name: str | None = None, source: object = None
    ) -> None:
        self._agen = agen
        self._source = source  # the object the generator belongs to, for its home
        self._name: str = name or getattr(agen, "__qualname__", None) or "async generator"
        self._state = _NEW
        self._thread = threading.get_ident()

    def __iter__(self) -> Iterator[_Y]:
        # A fresh iterator in the main thread hands `for` (and list(), zip()
        # ...) a generator of its steps instead of itself.  A Ctrl-C that
        # lands at the instant a step begins (the first instruction of
        # __next__, before any `try` can hold it) would otherwise leave the
        # async generator at its last `yield`, its cleanup waiting for the
        # traceback (which holds this iterator) to be dropped: after the
        # caller has seen KeyboardInterrupt.  A generator's resumption point
        # is inside the `try` of `_steps`, whose `finally` closes it first.
        if self._state == _NEW and threading.get_ident() == _sigint.main_ident:
            return self._steps()
        return self

    def _steps(self) -> Iterator[_Y]:
        try:
            while True:
                try:
                    item = self.__next__()
                except StopIteration:
                    return
                except BaseException as exc:
                    # One frame of ours in the traceback (this one), then the
                    # user's generator: not __next__, _step and the engine's.
                    raise prune_traceback(exc)  # noqa: B904  (the same exception)
                yield item
        finally:
            self._close_here()  # a `break`, an exception, or the end

    def __next__(self) -> _Y:
        if self._state == _DONE:
            raise StopIteration
        try:
            return self._step(_anext, self._agen)
        except BaseException as exc:
            raise prune_traceback(exc)  # noqa: B904  (as in _steps)

    def send(self, value: Any) -> _Y:
        """Resume the async generator with `value` (its `asend`), as
        `generator.send` does: the next value, or StopIteration at the end.

        Raises:
            TypeError: a value other than None sent to a generator that has
                not started, or to an async iterator that has no `asend`.
            StopIteration: the generator has finished.
        """
        if self._state == _DONE:
            raise StopIteration
        if value is None:
            return self.__next__()
        if self._state == _NEW:
            raise TypeError(f"can't send non-None value to a just-started generator ({self._name})")
        if not hasattr(self._agen, "asend"):
            raise TypeError(f"send(): {self._name} is an async iterator without asend()")
        try:
            return self._step(_asend, self._agen, value)
        except BaseException as exc:
            raise prune_traceback(exc)  # noqa: B904  (as in _steps)

    def throw(self, typ: Any, value: Any = None, tb: TracebackType | None = None, /) -> _Y:
        """Raise an exception at the generator's `yield` (its `athrow`), as
        `generator.throw` does: the value it yields next if it handles the
        exception, StopIteration if it returns; otherwise the exception comes
        out here.  Takes an exception, or the old `(type, value, traceback)`.

        Raises:
            The exception thrown, or whatever the generator raised instead.
            StopIteration: the generator returned.
        """
        exc = _exception(typ, value, tb)
        if self._state == _DONE or not hasattr(self._agen, "athrow"):
            self._done()
            raise exc
        try:
            return self._step(_athrow, self._agen, exc)
        except BaseException as raised:
            raise prune_traceback(raised)  # noqa: B904  (as in _steps)

    def _step(self, make: Callable[..., Coroutine[Any, Any, _Y]], *args: Any) -> _Y:
        """Run one step of the generator (`make(*args)`: `__anext__`, `asend`
        or `athrow`) as a sync call, on the object's home loop if it has one.
        The step's coroutine is made inside the `try`, so that a Ctrl-C landing
        before the engine took it over closes it instead of dropping it
        unawaited (seen once in 1,800 runs of the sweep)."""
        first = self._state != _STARTED
        if first:
            self._start()
        step = None
        try:
            step = make(*args)
            return run_sync_for(self._source, step, self._name)  # type: ignore[no-any-return]
        except StopAsyncIteration:
            self._done()
            raise StopIteration from None
        except BaseException as exc:
            if step is not None:
                if first and _untouched(self._agen, step):
                    # Refused before the generator was touched (on its home
                    # loop's own thread, say): it is as new, with nothing to
                    # close, and no loop to ask to close it later.
                    self._unstart()
                close_unstarted(step)
            # An async generator that raised has ended; another async iterator
            # may go on after an exception, as its own __anext__ decides.
            if isinstance(self._agen, AsyncGenerator):
                if _finished(self._agen):
                    self._done()
                elif isinstance(exc, KeyboardInterrupt):
                    # Ctrl-C cancelled this step before it reached the
                    # generator, which still sits at its last `yield`.  Close
                    # it now, so that its cleanup has run before the interrupt
                    # reaches the caller: left to garbage collection, it would
                    # wait for the traceback (which holds this iterator) to go.
                    self.close()
            raise

    # Also an async iterator, as DualContextManager is also an async context
    # manager: `def __aiter__(self): return self._walk()` calls an async
    # generator method from sync code, and `async for` must still work on it.
    def __aiter__(self) -> SyncIterator[_Y]:
        return self

    async def __anext__(self) -> _Y:
        if self._state != _STARTED:
            self._start()
        try:
            return await self._agen.__anext__()
        except StopAsyncIteration:
            self._done()
            raise

    def aclose(self) -> Any:
        self._done()
        return _aclose(self._agen)

    def close(self) -> None:
        """Close the async generator now, running its cleanup (its `aclose`).
        Closing again, or closing one that finished, does nothing.

        Raises:
            RuntimeError: the generator yielded instead of exiting.
            Whatever its cleanup raised.
        """
        started = self._state == _STARTED
        self._done()
        if started and hasattr(self._agen, "aclose"):
            # Its cleanup: made once Ctrl-C is deferred, as a `with` exit is.
            run_deferred(self._source, self._name, take_ctrl_c(), _aclose, self._agen)

    def __enter__(self) -> SyncIterator[_Y]:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # Only a started iterator has a finaliser (`_Started.__del__`): an
    # iterator that never started, or finished, is dropped without running
    # Python code.  Python ignores an exception raised in `__del__`, so a
    # Ctrl-C landing in one is printed and lost; the switch of class keeps
    # that window off every `for` loop's end (the every-instant sweep hit it
    # on 3.11).  Started first, then the class; done first, then the class:
    # a Ctrl-C in between leaves a finaliser that has nothing to do, never a
    # started iterator without one.
    def _close_here(self, finalising: bool = False) -> None:
        """Close the async generator if it started and has not finished: here
        if this is where running a loop is safe (the thread that iterated,
        outside any running loop), else by the closer thread (a sync helper
        inside async code that dropped it, the garbage collector in another
        thread), which runs it as a sync call at once: left to its loop's
        async-generator finaliser, the `aclose()` waited for somebody to run
        the sync loop again, and was destroyed pending at exit.
        `finalising`: called by `__del__`, which closes here only outside
        the engine's code (see `_inside_the_engine`), and through
        `_aclose_once` (the generator may be finalised too)."""
        if self._state != _STARTED or getattr(self._agen, "ag_frame", None) is None:
            return
        if threading.get_ident() == self._thread and running_loop() is None:
            if not finalising:
                self.close()
                return
            if not _inside_the_engine():
                # Here and now, as a `break` expects; through `_aclose_once`,
                # since the generator may be finalised in the same collection.
                self._done()
                run_deferred(self._source, self._name, take_ctrl_c(), _aclose_once, self._agen)
                return
        # Not here: the closer thread closes it.  No lock is taken here (this
        # may be a finaliser, in the middle of the engine's own locked code):
        # SimpleQueue.put is safe there by design.
        self._done()
        _closing.put((self._source, self._agen, self._name))

    def _start(self) -> None:
        if _closer[0] is None:
            _start_closer()
        if type(self) is SyncIterator:
            self.__class__ = _Started
        self._state = _STARTED

    def _unstart(self) -> None:
        self._state = _NEW
        if type(self) is _Started:
            started: Any = self  # (typed as the subclass here)
            started.__class__ = SyncIterator

    def _done(self) -> None:
        self._state = _DONE
        if type(self) is _Started:
            started: Any = self  # (typed as the subclass here)
            started.__class__ = SyncIterator

    def __repr__(self) -> str:
        return f"<smartasync sync iterator over {self._agen!r}>"


# Iterators dropped where they cannot be closed: (source, agen, name).
_closing: queue.SimpleQueue[tuple[object, Any, str]] = queue.SimpleQueue()
_closer: list[threading.Thread | None] = [None]
_closer_lock = threading.Lock()


def _start_closer() -> None:
    # From `_start`, in ordinary code (never in a finaliser).
    with _closer_lock:
        if _closer[0] is None:
            thread = threading.Thread(target=_closer_main, name="smartasync-closer", daemon=True)
            thread.start()
            _closer[0] = thread


def _closer_main() -> None:
    while True:
        source, agen, name = _closing.get()
        try:
            run_sync_for(source, _aclose_once(agen), name)
        except BaseException:
            pass
        del source, agen


async def _aclose_once(agen: Any) -> None:
    """Close `agen` unless its loop's finaliser does: a started iterator
    freed by the garbage collector from a reference cycle is finalised with
    its generator, whose asyncio finaliser schedules an `aclose()` of its own
    (two at once failed: "aclose(): asynchronous generator is already
    running").  A few loop iterations let that one start first; then this
    one waits for it, or closes the generator itself."""
    for _ in range(3):
        await asyncio.sleep(0)
    # (Polled: the other close is a task of asyncio's, with no event to wait on.)
    while agen.ag_frame is not None and agen.ag_running:  # noqa: ASYNC110
        await asyncio.sleep(0.001)
    if agen.ag_frame is not None:
        await _aclose(agen)


# The files of smartasync's engine: code there may hold its locks or the sync
# loop's token (see `_inside_the_engine`).  Not the whole package (as
# `_runner.is_ours` tells it): this module's own frames (the finaliser, a
# `for` over an iterator) and the dual callables' hold no lock, and a drop
# under them is closed at once, as a `break` expects.
_ENGINE_FILES: Final = frozenset(
    os.path.join(os.path.dirname(os.path.abspath(__file__)), f"{name}.py")
    for name in (
        "_engine",
        "_jobs",
        "_foreign",
        "_nested",
        "_runner",
        "_sigint",
        "_loops",
        "_eager",
        "_home",
    )
)


def _inside_the_engine() -> bool:
    """Is this thread running engine code (a finaliser called by the garbage
    collector at an allocation there)?  Then a sync call here could wait for
    a lock, or the sync loop's token, that this very thread holds.  Read off
    the stack: only finalisers of started, unfinished iterators ask (a
    `break` in a worker thread, a drop)."""
    frame = caller_frame(2)
    while frame is not None:
        if frame.f_code.co_filename in _ENGINE_FILES:
            return True
        frame = frame.f_back
    return False


def _after_fork_in_child() -> None:
    global _closing, _closer_lock
    _closing = queue.SimpleQueue()
    _closer_lock = threading.Lock()
    _closer[0] = None


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


class _Started(SyncIterator[_Y]):
    """A SyncIterator that started and has not finished: dropping it closes
    its async generator."""

    __slots__ = ()

    def __del__(self) -> None:
        if not sys.is_finalizing():
            self._close_here(True)


def twin_iter(self: Any) -> SyncIterator[Any]:
    """Sync twin of `__aiter__`, added by smartasync."""
    return SyncIterator(self.__aiter__(), owner_name(self, "__aiter__"))


def twin_next(self: Any) -> Any:
    """Sync twin of `__anext__`, added by smartasync."""
    step = None
    try:
        step = _anext(self)  # made inside the `try`: see SyncIterator._step
        return run_sync_for(self, step, owner_name(self, "__anext__"))
    except StopAsyncIteration:
        raise StopIteration from None
    except BaseException as exc:
        if step is not None:
            close_unstarted(step)
        raise prune_traceback(exc)  # noqa: B904  (as in SyncIterator._steps)
