"""The public entry points: `smartasync`, `async_only`, `set_mode`, `get_mode`."""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import AbstractAsyncContextManager
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar, overload

from . import _home
from ._class import (
    SmartAsync,
    check_loop_bound,
    install_subclass_hook,
    walk,
)
from ._convert import ASYNC_ONLY_MARK, describe, to_dual
from ._dual import DualBound, DualFunction
from ._kinds import kind_of
from ._modes import (
    AUTO,
    INSTANCE_KEY,
    Home,
    Mode,
    check_mode,
    class_mode,
    is_smart_class,
    own_mode,
)
from ._rule import resolve_mode

if TYPE_CHECKING:
    from ._typing import DualContextManager, DualGenFunction, ModeDecorator
    from ._typing import DualFunction as _DualFunction

_T = TypeVar("_T")
_P = ParamSpec("_P")
_C = TypeVar("_C", bound=type)


@overload
def smartasync(target: _C, /) -> _C: ...
@overload
def smartasync(target: Callable[_P, Coroutine[Any, Any, _T]], /) -> _DualFunction[_P, _T]: ...
@overload
def smartasync(target: Callable[_P, AsyncIterator[_T]], /) -> DualGenFunction[_P, _T]: ...
@overload
def smartasync(
    target: Callable[_P, AbstractAsyncContextManager[_T]], /
) -> Callable[_P, DualContextManager[_T]]: ...
@overload
def smartasync(
    target: None = None, /, *, mode: Mode, loop_bound: bool | None = None
) -> ModeDecorator: ...
@overload
def smartasync(
    target: None = None, /, *, mode: Mode | None = None, loop_bound: bool
) -> ModeDecorator: ...
def smartasync(
    target: Any = None, /, *, mode: str | None = None, loop_bound: bool | None = None
) -> Any:
    """Make an `async def` callable from sync code and from async code.

    On a function or method: the bare call returns the awaitable when the
    calling code is an `async def`, and runs it to completion (returning the
    result) when it is sync code; `.sync(...)` always runs it, `.aio(...)`
    always returns the awaitable.  On a class: every `async def` in it and in
    its subclasses becomes dual, as with the `SmartAsync` base.

    Use it bare (`@smartasync`) or with a mode (`@smartasync(mode="sync")`).
    On a class, `loop_bound=True` / `False` says whether its objects live on
    the event loop of the code that made them (default: if the class is an
    async context manager), as the class keyword of `SmartAsync` does.

    Raises:
        TypeError: `target` is not an async function, a static/class method
            of one, or a class; `loop_bound` is not a bool, or is given for a
            function.
        ValueError: `mode` is not "auto", "sync" or "async".
    """
    checked = None if mode is None else check_mode(mode, "smartasync()")
    bound = check_loop_bound(loop_bound, "smartasync()")
    if target is None:

        def decorator(target: _T) -> _T:
            return _decorate(target, checked, bound)  # type: ignore[return-value]

        return decorator
    return _decorate(target, checked, bound)


def _decorate(target: object, mode: Mode | None, loop_bound: bool | None = None) -> object:
    if isinstance(target, type):
        if not issubclass(target, SmartAsync):
            install_subclass_hook(target)
        walk(target, mode, loop_bound)
        return target
    if loop_bound is not None:
        raise TypeError(
            f"smartasync(loop_bound=...) is for a class (whether its objects live on the "
            f"event loop that made them), but got {describe(target)}"
        )
    return to_dual(target, mode, member=False)


def async_only(func: _T) -> _T:
    """Leave this `async def` exactly as written inside a smart class: it stays
    a plain coroutine function, always returning the awaitable.

    Raises:
        TypeError: `func` is not an async function (or a static/class method
            of one), or it is already dual.
    """
    target: Any = func.__func__ if isinstance(func, (staticmethod, classmethod)) else func
    if isinstance(target, DualFunction):
        raise TypeError(
            f"@async_only got {target.__qualname__}, which @smartasync already made dual; "
            f"remove one of the two decorators"
        )
    if kind_of(target) is None:
        raise TypeError(
            f"@async_only marks an `async def` method that a smart class should leave as "
            f"written, but got {describe(target)}"
        )
    if not _defined_in_class_body(target):
        raise TypeError(
            f"@async_only only matters on a method in the body of a smart class, but got "
            f"{describe(target)}, which is not defined in a class. An `async def` outside a "
            f"class is already left as written (only @smartasync makes it dual): remove "
            f"@async_only, or move the function into the class body."
        )
    try:
        setattr(target, ASYNC_ONLY_MARK, True)
    except (AttributeError, TypeError):
        raise TypeError(
            f"@async_only cannot mark {describe(target)}: it takes no attributes; "
            f"apply it to the `async def` itself"
        ) from None
    return func


def _defined_in_class_body(fn: Any) -> bool:
    """From its `__qualname__`: a method decorated in a class body is named
    `Cls.m` (`f.<locals>.Cls.m` in a function) even though the class does not
    exist yet; a function at module level is `f`, one nested in a function
    or method `f.<locals>.g`."""
    qualname = getattr(fn, "__qualname__", None)
    if not isinstance(qualname, str):
        return True  # nothing to go by: no complaint
    parts = qualname.split(".")
    return len(parts) >= 2 and parts[-2] != "<locals>"


def set_mode(obj: object, mode: Mode) -> None:
    """Give one instance of a smart class its own mode: "auto", "sync" or "async".

    It overrides the method's and the class's mode for calls on `obj`; the
    explicit `.sync()` / `.aio()` forms still do what they say.

    Raises:
        ValueError: `mode` is not "auto", "sync" or "async".
        TypeError: `obj` is a class, an instance of a class that is not smart,
            or an instance with no room to store a mode (`__slots__` without
            `__dict__`).
    """
    checked = check_mode(mode, "set_mode()")
    if isinstance(obj, DualBound | DualFunction) or inspect.isroutine(obj):
        raise TypeError(_mode_of_a_method(obj, checked))
    if isinstance(obj, type):
        raise TypeError(
            f"set_mode() sets the mode of one instance, but got the class {obj.__qualname__}. "
            f"Give a class its mode where it is defined: "
            f"`class {obj.__name__}(SmartAsync, mode={checked!r})` or "
            f"`@smartasync(mode={checked!r})`."
        )
    cls = type(obj)
    if not is_smart_class(cls):
        raise TypeError(
            f"set_mode(): {cls.__qualname__} is not a smart class, so its instances have no "
            f"mode. Make it smart: inherit from SmartAsync "
            f"(`class {cls.__name__}(SmartAsync): ...`) or decorate the class with @smartasync."
        )
    current = getattr(obj, INSTANCE_KEY, None)
    if type(current) is Home:  # it has a home: the mode is kept under it
        _home.set_prior(obj, current, checked)
        return
    try:
        object.__setattr__(obj, INSTANCE_KEY, checked)
    except AttributeError:
        raise TypeError(
            f"set_mode() has nowhere to store a mode on this {cls.__qualname__} instance: "
            f"the class declares __slots__ without '__dict__'. Add {INSTANCE_KEY!r} to "
            f"{cls.__qualname__}.__slots__."
        ) from None


def _mode_of_a_method(method: Any, mode: Mode) -> str:
    name = getattr(method, "__qualname__", None) or repr(method)
    short = name.rpartition(".")[2]
    receiver = getattr(method, "__self__", None)
    owner = type(receiver).__qualname__ if receiver is not None else name.rpartition(".")[0]
    instance = f"the {owner} instance" if owner else "the instance"
    one_call = {
        "sync": f"`obj.{short}.sync(...)` for one call that runs to completion",
        "async": f"`obj.{short}.aio(...)` for one call that gives the awaitable",
        "auto": f"the bare call `obj.{short}(...)`, which lets the caller decide",
    }[mode]
    return (
        f"set_mode() sets the mode of an instance, but got the method {name}. A mode belongs "
        f"to an instance or, where a method is defined, to the method: write "
        f"`set_mode(obj, {mode!r})` with {instance} itself, for all of its methods; "
        f"`@smartasync(mode={mode!r})` over `async def {short}` in the class, for this "
        f"method; or {one_call}."
    )


def get_mode(obj: object) -> Mode:
    """The mode in force for `obj`: an instance of a smart class (its own mode,
    else its class's), a smart class, or a dual function or bound method.

    Raises:
        TypeError: `obj` is none of these.
    """
    if isinstance(obj, DualBound):
        return resolve_mode(obj.__func__, obj.__self__)
    if isinstance(obj, DualFunction):
        return obj._mode or AUTO
    if isinstance(obj, type):
        if is_smart_class(obj):
            return class_mode(obj)
        raise TypeError(f"get_mode(): the class {obj.__qualname__} is not a smart class")
    cls = type(obj)
    if is_smart_class(cls):
        return own_mode(obj) or class_mode(cls)
    raise TypeError(
        f"get_mode() expected an instance of a smart class, a smart class, or a dual "
        f"function, but got {describe(obj)}"
    )
