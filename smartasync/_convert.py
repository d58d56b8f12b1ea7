"""What becomes dual, and as what: one conversion for `@smartasync` on a
function or method and for the class walker meeting a class attribute.

The two differ in one way only: the decorator was *asked* to convert its
target, so anything it cannot convert is an error; the walker meets every
attribute of a class, so anything it cannot convert is left as it is.
"""

from __future__ import annotations

import inspect
from functools import cached_property
from inspect import CO_ASYNC_GENERATOR, CO_COROUTINE
from types import FunctionType, MethodType
from typing import Any, Final

from ._dual import DualBound, DualClassMethod, DualFunction, member_dual
from ._kinds import ACM_HELPER_CODE, ASYNCGEN, COROUTINE, Kind, kind_of
from ._modes import Mode
from ._property import to_dual_property

ASYNC_ONLY_MARK: Final = "__smartasync_async_only__"

_ACCEPTED: Final = (
    "an `async def` function or method (a coroutine function, an async generator "
    "function, or a function made with contextlib.asynccontextmanager), a "
    "staticmethod or classmethod of one, or a class"
)


def is_async_only(fn: object) -> bool:
    # A dict lookup, not getattr(fn, mark, False): a missing attribute raises
    # and catches AttributeError inside getattr, 0.3 us per method walked.
    namespace = getattr(fn, "__dict__", None)
    return bool(namespace and namespace.get(ASYNC_ONLY_MARK, False))


def to_dual(target: Any, mode: Mode | None, member: bool) -> Any:
    """The dual replacement for `target`.

    member=False: `target` was given to `@smartasync(mode=...)`; `mode` is its
        own (None: not given).  Raises TypeError if it cannot be made dual.
    member=True: `target` is a class attribute met by the class walker; `mode`
        is the class's static mode, which only static methods take (they have
        no receiver to read a mode from at call time).  Returns None to leave
        the attribute as it is (not async, `@async_only`, already smart).
    """
    if member and type(target) is FunctionType:  # most class attributes: first
        # kind_of and is_async_only, inlined for the common shapes: a class
        # walk meets every method, and decoration time is budgeted (issue 14).
        flags = target.__code__.co_flags
        namespace = target.__dict__
        if flags & CO_COROUTINE:
            kind: Kind | None = COROUTINE
        elif flags & CO_ASYNC_GENERATOR:
            kind = ASYNCGEN
        elif target.__code__ is ACM_HELPER_CODE or "_is_coroutine_marker" in namespace:
            kind = kind_of(target)
        else:
            return None  # a plain method
        if kind is None or (namespace and namespace.get(ASYNC_ONLY_MARK)):
            return None
        return member_dual(target, kind, namespace)
    if not member and isinstance(target, MethodType):  # a DualBound says it is one too
        return _bound(target, mode)
    if isinstance(target, DualFunction):
        if member:
            return None if target._smart else target.with_options(smart=True)
        return target if mode is None else target.with_options(mode=mode)
    if isinstance(target, staticmethod):
        inner = target.__func__
        if isinstance(inner, DualFunction):
            return None if member else staticmethod(to_dual(inner, mode, member=False))
        kind = _kind(inner, member, "a staticmethod of ")
        return None if kind is None else staticmethod(DualFunction(inner, kind, mode))
    if isinstance(target, classmethod):
        inner = target.__func__
        own = None if member else mode  # the class's mode is read at call time
        if isinstance(inner, DualFunction):
            return DualClassMethod(inner.__wrapped__, inner._kind, own or inner._mode, member)
        kind = _kind(inner, member, "a classmethod of ")
        return None if kind is None else DualClassMethod(inner, kind, own, member)
    if isinstance(target, property | cached_property):
        if member:  # an async getter: read from sync code, the value (see _property)
            return to_dual_property(target)
        raise TypeError(
            f"@smartasync does not take a property: an async property is dual when its "
            f"class is smart. Decorate the class with @smartasync (or inherit from "
            f"SmartAsync) and keep `@property async def {_getter_name(target)}(self)` as it is."
        )
    if member:  # FunctionType cannot be subclassed: a function was handled first
        return None  # other objects in a class body: data, descriptors, classes
    kind = _kind(target, False, "")
    assert kind is not None  # (raised otherwise)
    return DualFunction(target, kind, mode)


def _bound(method: Any, mode: Mode | None) -> Any:
    """`smartasync(obj.method)`: the dual of its function, bound to the same
    object, so `__self__` and the caller rule both hold."""
    if isinstance(method, DualBound) and mode is None:
        return method
    function = method.__func__
    dual = to_dual(function, mode, member=False)
    receiver = method.__self__
    # A class method's __self__ is the class: bind as the class method does.
    return dual.__get__(receiver, receiver if isinstance(receiver, type) else type(receiver))


def _getter_name(target: property | cached_property[Any]) -> str:
    getter = target.func if isinstance(target, cached_property) else target.fget
    return str(getattr(getter, "__name__", "name"))


def _kind(fn: object, member: bool, what: str) -> Kind | None:
    kind = kind_of(fn)
    if member:
        return None if kind is None or is_async_only(fn) else kind
    if kind is None or not callable(fn):
        raise TypeError(
            f"@smartasync expected {_ACCEPTED}, but got {what}{describe(fn)}. "
            f"Define it with `async def`, or leave it undecorated."
        )
    return kind


def describe(obj: object) -> str:
    """Name `obj` for an error message: what it is and where it comes from."""
    if inspect.isclass(obj):
        return f"the class {obj.__qualname__}"
    if inspect.isfunction(obj):
        code = obj.__code__
        if obj.__name__ == "<lambda>":
            return f"the lambda defined at {code.co_filename}:{code.co_firstlineno}"
        return f"the plain function {obj.__qualname__}() defined at {code.co_filename}:{code.co_firstlineno}"
    if inspect.ismethod(obj):
        return f"the bound method {obj.__qualname__}() of a {type(obj.__self__).__qualname__}"
    if callable(obj) and hasattr(obj, "__qualname__"):
        return f"the callable {obj.__qualname__} ({type(obj).__qualname__})"
    return f"an instance of {type(obj).__qualname__} ({obj!r:.60})"
