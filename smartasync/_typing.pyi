"""Typing facades: what a type checker sees for a dual callable.

Nothing here runs.  The classes describe the runtime objects of `_dual`
(`DualFunction`, `DualClassMethod`, `DualBound`) to a type checker: generic
over the wrapped function's parameters (`ParamSpec`) and its result, so
`.sync(...)` and `.aio(...)` are exact and arguments are checked on every
checker, with no plugin.

The bare call is where checkers differ.  The rule (see DESIGN.md, section 2)
depends on the *calling* code, which no plain annotation can express:

- `Dual*` (what `@smartasync` returns): the bare call is `Any` without the
  plugin; the mypy plugin `smartasync.mypy` replaces it with the result in
  sync code and the coroutine (or async iterator) in async code.
- `SyncFirst*` / `AsyncFirst*`: what generated stubs use
  (`python -m smartasync stubgen`), one fixed answer per stub set.

A coroutine face (`.aio(...)`, the async-first bare call) is
`types.CoroutineType[Any, Any, T]`, what pyright, pyrefly and ty infer for a
call of an `async def`: a dual method then satisfies a user's Protocol
written with `async def`, and ty's unused-awaitable check (which looks for
CoroutineType only) fires on a forgotten `await`.  What a decorator accepts
stays `Coroutine[Any, Any, T]`, any awaitable coroutine.  mypy infers
`typing.Coroutine` for an `async def`, and its unused-coroutine check looks
for that class by name: the faces are written `_CoroutineFace[T]`, which the
plugin reads as `typing.Coroutine` (without the plugin mypy reads it as
CoroutineType, like every other checker).

There is no owner/self type parameter: a bound object forgets its receiver,
so an override in a subclass that keeps the signature stays compatible on
checkers that treat class type parameters invariantly.
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Coroutine, Iterator
from contextlib import AbstractAsyncContextManager
from types import CoroutineType, TracebackType
from typing import (
    Any,
    Concatenate,
    Generic,
    Never,
    ParamSpec,
    Protocol,
    Self,
    TypeAlias,
    TypeVar,
    overload,
)

__all__ = [
    "AsyncFirstBound",
    "AsyncFirstClassMethod",
    "AsyncFirstDeletableProperty",
    "AsyncFirstFunction",
    "AsyncFirstGenBound",
    "AsyncFirstGenFunction",
    "AsyncFirstGenMethod",
    "AsyncFirstMethod",
    "AsyncFirstProperty",
    "AsyncFirstSettableProperty",
    "AsyncFirstStaticMethod",
    "DualBound",
    "DualClassMethod",
    "DualContextManager",
    "DualFunction",
    "DualGenBound",
    "DualGenClassMethod",
    "DualGenFunction",
    "DualGenStaticMethod",
    "DualProperty",
    "DualStaticMethod",
    "ModeDecorator",
    "SyncFirstBound",
    "SyncFirstClassMethod",
    "SyncFirstDeletableProperty",
    "SyncFirstFunction",
    "SyncFirstGenBound",
    "SyncFirstGenFunction",
    "SyncFirstGenMethod",
    "SyncFirstMethod",
    "SyncFirstProperty",
    "SyncFirstSettableProperty",
    "SyncFirstStaticMethod",
    "async_first",
    "async_first_classmethod",
    "async_first_method",
    "async_first_staticmethod",
    "dual",
    "dual_classmethod",
    "dual_context_manager",
    "dual_coroutine",
    "dual_generator",
    "dual_generator_classmethod",
    "dual_generator_staticmethod",
    "dual_staticmethod",
    "sync_first",
    "sync_first_classmethod",
    "sync_first_method",
    "sync_first_staticmethod",
]

_P = ParamSpec("_P")
_Q = ParamSpec("_Q")
_R = TypeVar("_R")
_R_co = TypeVar("_R_co", covariant=True)
_Y_co = TypeVar("_Y_co", covariant=True)
_T = TypeVar("_T")
_C = TypeVar("_C", bound=type)
_O_contra = TypeVar("_O_contra", contravariant=True)
_S_contra = TypeVar("_S_contra", contravariant=True)

# A coroutine face: what checkers infer for an `async def` (module docstring).
_CoroutineFace: TypeAlias = CoroutineType[Any, Any, _T]

class DualContextManager(Generic[_R_co]):
    """An `asynccontextmanager` result usable with `with` and `async with`."""

    def __enter__(self) -> _R_co: ...
    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
        /,
    ) -> bool | None: ...
    async def __aenter__(self) -> _R_co: ...
    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
        /,
    ) -> bool | None: ...

# -- coroutine functions ------------------------------------------------------

class DualBound(Generic[_P, _R_co]):
    """A dual coroutine method bound to its receiver."""

    __name__: str
    __qualname__: str
    __doc__: str | None
    __self__: Any
    __func__: Any
    __wrapped__: Callable[..., Any]
    __isabstractmethod__: bool
    __signature__: inspect.Signature

    def __call__(self, *args: _P.args, **kwargs: _P.kwargs) -> Any: ...
    def sync(self, *args: _P.args, **kwargs: _P.kwargs) -> _R_co: ...
    def aio(self, *args: _P.args, **kwargs: _P.kwargs) -> _CoroutineFace[_R_co]: ...

class SyncFirstBound(DualBound[_P, _R_co]):
    def __call__(self, *args: _P.args, **kwargs: _P.kwargs) -> _R_co: ...

class AsyncFirstBound(DualBound[_P, _R_co]):
    def __call__(self, *args: _P.args, **kwargs: _P.kwargs) -> _CoroutineFace[_R_co]: ...

class DualFunction(DualBound[_P, _R_co]):
    """A dual coroutine function: module level, or a method read through its class."""

    @overload
    def __get__(self, obj: None, owner: type[Any] | None = None, /) -> DualFunction[_P, _R_co]: ...
    @overload
    def __get__(
        self: DualFunction[Concatenate[Any, _Q], _R], obj: object, owner: type[Any] | None = None, /
    ) -> DualBound[_Q, _R]: ...
    @overload
    def __get__(
        self, obj: object, owner: type[Any] | None = None, /
    ) -> DualBound[..., _R_co]: ...  # checkers that cannot solve the overload above

class SyncFirstFunction(DualFunction[_P, _R_co]):
    def __call__(self, *args: _P.args, **kwargs: _P.kwargs) -> _R_co: ...
    @overload
    def __get__(
        self, obj: None, owner: type[Any] | None = None, /
    ) -> SyncFirstFunction[_P, _R_co]: ...
    @overload
    def __get__(
        self: SyncFirstFunction[Concatenate[Any, _Q], _R],
        obj: object,
        owner: type[Any] | None = None,
        /,
    ) -> SyncFirstBound[_Q, _R]: ...

class AsyncFirstFunction(DualFunction[_P, _R_co]):
    def __call__(self, *args: _P.args, **kwargs: _P.kwargs) -> _CoroutineFace[_R_co]: ...
    @overload
    def __get__(
        self, obj: None, owner: type[Any] | None = None, /
    ) -> AsyncFirstFunction[_P, _R_co]: ...
    @overload
    def __get__(
        self: AsyncFirstFunction[Concatenate[Any, _Q], _R],
        obj: object,
        owner: type[Any] | None = None,
        /,
    ) -> AsyncFirstBound[_Q, _R]: ...

# -- async generator functions ------------------------------------------------

class DualGenBound(Generic[_P, _Y_co]):
    """A dual async generator method bound to its receiver."""

    __name__: str
    __qualname__: str
    __doc__: str | None
    __self__: Any
    __func__: Any
    __wrapped__: Callable[..., Any]
    __isabstractmethod__: bool
    __signature__: inspect.Signature

    def __call__(self, *args: _P.args, **kwargs: _P.kwargs) -> Any: ...
    def sync(self, *args: _P.args, **kwargs: _P.kwargs) -> Iterator[_Y_co]: ...
    def aio(self, *args: _P.args, **kwargs: _P.kwargs) -> AsyncGenerator[_Y_co]: ...

class SyncFirstGenBound(DualGenBound[_P, _Y_co]):
    def __call__(self, *args: _P.args, **kwargs: _P.kwargs) -> Iterator[_Y_co]: ...

class AsyncFirstGenBound(DualGenBound[_P, _Y_co]):
    def __call__(self, *args: _P.args, **kwargs: _P.kwargs) -> AsyncGenerator[_Y_co]: ...

class DualGenFunction(DualGenBound[_P, _Y_co]):
    """A dual async generator function, or such a method read through its class."""

    @overload
    def __get__(
        self, obj: None, owner: type[Any] | None = None, /
    ) -> DualGenFunction[_P, _Y_co]: ...
    @overload
    def __get__(
        self: DualGenFunction[Concatenate[Any, _Q], _T],
        obj: object,
        owner: type[Any] | None = None,
        /,
    ) -> DualGenBound[_Q, _T]: ...
    @overload
    def __get__(
        self, obj: object, owner: type[Any] | None = None, /
    ) -> DualGenBound[..., _Y_co]: ...  # checkers that cannot solve the overload above

class SyncFirstGenFunction(DualGenFunction[_P, _Y_co]):
    def __call__(self, *args: _P.args, **kwargs: _P.kwargs) -> Iterator[_Y_co]: ...
    @overload
    def __get__(
        self, obj: None, owner: type[Any] | None = None, /
    ) -> SyncFirstGenFunction[_P, _Y_co]: ...
    @overload
    def __get__(
        self: SyncFirstGenFunction[Concatenate[Any, _Q], _T],
        obj: object,
        owner: type[Any] | None = None,
        /,
    ) -> SyncFirstGenBound[_Q, _T]: ...

class AsyncFirstGenFunction(DualGenFunction[_P, _Y_co]):
    def __call__(self, *args: _P.args, **kwargs: _P.kwargs) -> AsyncGenerator[_Y_co]: ...
    @overload
    def __get__(
        self, obj: None, owner: type[Any] | None = None, /
    ) -> AsyncFirstGenFunction[_P, _Y_co]: ...
    @overload
    def __get__(
        self: AsyncFirstGenFunction[Concatenate[Any, _Q], _T],
        obj: object,
        owner: type[Any] | None = None,
        /,
    ) -> AsyncFirstGenBound[_Q, _T]: ...

# -- class and static methods of smart classes (the mypy plugin) ----------------

class DualClassMethod(DualBound[_P, _R_co]):
    """A dual `@classmethod`: binds to the class, read through it or an instance."""

    def __get__(
        self: DualClassMethod[Concatenate[Any, _Q], _R], obj: object, owner: Any = None, /
    ) -> DualBound[_Q, _R]: ...

class DualStaticMethod(DualBound[_P, _R_co]):
    """A dual `@staticmethod`: never binds."""

    def __get__(self, obj: object, owner: Any = None, /) -> DualStaticMethod[_P, _R_co]: ...

class DualGenClassMethod(DualGenBound[_P, _Y_co]):
    def __get__(
        self: DualGenClassMethod[Concatenate[Any, _Q], _T], obj: object, owner: Any = None, /
    ) -> DualGenBound[_Q, _T]: ...

class DualGenStaticMethod(DualGenBound[_P, _Y_co]):
    def __get__(self, obj: object, owner: Any = None, /) -> DualGenStaticMethod[_P, _Y_co]: ...

# -- async properties -----------------------------------------------------------
# `@property async def balance(self) -> int` in a smart class: read from sync
# code it is the value, from async code an awaitable of it (DESIGN.md,
# section 2, as for a call).  Read through the class, the property object
# itself, whose `.sync(obj)` and `.aio(obj)` are the explicit forms:
# `Account.balance.sync(account) -> int`, `Account.balance.aio(account) ->
# CoroutineType[Any, Any, int]`.  The mypy plugin types `Account.balance` as
# `DualProperty[Account, int]` and the instance read by the reading code;
# generated stubs declare the attribute `SyncFirstProperty[Account, int]` or
# `AsyncFirstProperty[...]` (`...SettableProperty[Account, int, int]` with a
# setter: the third argument is what it accepts; `...DeletableProperty[Account,
# int]` with a deleter and no setter), which every checker reads as a
# descriptor.
#
# What `del obj.prop` and `obj.prop = v` may do follows the runtime property:
# checkers allow the statement when the descriptor class has `__delete__` /
# `__set__` and its `obj` parameter takes the instance.  So the read-only
# facade has neither in a usable form: no `__set__` (assignment is an error
# everywhere), and a `__delete__` whose `obj` is `Never`, which no instance
# matches (pyright, basedpyright and ty reject the `del`; pyrefly does not
# check `del` against `__delete__` at all).  A bare `__get__`-only descriptor
# would not do: no checker rejects `del` on one, so a deleter would make no
# difference to the types.  The deletable facade then takes the instance in
# `__delete__` and still has no `__set__` (the runtime property raises "has no
# setter"); a class with `__delete__` alone is a data descriptor, and every
# checker still rejects the assignment ("no `__set__`").  Not a `property`
# subclass: `.sync` / `.aio` and the face of the bare read are ours.

class DualProperty(Generic[_O_contra, _R_co]):
    """An async property of a smart class; `_O_contra` is its class."""

    __doc__: str | None
    __isabstractmethod__: bool

    @overload
    def __get__(self, obj: None, owner: Any, /) -> Self: ...
    @overload
    def __get__(self, obj: _O_contra, owner: Any = None, /) -> Any: ...
    def sync(self, obj: _O_contra, /) -> _R_co: ...
    def aio(self, obj: _O_contra, /) -> _CoroutineFace[_R_co]: ...

class SyncFirstProperty(DualProperty[_O_contra, _R_co]):
    @overload
    def __get__(self, obj: None, owner: Any, /) -> Self: ...
    @overload
    def __get__(self, obj: _O_contra, owner: Any = None, /) -> _R_co: ...
    def __delete__(self, obj: Never, /) -> None: ...  # no deleter: `del` is an error

class AsyncFirstProperty(DualProperty[_O_contra, _R_co]):
    @overload
    def __get__(self, obj: None, owner: Any, /) -> Self: ...
    @overload
    def __get__(self, obj: _O_contra, owner: Any = None, /) -> _CoroutineFace[_R_co]: ...
    def __delete__(self, obj: Never, /) -> None: ...  # no deleter: `del` is an error

class SyncFirstDeletableProperty(SyncFirstProperty[_O_contra, _R_co]):
    def __delete__(self, obj: _O_contra, /) -> None: ...

class AsyncFirstDeletableProperty(AsyncFirstProperty[_O_contra, _R_co]):
    def __delete__(self, obj: _O_contra, /) -> None: ...

class SyncFirstSettableProperty(
    SyncFirstProperty[_O_contra, _R_co], Generic[_O_contra, _R_co, _S_contra]
):
    def __set__(self, obj: _O_contra, value: _S_contra, /) -> None: ...
    def __delete__(self, obj: _O_contra, /) -> None: ...

class AsyncFirstSettableProperty(
    AsyncFirstProperty[_O_contra, _R_co], Generic[_O_contra, _R_co, _S_contra]
):
    def __set__(self, obj: _O_contra, value: _S_contra, /) -> None: ...
    def __delete__(self, obj: _O_contra, /) -> None: ...

class ModeDecorator(Protocol):
    """What `smartasync(mode=...)` returns."""

    @overload
    def __call__(self, target: _C, /) -> _C: ...
    @overload
    def __call__(
        self, target: Callable[_P, Coroutine[Any, Any, _T]], /
    ) -> DualFunction[_P, _T]: ...
    @overload
    def __call__(self, target: Callable[_P, AsyncIterator[_T]], /) -> DualGenFunction[_P, _T]: ...
    @overload
    def __call__(
        self, target: Callable[_P, AbstractAsyncContextManager[_T]], /
    ) -> Callable[_P, DualContextManager[_T]]: ...

# -- the decorators as a checker sees them ------------------------------------
# `dual` is what `@smartasync` on a function means.  The mypy plugin applies
# one of the `dual_*` forms to every `async def` of a smart class, chosen by
# what the function is (so an unannotated one is still typed by its kind).
# `sync_first` / `async_first` are what generated stubs write on dual methods.
# Coroutine functions come first: a function returning `Any` is most likely one.

@overload
def dual(fn: Callable[_P, Coroutine[Any, Any, _T]], /) -> DualFunction[_P, _T]: ...
@overload
def dual(fn: Callable[_P, AsyncIterator[_T]], /) -> DualGenFunction[_P, _T]: ...
@overload
def dual(
    fn: Callable[_P, AbstractAsyncContextManager[_T]], /
) -> Callable[_P, DualContextManager[_T]]: ...
def dual_coroutine(fn: Callable[_P, Coroutine[Any, Any, _T]], /) -> DualFunction[_P, _T]: ...
def dual_generator(fn: Callable[_P, AsyncIterator[_T]], /) -> DualGenFunction[_P, _T]: ...
def dual_classmethod(fn: Callable[_P, Coroutine[Any, Any, _T]], /) -> DualClassMethod[_P, _T]: ...
def dual_staticmethod(fn: Callable[_P, Coroutine[Any, Any, _T]], /) -> DualStaticMethod[_P, _T]: ...
def dual_generator_classmethod(
    fn: Callable[_P, AsyncIterator[_T]], /
) -> DualGenClassMethod[_P, _T]: ...
def dual_generator_staticmethod(
    fn: Callable[_P, AsyncIterator[_T]], /
) -> DualGenStaticMethod[_P, _T]: ...
def dual_context_manager(
    fn: Callable[_P, AbstractAsyncContextManager[_T]], /
) -> Callable[_P, DualContextManager[_T]]: ...
@overload
def sync_first(fn: Callable[_P, Coroutine[Any, Any, _T]], /) -> SyncFirstFunction[_P, _T]: ...
@overload
def sync_first(fn: Callable[_P, AsyncIterator[_T]], /) -> SyncFirstGenFunction[_P, _T]: ...
@overload
def sync_first(
    fn: Callable[_P, AbstractAsyncContextManager[_T]], /
) -> Callable[_P, DualContextManager[_T]]: ...
@overload
def async_first(fn: Callable[_P, Coroutine[Any, Any, _T]], /) -> AsyncFirstFunction[_P, _T]: ...
@overload
def async_first(fn: Callable[_P, AsyncIterator[_T]], /) -> AsyncFirstGenFunction[_P, _T]: ...
@overload
def async_first(
    fn: Callable[_P, AbstractAsyncContextManager[_T]], /
) -> Callable[_P, DualContextManager[_T]]: ...

# -- stub-only method facades ---------------------------------------------------
# Generated stubs decorate methods with these: their ParamSpec leaves out the
# receiver (`Concatenate[Any, _P]`), so an override with the same parameters
# has the very same type in a subclass (ParamSpecs are invariant).

class SyncFirstMethod(Generic[_P, _R_co]):
    @overload
    def __get__(self, obj: None, owner: Any, /) -> DualBound[..., _R_co]: ...
    @overload
    def __get__(self, obj: object, owner: Any = None, /) -> SyncFirstBound[_P, _R_co]: ...

class AsyncFirstMethod(Generic[_P, _R_co]):
    @overload
    def __get__(self, obj: None, owner: Any, /) -> DualBound[..., _R_co]: ...
    @overload
    def __get__(self, obj: object, owner: Any = None, /) -> AsyncFirstBound[_P, _R_co]: ...

class SyncFirstGenMethod(Generic[_P, _Y_co]):
    @overload
    def __get__(self, obj: None, owner: Any, /) -> DualGenBound[..., _Y_co]: ...
    @overload
    def __get__(self, obj: object, owner: Any = None, /) -> SyncFirstGenBound[_P, _Y_co]: ...

class AsyncFirstGenMethod(Generic[_P, _Y_co]):
    @overload
    def __get__(self, obj: None, owner: Any, /) -> DualGenBound[..., _Y_co]: ...
    @overload
    def __get__(self, obj: object, owner: Any = None, /) -> AsyncFirstGenBound[_P, _Y_co]: ...

class SyncFirstClassMethod(Generic[_P, _R_co]):
    def __get__(self, obj: object, owner: Any = None, /) -> SyncFirstBound[_P, _R_co]: ...

class AsyncFirstClassMethod(Generic[_P, _R_co]):
    def __get__(self, obj: object, owner: Any = None, /) -> AsyncFirstBound[_P, _R_co]: ...

class SyncFirstStaticMethod(Generic[_P, _R_co]):
    def __get__(self, obj: object, owner: Any = None, /) -> SyncFirstBound[_P, _R_co]: ...

class AsyncFirstStaticMethod(Generic[_P, _R_co]):
    def __get__(self, obj: object, owner: Any = None, /) -> AsyncFirstBound[_P, _R_co]: ...

@overload
def sync_first_method(
    fn: Callable[Concatenate[Any, _P], Coroutine[Any, Any, _T]], /
) -> SyncFirstMethod[_P, _T]: ...
@overload
def sync_first_method(
    fn: Callable[Concatenate[Any, _P], AsyncIterator[_T]], /
) -> SyncFirstGenMethod[_P, _T]: ...
@overload
def async_first_method(
    fn: Callable[Concatenate[Any, _P], Coroutine[Any, Any, _T]], /
) -> AsyncFirstMethod[_P, _T]: ...
@overload
def async_first_method(
    fn: Callable[Concatenate[Any, _P], AsyncIterator[_T]], /
) -> AsyncFirstGenMethod[_P, _T]: ...
def sync_first_classmethod(
    fn: Callable[Concatenate[Any, _P], Coroutine[Any, Any, _T]], /
) -> SyncFirstClassMethod[_P, _T]: ...
def async_first_classmethod(
    fn: Callable[Concatenate[Any, _P], Coroutine[Any, Any, _T]], /
) -> AsyncFirstClassMethod[_P, _T]: ...
def sync_first_staticmethod(
    fn: Callable[_P, Coroutine[Any, Any, _T]], /
) -> SyncFirstStaticMethod[_P, _T]: ...
def async_first_staticmethod(
    fn: Callable[_P, Coroutine[Any, Any, _T]], /
) -> AsyncFirstStaticMethod[_P, _T]: ...
