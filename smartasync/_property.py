"""Async properties of a smart class: `@property` (and
`functools.cached_property`) over an `async def`.

Reading one is a call with no arguments, so it follows the rule of a call
(DESIGN §2): the frame that reads the attribute decides, under the instance's
and the class's mode, and on the object's home loop if it was entered.  Sync
code gets the value; async code gets an awaitable (`await obj.balance`).  The
decision is the one `_dispatch.dispatch` makes for a method: each property
holds a `DualFunction` over its getter only to hand it to `dispatch`.

Setters and deleters stay as they are: an assignment cannot be awaited, so an
async setter would have nobody to await it (it is left as written).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cached_property
from types import FrameType
from typing import Any

from ._dispatch import dispatch, explicit_aio, explicit_sync, fail
from ._dual import DualFunction
from ._kinds import COROUTINE, kind_of
from ._rule import AWAITING_CODE_FLAGS, caller_frame, gives_awaitable, resolve_mode, sync_result


def to_dual_property(target: property | cached_property[Any]) -> Any:
    """The dual replacement for a property whose getter is an `async def`, or
    None to leave it as it is (a sync getter, or dual already)."""
    if isinstance(target, DualProperty | DualCachedProperty):
        return None
    if isinstance(target, cached_property):
        if kind_of(target.func) is not COROUTINE:
            return None
        return DualCachedProperty(target)
    if kind_of(target.fget) is None:
        return None
    return DualProperty(target.fget, target.fset, target.fdel, target.__doc__)


class DualProperty(property):
    """A property whose getter is an `async def`: read from sync code it
    runs the getter and gives its value, read from async code it gives the
    awaitable.  `Cls.prop.sync(obj)` always gives the value,
    `Cls.prop.aio(obj)` always the awaitable.

    A subclass of `property`, so `.setter` / `.deleter`, `__isabstractmethod__`
    and `isinstance(..., property)` work as for any property.
    """

    _dual: DualFunction | None

    def __init__(
        self,
        fget: Callable[[Any], Any] | None = None,
        fset: Callable[[Any, Any], None] | None = None,
        fdel: Callable[[Any], None] | None = None,
        doc: str | None = None,
    ) -> None:
        super().__init__(fget, fset, fdel, doc)
        # A property subclass keeps its doc in the instance's __dict__, or its
        # class's docstring shadows it; property.__init__ does not always
        # put it there (3.11), so this does.
        self.__doc__ = doc if doc is not None else getattr(fget, "__doc__", None)
        # `.getter()` may give a sync getter: then this is a plain property.
        kind = kind_of(fget)
        self._dual = None if fget is None or kind is None else DualFunction(fget, kind, None, True)
        self._aio = None if self._dual is None else _aio_spelling(self._dual)

    def __get__(self, obj: Any, owner: type | None = None, /) -> Any:
        dual = self._dual
        if obj is None or dual is None:
            return super().__get__(obj, owner)
        # dispatch gives a `sync`-mode value to an awaiting reader with the
        # message naming `self._aio` (see _rule.sync_result).  The getter's
        # coroutine is made inside the `try`, as a method call's is: a Ctrl-C
        # landing before the engine took it over closes it (no "never
        # awaited").
        coro = None
        try:
            coro = dual.__wrapped__(obj)
            return dispatch(dual, obj, caller_frame(1), coro, self._aio)
        except BaseException as exc:
            raise fail(exc, coro)  # noqa: B904  (smartasync: the same exception, without its frames)

    def sync(self, obj: Any) -> Any:
        """Read the property on `obj` to completion: its value.

        Raises:
            Whatever the getter raises.
        """
        dual = self._getter("sync")
        coro = None
        try:
            coro = dual.__wrapped__(obj)
            return explicit_sync(dual, obj, coro)
        except BaseException as exc:
            raise fail(exc, coro)  # noqa: B904  (as in __get__)

    def aio(self, obj: Any) -> Any:
        """Read the property on `obj` as an awaitable, whoever is reading."""
        dual = self._getter("aio")
        return explicit_aio(dual, obj, dual.__wrapped__(obj))

    def _getter(self, form: str) -> DualFunction:
        dual: DualFunction | None = self._dual  # (typed here: mypy reads the attribute as Any)
        if dual is None:
            raise AttributeError(f"{form}(): this property has no async getter")
        return dual

    def __repr__(self) -> str:
        name = self._dual.__qualname__ if self._dual is not None else "?"
        return f"<smartasync async property {name}>"


class DualCachedProperty:
    """`functools.cached_property` over an `async def`, made dual.

    The stdlib one would cache the coroutine object: the second `await`
    fails ("cannot reuse already awaited coroutine") and sync code never gets
    a value.  This one caches the *awaited value* in the instance's
    `__dict__`, as the stdlib one caches a sync value: the first read runs
    the getter (sync code: to completion; async code: when awaited); later
    reads give the value (async code: wrapped in an awaitable, so `await
    obj.prop` reads the same every time).  Assigning or deleting the
    attribute sets or clears the cache.  `Cls.prop.sync(obj)` always gives
    the value, `Cls.prop.aio(obj)` always an awaitable of it, as for a
    `DualProperty`: from the cache when it is filled, filling it if not.
    Concurrent first reads may each run the getter; the last to finish is
    kept (as the stdlib's, which has had no lock since 3.12).
    """

    def __init__(self, original: cached_property[Any]) -> None:
        self.func = original.func
        self.attrname = original.attrname or original.func.__name__
        self.__doc__ = original.__doc__
        self.__module__ = original.__module__
        self._dual = DualFunction(original.func, COROUTINE, None, True)
        self._aio = _aio_spelling(self._dual)

    def __set_name__(self, owner: type, name: str) -> None:
        self.attrname = name

    def __get__(self, obj: Any, owner: type | None = None) -> Any:
        if obj is None:
            return self
        cache = self._cache(obj)
        name = self.attrname
        dual = self._dual
        frame = caller_frame(1)
        if name in cache:
            value = cache[name]
            if gives_awaitable(resolve_mode(dual, obj), frame):
                return _ready(value)
            return _checked(value, frame, dual, obj)
        # (a `sync`-mode value for an awaiting reader: dispatch says so)
        coro = None
        try:
            coro = self._fill(obj, cache)
            return dispatch(dual, obj, frame, coro, self._aio)
        except BaseException as exc:
            raise fail(exc, coro)  # noqa: B904  (as in DualProperty.__get__)

    def sync(self, obj: Any) -> Any:
        """Read the cached property on `obj` to completion: the cached value, or
        the getter's, run on `obj`'s home loop if it has one (and then cached).

        Raises:
            TypeError: `obj` has no `__dict__` to cache the value in.
            Whatever the getter raises (then nothing is cached).
        """
        cache = self._cache(obj)
        if self.attrname in cache:
            return cache[self.attrname]
        coro = None
        try:
            coro = self._fill(obj, cache)
            return explicit_sync(self._dual, obj, coro)
        except BaseException as exc:
            raise fail(exc, coro)  # noqa: B904  (as in DualProperty.__get__)

    def aio(self, obj: Any) -> Any:
        """Read the cached property on `obj` as an awaitable, whoever is reading:
        of the cached value, or of the getter's (which awaiting it caches).

        Raises:
            TypeError: `obj` has no `__dict__` to cache the value in.
        """
        cache = self._cache(obj)
        if self.attrname in cache:
            return _ready(cache[self.attrname])
        return explicit_aio(self._dual, obj, self._fill(obj, cache))

    # A data descriptor, so that a cached value in the instance's __dict__
    # does not shadow it: async readers must still get an awaitable.
    def __set__(self, obj: Any, value: Any) -> None:
        self._cache(obj)[self.attrname] = value

    def __delete__(self, obj: Any) -> None:
        try:
            del self._cache(obj)[self.attrname]
        except KeyError:
            raise AttributeError(self.attrname) from None

    async def _fill(self, obj: Any, cache: dict[str, Any]) -> Any:
        value = await self.func(obj)
        cache[self.attrname] = value
        return value

    def _cache(self, obj: Any) -> dict[str, Any]:
        try:
            cache: dict[str, Any] = obj.__dict__
        except AttributeError:
            raise TypeError(
                f"No '__dict__' attribute on {type(obj).__name__!r} instance to cache "
                f"{self.attrname!r} property."
            ) from None
        return cache

    def __repr__(self) -> str:
        return f"<smartasync async cached_property {self._dual.__qualname__}>"


def _aio_spelling(dual: DualFunction) -> str:
    return f"{dual.__qualname__}.aio(obj)"  # `Cls.prop.aio(obj)`: a value has no .aio


async def _ready(value: Any) -> Any:
    return value


def _checked(value: Any, frame: FrameType | None, dual: DualFunction, obj: Any) -> Any:
    """A value given to a reader: if that reader is about to `await` it (a
    `sync`-mode object read in async code), say how to get the awaitable."""
    if frame is None or not frame.f_code.co_flags & AWAITING_CODE_FLAGS:  # (cheaper than the names)
        return value
    prop = dual.__qualname__.rpartition(".")[2]
    cls = type(obj).__qualname__
    return sync_result(value, frame, f"{cls}.{prop}", f"{cls}.{prop}.aio(obj)")
