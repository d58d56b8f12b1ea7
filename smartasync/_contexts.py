"""Sync faces of async context managers: `with` on an async context manager
(`DualContextManager`, what a context-manager method gives sync code), the
sync twins `__enter__`/`__exit__` a smart class gets for its
`__aenter__`/`__aexit__`, and `run_deferred`, which runs an entry or an exit
(or an iterator's close, `_iter`) as a sync call with Ctrl-C deferred.

What they guarantee, whenever a Ctrl-C lands: an entry that finished always
gets its exit, and an exit always runs (see `_enter` and `_exit_with`).
Every step runs with the same rules as a sync call, on the home loop of the
object it came from if it has one (`_home`).
"""

from __future__ import annotations

from collections.abc import Callable
from types import TracebackType
from typing import Any, Generic, TypeVar

from . import _sigint
from ._engine import take_ctrl_c
from ._home import async_face_for, run_sync_for
from ._jobs import close_unstarted
from ._runner import prune_traceback
from ._sigint import restore

_T = TypeVar("_T")


class DualContextManager(Generic[_T]):
    """An async context manager that `with` accepts too."""

    __slots__ = ("_acm", "_name", "_source")

    def __init__(self, acm: Any, name: str | None, source: object = None) -> None:
        self._acm = acm
        self._source = source
        self._name: str = name or type(acm).__qualname__

    def __enter__(self) -> _T:
        acm = self._acm
        entry = _Entry()
        try:
            return _enter(self._source, acm.__aenter__, self._name, entry)  # type: ignore[no-any-return]
        except KeyboardInterrupt as interrupt:  # see _enter
            _exit_interrupted(self._source, acm.__aexit__, self._name, entry, interrupt)
            raise
        except BaseException as exc:
            # One frame of ours in the traceback (this one), then the user's
            # entry: not _enter's, run_deferred's and the engine's.
            raise prune_traceback(exc)  # noqa: B904  (the same exception)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool | None:
        try:  # Ctrl-C taken over first thing, in this frame (see _exit_with)
            saved = take_ctrl_c()
        except KeyboardInterrupt as interrupt:
            _exit_with(self._source, self._name, self._acm.__aexit__, interrupt)
            raise
        aexit = self._acm.__aexit__
        try:
            suppress: bool | None = run_deferred(
                self._source, self._name, saved, aexit, exc_type, exc, tb
            )
        except BaseException as raised:
            raise prune_traceback(raised)  # noqa: B904  (as in __enter__)
        return suppress

    def __aenter__(self) -> Any:
        return async_face_for(self._source, self._acm.__aenter__(), self._name)

    def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> Any:
        return async_face_for(self._source, self._acm.__aexit__(exc_type, exc, tb), self._name)

    def __repr__(self) -> str:
        return f"<smartasync context manager over {self._acm!r}>"


# -- sync twins added to smart classes ----------------------------------------


def owner_name(obj: object, method: str) -> str:
    return f"{type(obj).__qualname__}.{method}"


def twin_enter(self: Any) -> Any:
    """Sync twin of `__aenter__`, added by smartasync."""
    name = owner_name(self, "__aenter__")
    aexit = self.__aexit__
    entry = _Entry()
    try:
        return _enter(self, self.__aenter__, name, entry)
    except KeyboardInterrupt as interrupt:
        _exit_interrupted(self, aexit, name, entry, interrupt)
        raise
    except BaseException as exc:
        raise prune_traceback(exc)  # noqa: B904  (as in DualContextManager.__enter__)


class _Entry:
    """Whether an entry finished and still owes its exit (see `_enter`)."""

    __slots__ = ("owes_exit",)

    def __init__(self) -> None:
        self.owes_exit = False


def _enter(source: object, aenter: Any, name: str, entry: _Entry) -> Any:
    """Run `aenter()` for a `with` statement, and never leave it entered
    without an exit.  Python calls `__exit__` only once `__enter__` has
    returned: a Ctrl-C landing after the async entry finished but before
    `__enter__` returned would leave the resource acquired and never released
    (1 run in 360 of the sweep).  So Ctrl-C stays deferred until the entry is
    recorded in `entry` (by the coroutine, as it finishes: the engine raises
    KeyboardInterrupt for a Ctrl-C counted after the coroutine finished, and
    the value is lost, but not the exit); after that, the `__enter__` that
    called this catches
    a KeyboardInterrupt raised anywhere up to its own `return` and runs the
    exit first (`_exit_interrupted`).  The `__enter__` must be the frame the
    `with` statement calls: Python checks for signals at the end of a call
    (so in the caller's frame, after this function returns) but not at a
    `return`, and not between `__enter__` returning and the `with` body."""
    return run_deferred(source, name, take_ctrl_c(), aenter, entry=entry)


def run_deferred(
    source: object,
    name: str,
    saved: _sigint.Saved | None,
    make: Callable[..., Any],
    *args: Any,
    entry: _Entry | None = None,
) -> Any:
    """Run the coroutine `make(*args)` as a sync call, under Ctrl-C that the
    caller took over (`saved`, from `take_ctrl_c`).  The coroutine is made
    only once Ctrl-C is deferred: made first, a Ctrl-C landing before the
    engine took it over (in `run_sync_for`'s own Python code) would drop it
    unawaited, and an entry or exit dropped there never runs (a resource left
    taken: 1 run in 32 of the context-manager sweep on 3.12, in CI).  A
    Ctrl-C counted meanwhile cancels the coroutine, as in any call, and is
    raised once it is over.  With `entry`, the coroutine is an entry that
    records its end there (see `_enter`)."""
    made = running = None
    try:
        made = make(*args)
        running = made if entry is None else _entering(made, entry)
        value = run_sync_for(source, running, name, entry is not None)
    except BaseException:
        # Refused before it ran (on the home loop's thread, say): no
        # "never awaited" for either coroutine.
        for coro in (running, made):
            if coro is not None:
                close_unstarted(coro)
        raise
    finally:
        hits = restore(saved) if saved is not None else 0
    if hits:
        raise KeyboardInterrupt
    return value


def _exit_with(source: object, name: str, aexit: Any, interrupt: KeyboardInterrupt) -> None:
    """Exit with `interrupt`, a Ctrl-C that ends the `with` statement: one
    that landed after an entry finished (`_exit_interrupted`), or while an
    `__exit__` was taking Ctrl-C over.  An `__exit__` takes it over first
    thing, inside a `try` of its own frame, and makes its coroutine after
    (`run_deferred`); such a Ctrl-C runs the exit with the interrupt, as
    `with` runs it for one landing in its body.  What is left is the first
    instruction of that `__exit__`, where Python may raise before any code of
    ours runs.  (The caller re-raises from its `except` clause, which drops
    the name: kept in a local, the interrupt would hold its frames in a
    cycle.)"""
    run_deferred(
        source, name, take_ctrl_c(), aexit, KeyboardInterrupt, interrupt, interrupt.__traceback__
    )


async def _entering(entering: Any, entry: _Entry) -> Any:
    # Seen once in 1,800 runs of the sweep: the entry finished, a Ctrl-C was
    # counted before the engine gave Ctrl-C back, and the exit never ran.
    value = await entering
    entry.owes_exit = True
    return value


def _exit_interrupted(
    source: object, aexit: Any, name: str, entry: _Entry, interrupt: KeyboardInterrupt
) -> None:
    """Ctrl-C after an entry finished, before `__enter__` returned: exit now,
    with the interrupt, as `with` would have done one instruction later."""
    if entry.owes_exit:
        entry.owes_exit = False
        _exit_with(source, name, aexit, interrupt)


def twin_exit(
    self: Any,
    exc_type: type[BaseException] | None,
    exc: BaseException | None,
    tb: TracebackType | None,
) -> Any:
    """Sync twin of `__aexit__`, added by smartasync."""
    try:  # Ctrl-C taken over first thing, in this frame (see _exit_with)
        saved = take_ctrl_c()
    except KeyboardInterrupt as interrupt:
        _exit_with(self, owner_name(self, "__aexit__"), self.__aexit__, interrupt)
        raise
    name = owner_name(self, "__aexit__")
    try:
        return run_deferred(self, name, saved, self.__aexit__, exc_type, exc, tb)
    except BaseException as raised:
        raise prune_traceback(raised)  # noqa: B904  (as in DualContextManager.__enter__)
