"""The bare call, once the generated fast path has declined: the call rule
(`_rule`: which mode applies, who is calling) applied in full, then the
awaitable or its blocking form, on the object's home loop if it has one;
and the explicit `.sync()` / `.aio()` forms on a bound method.

The generated code (`_codegen`) calls into this module by name; nothing here
knows the generated types, only the `DualFunction` each call carries.
"""

from __future__ import annotations

from types import FrameType
from typing import TYPE_CHECKING, Any

from . import _home
from ._contexts import DualContextManager
from ._iter import SyncIterator
from ._jobs import close_unstarted
from ._kinds import ASYNCGEN, COROUTINE
from ._modes import ASYNC, AUTO, INSTANCE_KEY, Home
from ._rule import gives_awaitable, mode_under, resolve_mode, sync_result
from ._runner import display_name, prune_traceback, run_blocking

if TYPE_CHECKING:
    from ._dual import DualFunction


def dispatch(
    dual: DualFunction,
    source: object,
    frame: FrameType | None,
    awaitable: Any,
    aio: str | None = None,
) -> Any:
    """The bare call, after the inline fast path declined: resolve the mode,
    then return `awaitable` or run it.  `source` is the receiver (instance or
    class) whose mode counts, or None.  `aio`: how to spell the async face in
    a message (default `obj.m.aio(...)`; a property's differs)."""
    if dual._smart and source is not None:
        home = getattr(source, INSTANCE_KEY, None)
        if home.__class__ is Home:
            return _dispatch_homed(dual, source, frame, awaitable, home, aio)
    mode = resolve_mode(dual, source)
    if gives_awaitable(mode, frame):
        return awaitable
    if mode is AUTO:
        return block(dual, awaitable, frame, True, source)
    # "sync" mode: a coroutine awaiting the result gets a message naming the
    # `.aio` spelling instead of Python's bare one (see sync_result).
    name = display_name(dual.__qualname__, source)
    return sync_result(block(dual, awaitable, frame, False, source), frame, name, aio)


def _dispatch_homed(
    dual: DualFunction,
    source: object,
    frame: FrameType | None,
    awaitable: Any,
    home: Home,
    aio: str | None,
) -> Any:
    """The bare call on an entered object: the same decision, on its home loop."""
    name = dual.__qualname__
    current = _home.current(source, home, name)
    if current is None:  # entered on a loop that closed: the ordinary rules
        return dispatch(dual, source, frame, awaitable, aio)
    home = current
    mode = mode_under(home, dual._mode, source)
    if gives_awaitable(mode, frame):
        # In async mode the awaitable may be for `asyncio.run(...)`: as `.aio()` gives it.
        return _homed_async_face(dual, home, awaitable, mode is ASYNC)
    result = block(dual, awaitable, frame, mode is AUTO, source, home)
    return result if mode is AUTO else sync_result(result, frame, display_name(name, source), aio)


def _homed_async_face(dual: DualFunction, home: Home, awaitable: Any, aio: bool = False) -> Any:
    """What an async caller gets from a call on an object with a home: the
    coroutine or async generator, carried to the home loop when the caller
    runs on another one (context-manager methods route in `_iter`).  `aio`:
    the explicit form, whose coroutine may be awaited on a loop that does not
    run yet (`asyncio.run(obj.m.aio())`)."""
    if dual._kind is COROUTINE:
        if aio:
            return _home.aio_for(home, awaitable, dual.__qualname__)
        return _home.awaitable_for(home, awaitable, dual.__qualname__)
    if dual._kind is ASYNCGEN:
        return _home.iterator_for(home, awaitable, dual.__qualname__)
    return awaitable


def block(
    dual: DualFunction,
    awaitable: Any,
    frame: FrameType | None = None,
    implicit: bool = False,
    source: object = None,
    home: Home | None = None,
) -> Any:
    """The blocking form of a call's result: the value of a coroutine, a plain
    iterator over an async generator, a `with`-able context manager."""
    kind = dual._kind
    if kind is COROUTINE:
        if home is not None:
            return _home.run_sync(home, awaitable, dual.__qualname__, source)
        return run_blocking(awaitable, dual.__qualname__, frame, implicit, source)
    name = display_name(dual.__qualname__, source)
    if kind is ASYNCGEN:
        return SyncIterator(awaitable, name, source)
    return DualContextManager(awaitable, name, source)


def explicit_sync(dual: DualFunction, source: object, awaitable: Any) -> Any:
    """`.sync()` on a bound method: `block`, on the home loop if there is one."""
    home = _home.current(source, getattr(source, INSTANCE_KEY, None), dual.__qualname__)
    if home is not None:
        return block(dual, awaitable, None, False, source, home)
    return block(dual, awaitable, None, False, source)


def explicit_aio(dual: DualFunction, source: object, awaitable: Any) -> Any:
    """`.aio()` on an object with a home (or a mode): on the home loop."""
    home = _home.current(source, getattr(source, INSTANCE_KEY, None), dual.__qualname__)
    if home is None:
        return awaitable
    return _homed_async_face(dual, home, awaitable, True)


def fail(exc: BaseException, coro: Any) -> BaseException:
    """A call failed before or while it ran: close its coroutine if nothing
    started it, and give back the exception with smartasync's frames pruned."""
    if coro is not None:
        close_unstarted(coro)
    return prune_traceback(exc)


def frameless(dual: DualFunction, source: object, coro: Any) -> Any:
    """A bare call with no Python caller at all (an `atexit` callback, a
    thread started from C): sync code, so `dispatch` without a frame."""
    try:
        return dispatch(dual, source, None, coro)
    except BaseException as exc:
        raise fail(exc, coro)  # noqa: B904  (smartasync: the same exception, without its frames)


def dual_context_manager(acm: Any, source: object) -> DualContextManager[Any]:
    """The bare call of an `@asynccontextmanager` method: both faces at once."""
    return DualContextManager(acm, None, source)
