"""Home loops (DESIGN §3 rule 3): an object entered with `with` or `async
with` runs every call on one loop until it is exited.

Entering with `async with` makes the entering loop the object's home;
entering with `with` makes the sync loop its home (the sync twin of
`__aenter__` runs it there).  While it has a home:

* a call made on the home loop itself takes the ordinary path (an awaitable
  for an async caller, no hop);
* a sync call from any other thread is handed to the home loop and waits;
* an async call from another loop gets an awaitable that runs the coroutine
  on the home loop and waits for it there (cancelling the awaiting task
  cancels the remote coroutine; an exception comes back as the same object);
* a sync call made on the home loop's own thread while it runs cannot wait
  for it: it raises `RuntimeError` saying to `await`.

The home is stored where the instance's mode lives (`_modes.Home`), so an
object never entered pays nothing.  Under trio (no asyncio loop runs)
entering sets no home: trio's cross-thread entry would need a trio token, and
a home that is not exact is worse than none.
"""

from __future__ import annotations

import asyncio
import functools
import warnings
from collections.abc import Callable, Coroutine
from typing import Any, Final

from . import _engine, _runner
from ._modes import (
    INSTANCE_KEY,
    NO_MODE,
    Home,
    Mode,
    ModeSlot,
    canonical_mode,
    class_mode,
    lookup_static,
)

_get_running_loop = asyncio._get_running_loop

WRAPPED_MARK: Final = "__smartasync_home__"


def home_of(obj: object) -> Home | None:
    """The home of `obj`, if it has one now."""
    raw = getattr(obj, INSTANCE_KEY, None)
    return raw if type(raw) is Home else None


# -- entering and leaving ------------------------------------------------------------


def wrap_aenter(original: Callable[..., Any]) -> Callable[..., Any]:
    """`__aenter__` that makes the running loop the object's home first."""

    @functools.wraps(original)
    async def __aenter__(self: Any, *args: Any, **kwargs: Any) -> Any:
        entered = _enter(self)
        try:
            return await original(self, *args, **kwargs)
        except BaseException:
            if entered:
                _leave(self)
            raise

    setattr(__aenter__, WRAPPED_MARK, True)
    return __aenter__


def wrap_aexit(original: Callable[..., Any]) -> Callable[..., Any]:
    """`__aexit__` that gives the home up once the object's own exit is done."""

    @functools.wraps(original)
    async def __aexit__(self: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return await original(self, *args, **kwargs)
        finally:
            _leave(self)

    setattr(__aexit__, WRAPPED_MARK, True)
    return __aexit__


def _raw(obj: object) -> object:
    try:
        return vars(obj).get(INSTANCE_KEY, NO_MODE)
    except TypeError:  # slotted: maybe a mode slot
        slot = lookup_static(type(obj), INSTANCE_KEY)
        return slot.raw(obj) if isinstance(slot, ModeSlot) else NO_MODE


def _enter(obj: object) -> bool:
    """Give `obj` the running loop as its home (or count one more entry)."""
    loop = _get_running_loop()
    if loop is None:
        return False  # not on an asyncio loop (trio): no home
    raw = _raw(obj)
    if type(raw) is Home:
        raw.depth += 1  # entered again (nested, or super().__aenter__()): same home
        return True
    try:
        object.__setattr__(obj, INSTANCE_KEY, Home(loop, raw))
    except (AttributeError, TypeError):
        return False  # no room to store it (__slots__ without a mode slot): no home
    return True


def _leave(obj: object) -> None:
    raw = _raw(obj)
    if type(raw) is not Home:
        return
    raw.depth -= 1
    if raw.depth <= 0:
        _drop(obj, raw)


def _drop(obj: object, home: Home) -> None:
    if home.prior is NO_MODE:
        try:
            object.__delattr__(obj, INSTANCE_KEY)
        except AttributeError:
            pass
    else:
        object.__setattr__(obj, INSTANCE_KEY, home.prior)


def usable(obj: object, home: object, name: str) -> bool:
    """True if `home` is a Home whose loop is open.  A home whose loop has
    closed while the object was still entered is dropped, with a warning."""
    if type(home) is not Home:
        return False
    loop: asyncio.AbstractEventLoop = home.loop  # type: ignore[assignment]
    if not loop.is_closed():
        return True
    _drop(obj, home)
    warnings.warn(
        f"{name}(): {type(obj).__qualname__} object was entered with `async with` on an "
        f"event loop that has closed without exiting it; its calls follow the ordinary "
        f"rules again. Exit it (`async with` ending, or `await obj.__aexit__(...)`) before "
        f"its loop closes.",
        RuntimeWarning,
        stacklevel=4,
    )
    return False


# -- calls on an object with a home ----------------------------------------------------


def mode_under(home: Home, method_mode: Mode | None, source: object) -> Mode:
    """The mode in force for a call on a homed instance (as `resolve_mode`)."""
    own = canonical_mode(home.prior) if isinstance(home.prior, str) else None
    if method_mode is None:
        return own or class_mode(type(source))
    return own or method_mode


def awaitable_for(home: Home, coro: Any, name: str) -> Any:
    """What an async caller gets: the coroutine itself on the home loop (or
    under a library that is not asyncio), else one that runs it there."""
    running = _get_running_loop()
    if running is home.loop or running is None:
        return coro
    return _across(home, coro, name)


def async_face_for(source: object, awaitable: Any, name: str) -> Any:
    """The async face of a context-manager method's step (`__aenter__` /
    `__aexit__`): on the home loop if `source` has one and this is not it."""
    home = home_of(source) if source is not None else None
    if home is not None and usable(source, home, name):
        return awaitable_for(home, awaitable, name)
    return awaitable


def iterator_for(home: Home, agen: Any, name: str) -> Any:
    """What an async caller gets from an async generator method of a homed
    object: the generator itself on the home loop, else one whose every step
    runs there."""
    running = _get_running_loop()
    if running is home.loop or running is None:
        return agen
    return _AcrossIterator(home, agen, name)


class _AcrossIterator:
    """`async for` from another loop over an async generator of a homed
    object: each step (and the closing) runs on the home loop."""

    __slots__ = ("_agen", "_home", "_name")

    def __init__(self, home: Home, agen: Any, name: str) -> None:
        self._home = home
        self._agen = agen
        self._name = name

    def __aiter__(self) -> _AcrossIterator:
        return self

    async def __anext__(self) -> Any:
        return await _across(self._home, _step(self._agen), self._name)

    async def aclose(self) -> None:
        await _across(self._home, _close(self._agen), self._name)

    async def asend(self, value: Any) -> Any:
        return await _across(self._home, _send(self._agen, value), self._name)

    async def athrow(self, *args: Any) -> Any:
        return await _across(self._home, _throw(self._agen, *args), self._name)

    def __repr__(self) -> str:
        return f"<smartasync async iterator over {self._agen!r}, on its home loop>"


# Coroutines (not bare awaitables): what run_coroutine_threadsafe takes, and
# created on the home loop's side of the hop only once awaited there.
async def _step(agen: Any) -> Any:
    return await agen.__anext__()


async def _close(agen: Any) -> None:
    await agen.aclose()


async def _send(agen: Any, value: Any) -> Any:
    return await agen.asend(value)


async def _throw(agen: Any, *args: Any) -> Any:
    return await agen.athrow(*args)


async def _across(home: Home, coro: Coroutine[Any, Any, Any], name: str) -> Any:
    loop: asyncio.AbstractEventLoop = home.loop  # type: ignore[assignment]
    if _engine.is_sync_loop(loop):
        return await _engine.run_async(coro)
    try:
        future = asyncio.run_coroutine_threadsafe(coro, loop)
    except RuntimeError:  # closed meanwhile
        coro.close()
        raise
    return await asyncio.wrap_future(future)


def run_sync(home: Home, coro: Coroutine[Any, Any, Any], name: str, source: object) -> Any:
    """A blocking call on a homed object: run `coro` on the home loop."""
    loop: asyncio.AbstractEventLoop = home.loop  # type: ignore[assignment]
    running = _get_running_loop()
    if running is loop:
        coro.close()
        display = _runner.display_name(name, source)
        raise RuntimeError(
            f"{display}() was called without `await` from sync code running on the event "
            f"loop that {type(source).__qualname__} object was entered on (its home loop), "
            f"which cannot wait for itself. Inside async code write `await {display}()`; "
            f"from a plain `def` helper, make the helper async, or run it in a worker "
            f"thread (`await asyncio.to_thread(helper)`)."
        )
    if _engine.is_sync_loop(loop):
        return _runner.run_blocking(coro, name, None, False, source)
    return _runner.run_on_loop(coro, loop, name, source)


def run_sync_for(source: object, coro: Coroutine[Any, Any, Any], name: str) -> Any:
    """`run_blocking` for the sync faces (`with`, `for`, context-manager
    methods): on the home loop if `source` has one."""
    if source is None:
        return _runner.run_blocking(coro, name)
    try:
        home = home_of(source)
        if home is not None and usable(source, home, name):
            return run_sync(home, coro, name, source)
    except BaseException:
        _engine.close_unstarted(coro)  # (a Ctrl-C landing here: never started)
        raise
    return _runner.run_blocking(coro, name, None, False, source)
