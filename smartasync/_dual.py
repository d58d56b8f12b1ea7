"""Dual callables: what `@smartasync` returns for a function, and what a smart
class holds in place of each `async def`.

`DualFunction` is the class attribute (and the module-level function).  Read
through an instance it returns a bound object of a type generated for that one
method (see `_codegen`), whose `__call__`, `.sync` and `.aio` take the
method's exact parameters.  The bound object is made fresh on each attribute
read and holds only `__self__`: nothing is stored on the instance.

The generated types are built on first use, not at decoration: decorating a
class stays at about a microsecond per method, and a method never called costs
nothing more.
"""

from __future__ import annotations

import inspect
import sys
from collections.abc import Callable
from types import FunctionType, MethodType
from typing import TYPE_CHECKING, Any, Final

from . import _codegen
from ._asyncio_internals import running_loop
from ._dispatch import block, dispatch, dual_context_manager, explicit_aio, explicit_sync, fail
from ._kinds import CONTEXT_MANAGER, COROUTINE, Kind
from ._modes import AUTO, HOT_BY_THREAD, INSTANCE_KEY, Home, Mode
from ._rule import ASYNC_CODE_FLAGS, NOT_PLAIN_SYNC, async_comprehensions, caller_frame
from ._runner import prune_traceback, run_blocking
from ._speedups import speedups as _c

_new = object.__new__

# The C accelerator, when loaded (see _speedups): DualFunction and DualBound
# are built on its base types, and a specialised method is bound and called
# in C.  Its fast path is the generated `__call__`'s (the rule's INLINE tests
# over the same objects, handed over here once); what it declines goes to the
# same `dispatch`.  Without it the bases are plain `object`.
if TYPE_CHECKING or _c is None:
    _FunctionBase = object
    _BoundBase = object
else:
    _FunctionBase = _c.Function
    _BoundBase = _c.Bound
    _c.configure(
        AUTO,
        Home,
        INSTANCE_KEY,
        async_comprehensions,
        NOT_PLAIN_SYNC,
        running_loop,
        dispatch,
        run_blocking,
        fail,
        ASYNC_CODE_FLAGS,
        HOT_BY_THREAD,
    )


def _doc(self: Any) -> str | None:
    return getattr(self._target(), "__doc__", None)


_DOC: Final = property(_doc)


def _generated_type(name: str, base: type, module: str, *methods: Any, **extra: Any) -> Any:
    call, sync, aio = methods
    namespace = {
        "__slots__": (),
        "__module__": module,
        # The property again: type() would otherwise set __doc__ to None here,
        # hiding it.  pydoc shows an object's __doc__ only when it differs from
        # its type's, so the type must not carry the same string either.
        "__doc__": _DOC,
        "__call__": call,
        "sync": sync,
        "aio": aio,
        **extra,
    }
    if call is None:  # calls are the C base type's (see _specialize)
        del namespace["__call__"]
    return type(name, (base,), namespace)


class _Introspection:
    """What makes a dual callable look like the function it wraps to `inspect`,
    `help()` and frameworks: `inspect.iscoroutinefunction()` and
    `isasyncgenfunction()` accept a callable that has a function's attributes
    (`__code__`, `__defaults__`, ...) and test the flags of its `__code__`.

    No class-level annotations in these classes: they would become a class
    `__annotations__` that hides the property below from instances.
    """

    __slots__ = ()

    @property
    def __code__(self) -> Any:
        return self._target().__code__

    @property
    def __defaults__(self) -> Any:
        return getattr(self._target(), "__defaults__", None)

    @property
    def __kwdefaults__(self) -> Any:
        return getattr(self._target(), "__kwdefaults__", None)

    @property
    def __annotations__(self) -> Any:  # type: ignore[override]
        return getattr(self._target(), "__annotations__", {})

    @property
    def __isabstractmethod__(self) -> bool:
        return bool(getattr(self._target(), "__isabstractmethod__", False))

    def _target(self) -> Callable[..., Any]:
        raise NotImplementedError


class DualFunction(_Introspection, _FunctionBase):
    """An `async def` made dual.  Call it (the caller decides), or call
    `.sync(...)` to run it to completion, `.aio(...)` to get the coroutine."""

    # No __getattr__ here or on DualBound: on 3.11 a class with __getattr__
    # loses the specialised attribute reads, which cost 90 ns per `await obj.m()`.
    # With the accelerator all but `__dict__` and `__weakref__` are fields of
    # its C base type (the class walk makes these objects in C).
    __slots__ = (
        (
            "__dict__",
            "__qualname__",
            "__weakref__",
            "__wrapped__",
            "_kind",
            "_mode",
            "_smart",
            "_uses",
        )
        if _c is None
        else ("__dict__", "__weakref__")
    )
    if TYPE_CHECKING:
        __wrapped__: Callable[..., Any]
        __qualname__: str
        _kind: Kind
        _mode: Mode | None
        _smart: bool
        _uses: int

    def __init__(
        self,
        fn: Callable[..., Any],
        kind: Kind,
        mode: Mode | None = None,
        smart: bool = False,
    ) -> None:
        self.__wrapped__ = fn
        self._kind = kind
        self._mode = mode
        self._smart = smart
        self._uses = 0
        fn_dict: dict[str, Any] | None
        if type(fn) is FunctionType:  # the common case, without getattr defaults
            self.__qualname__ = fn.__qualname__
            fn_dict = fn.__dict__
        else:
            self.__qualname__ = getattr(fn, "__qualname__", None) or repr(fn)
            fn_dict = getattr(fn, "__dict__", None)
        if fn_dict:  # function attributes, as functools.update_wrapper copies them
            self.__dict__.update(fn_dict)

    def _target(self) -> Callable[..., Any]:
        return self.__wrapped__

    def with_options(self, *, mode: Mode | None = None, smart: bool | None = None) -> DualFunction:
        """A new dual callable for the same function, with another mode or context."""
        cls = DualClassMethod if isinstance(self, DualClassMethod) else DualFunction
        return cls(
            self.__wrapped__,
            self._kind,
            self._mode if mode is None else mode,
            self._smart if smart is None else smart,
        )

    # -- naming: properties, because type.__new__ claims these names ---------
    @property
    def __name__(self) -> str:
        return str(getattr(self.__wrapped__, "__name__", self.__qualname__))

    __doc__ = _DOC

    @property
    def __module__(self) -> str:  # type: ignore[override]
        return getattr(self.__wrapped__, "__module__", None) or "<unknown>"

    @property
    def __signature__(self) -> inspect.Signature:
        return inspect.signature(self.__wrapped__)

    def __repr__(self) -> str:
        return f"<smartasync {self._kind} function {self.__qualname__}>"

    def __reduce__(self) -> tuple[Any, ...]:
        return (_find, (self.__module__, self.__qualname__))

    # -- specialisation -------------------------------------------------------
    _specialized = False

    def _specialize(self) -> None:
        """Swap in a class of this object's own, with exact-signature methods
        and a `__get__` that makes bound objects of a type generated for it.
        Same slots as now, so `__class__` can be assigned in place; two threads
        racing here build equivalent classes, and either one may win."""
        if self._specialized:
            return
        fn = self.__wrapped__
        module = getattr(fn, "__module__", __name__)
        name = getattr(fn, "__name__", "function")
        # inspect.signature() is half the cost of specialising: once, not per variant.
        params = _codegen.signature_parameters(fn, self._kind is CONTEXT_MANAGER)
        bound_call: Callable[..., Any] | None
        bound_call, sync, aio = self._generate(bound=True, params=params)
        if _c is not None:
            # The bound object's `_dual` is a C field, and its calls are the C
            # vectorcall (the generated `__call__` stays the reference, and is
            # kept for a context manager's call, which the C path does not do).
            extra: dict[str, Any] = {}
            if self._kind is not CONTEXT_MANAGER:
                bound_call = None
        else:
            # staticmethod: a DualFunction is itself a descriptor, and read
            # through a bound object it would bind again.
            extra = {"_dual": staticmethod(self)}
        bound_type = _generated_type(
            name,
            DualBound,
            module,
            bound_call,
            sync,
            FlaggedAioDescriptor(aio) if AIO_BY_FLAGS else aio,
            **extra,
            **_forwarded(self.__dict__),
        )
        if _c is not None:
            # Before the swap below: the C `__get__` reads what this stores.
            # (str(): a callable's __qualname__ may be any object; _codegen names it so too)
            _c.arm(self, bound_type, fn, str(self.__qualname__), self._accelerator_flags())
            binder: Any = _c.Function.__dict__["__get__"]  # the C slot, given back
        else:
            binder = self._binder(bound_type, self.__qualname__)
        call, sync, aio = self._generate(bound=False, params=params)
        # The function's own calls in C too, where the generated `__call__`
        # has no receiver to read (a smart class's method called through the
        # class, `Cls.m(obj, x)`, keeps it; so do context managers and class
        # methods, which the C path does not do).
        own_calls_in_c = (
            not self._smart
            and self._kind is not CONTEXT_MANAGER
            and not isinstance(self, DualClassMethod)
        )
        if _c is not None and own_calls_in_c:
            call = _c.Function.__dict__["__call__"]  # the C slot, given back
        self.__class__ = _generated_type(
            name,
            type(self),
            module,
            call,
            staticmethod(sync),  # `f.sync` is the function: see _codegen.build
            FlaggedAioDescriptor(aio) if AIO_BY_FLAGS else staticmethod(aio),
            __get__=binder,
            _specialized=True,
        )
        if _c is not None and own_calls_in_c:
            _c.armed(self)  # its vectorcall, and its new type's flag

    def _accelerator_flags(self) -> int:
        """What the C call must know of this method (see _codegen.build: the
        same choices of template)."""
        assert _c is not None
        flags = _c.CLASSMETHOD if isinstance(self, DualClassMethod) else 0
        if self._smart:
            flags |= _c.SMART
        if self._mode in (None, AUTO):
            flags |= _c.FAST
        if self._kind is COROUTINE:
            flags |= _c.COROUTINE
        return flags

    def _generate(
        self, *, bound: bool, params: list[inspect.Parameter] | None
    ) -> tuple[Callable[..., Any], ...]:
        return _codegen.build(
            self.__wrapped__,
            params,
            bound=bound,
            smart=self._smart,
            fast_path=self._mode in (None, AUTO),
            context_manager=self._kind is CONTEXT_MANAGER,
            coroutine=self._kind is COROUTINE,
            dual=self,
        )

    @staticmethod
    def _binder(bound_type: type[DualBound], qualname: str) -> Callable[..., Any]:
        def __get__(self: DualFunction, obj: object, owner: type | None = None) -> Any:
            if obj is None:
                return self
            bound = _new(bound_type)
            bound.__self__ = obj
            bound.__qualname__ = qualname
            return bound

        return __get__

    # -- until specialised ----------------------------------------------------
    # The first calls go through generic code (GenericBound, GenericSync,
    # GenericAio: the same objects to every tool): compiling the
    # exact-signature functions costs ~100 us a method, more than a method
    # called once or twice (a CLI command, a test) ever gains from them.  The
    # SPECIALISE_AT-th call specialises the method (and turns the bound object
    # it was made on into the generated type, for a kept callback).
    def __get__(self, obj: object, owner: type | None = None) -> Any:
        return self._bind_generic(obj, owner)

    def _bind_generic(self, obj: object, owner: type | None) -> Any:
        return self if obj is None else GenericBound(self, obj)

    # `self` positional-only: a keyword argument named `self` (a function
    # taking **kwargs) must reach the wrapped function, not collide here.
    def __call__(self, /, *args: Any, **kwargs: Any) -> Any:
        if _used(self):
            self._specialize()
        source = args[0] if self._smart and args else None
        try:
            return _generic_call(self, source, caller_frame(1), self.__wrapped__, args, kwargs)
        except BaseException as exc:
            # (this frame, then the user's: _generic_call's goes too)
            raise prune_traceback(exc)  # noqa: B904  (the same exception)

    # Properties until specialised: reading `f.sync` specialises and returns
    # the generated function (a static method of the generated type, which
    # then hides these), so it has the exact signature from the first read.
    @property
    def sync(self) -> Callable[..., Any]:
        self._specialize()
        return self.sync

    @property
    def aio(self) -> Callable[..., Any]:
        self._specialize()
        return self.aio


def member_dual(fn: FunctionType, kind: Kind, fn_dict: dict[str, Any]) -> DualFunction:
    """`DualFunction(fn, kind, None, True)` for a plain function met by the
    class walker (`fn_dict` is its `__dict__`): what `__init__` does, without
    the constructor's call into Python.  The class walk meets every method,
    and 20 methods are budgeted at 20 us."""
    self: Any = _new(DualFunction)
    self.__wrapped__ = fn
    self._kind = kind
    self._mode = None
    self._smart = True
    self._uses = 0
    self.__qualname__ = fn.__qualname__
    if fn_dict:
        self.__dict__.update(fn_dict)
    return self  # type: ignore[no-any-return]


class DualClassMethod(DualFunction):
    """A dual `@classmethod`: binds to the class, whether read through the
    class or an instance; the class's mode applies."""

    __slots__ = ()

    @staticmethod
    def _binder(bound_type: type[DualBound], qualname: str) -> Callable[..., Any]:
        def __get__(self: DualFunction, obj: object, owner: type | None = None) -> Any:
            bound = _new(bound_type)
            bound.__self__ = type(obj) if owner is None else owner
            bound.__qualname__ = qualname
            return bound

        return __get__

    def _bind_generic(self, obj: object, owner: type | None) -> Any:
        return GenericBound(self, type(obj) if owner is None else owner)

    def __repr__(self) -> str:
        return f"<smartasync {self._kind} classmethod {self.__qualname__}>"


class DualBound(_Introspection, _BoundBase):
    """A dual method bound to its object (or class).  Each method gets a
    subclass of its own, generated with the method's exact signature."""

    # __qualname__ is a slot because type.__new__ reserves the name for the
    # class's own qualname: no class-level property can serve instances.
    # `_dual` is a slot for GenericBound (the first uses); a generated type
    # shadows it with a class attribute, and the two share one layout, so a
    # GenericBound can become its method's generated type in place.  With
    # the accelerator all three are the C base type's fields, and `_dual` is
    # set on every bound object.
    __slots__ = ("__qualname__", "__self__", "_dual") if _c is None else ()
    if TYPE_CHECKING:
        __self__: Any
        __qualname__: str

        # A staticmethod-wrapped class attribute at run time (see _specialize).
        # Typed Any: mypy would apply DualFunction.__get__ to a declared type.
        _dual: Any

    __doc__ = _DOC

    def _function(self) -> DualFunction:
        # A method, not a property: mypy applies DualFunction.__get__ to a
        # property's declared type and would see Any.
        dual: DualFunction = self._dual
        return dual

    def _target(self) -> Callable[..., Any]:
        return self._function().__wrapped__

    @property
    def __name__(self) -> str:
        return self._function().__name__

    @property
    def __func__(self) -> DualFunction:
        return self._function()

    @property
    def __wrapped__(self) -> Callable[..., Any]:
        return self._function().__wrapped__

    @property
    def __signature__(self) -> inspect.Signature:
        signature = inspect.signature(self._dual.__wrapped__)
        parameters = list(signature.parameters.values())[1:]
        return signature.replace(parameters=parameters)

    def __new__(cls, func: DualFunction, obj: object) -> DualBound:
        # What `type(meth)(func, obj)` does: rebinding, as weakref.WeakMethod
        # does when called.  (The hot path makes bound objects with
        # object.__new__, which does not come here.)
        if _c is not None:
            bound: DualBound = _c.bind(cls, obj, func.__qualname__, func)
            return bound
        bound = _new(cls)
        bound.__self__ = obj
        bound.__qualname__ = func.__qualname__
        return bound

    @property
    def __dict__(self) -> dict[str, Any]:  # type: ignore[override]
        # A bound method's attributes are its function's (pytest reads them
        # off every method of a test class).
        return self._function().__dict__

    def __get__(self, obj: object, owner: type | None = None) -> DualBound:
        return self  # already bound, like a bound method

    # inspect.ismethod() is `isinstance(x, types.MethodType)`, and isinstance
    # also accepts an object whose `__class__` says so: tools that branch on
    # ismethod() (to read `__func__`/`__self__`, or to drop the receiver from
    # a signature) treat a dual bound method as the method it stands for.
    # `type(x)` stays the generated type.  Nothing on the call path reads
    # `__class__`, so this costs calls nothing.
    @property  # type: ignore[misc]
    def __class__(self) -> type:
        return MethodType

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, DualBound):
            return NotImplemented
        return self._dual is other._dual and self.__self__ is other.__self__

    def __hash__(self) -> int:
        return hash((id(self._dual), id(self.__self__)))

    def __repr__(self) -> str:
        dual = self._dual
        return f"<smartasync bound {dual._kind} method {dual.__qualname__} of {self.__self__!r}>"

    def __reduce__(self) -> tuple[Any, ...]:
        return (getattr, (self.__self__, self._dual.__name__))


# Calls of a dual function through generic code before it is specialised
# (see DualFunction.__get__).
SPECIALISE_AT: Final = 4


def _generic_call(
    dual: DualFunction,
    source: object,
    frame: Any,
    fn: Callable[..., Any],
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
) -> Any:
    """What the generated `__call__` does, with packed arguments."""
    coro = None
    try:
        coro = fn(*args, **kwargs)
        if dual._kind is CONTEXT_MANAGER:
            return dual_context_manager(coro, source)
        return dispatch(dual, source, frame, coro)
    except BaseException as exc:
        raise fail(exc, coro)  # noqa: B904  (smartasync: the same exception, without its frames)


class GenericBound(DualBound):
    # A dual method bound to its object before the method is specialised: the
    # same object to every tool, with generic call code.  (No docstring: the
    # instances' __doc__ is their function's, the property below.)

    __doc__ = _DOC
    __slots__ = ()

    def __new__(cls, func: DualFunction, obj: object) -> GenericBound:
        bound = _new(cls)
        bound.__self__ = obj
        bound.__qualname__ = func.__qualname__
        bound._dual = func
        return bound

    def __call__(self, /, *args: Any, **kwargs: Any) -> Any:
        dual = self._dual
        source = self.__self__
        if _used(dual):
            # Kept and called again and again (a stored callback, `f = obj.m`
            # before a loop): this object becomes the generated type for its
            # next calls (same layout); this call stays generic, since calling
            # through would put a frame between the caller and the rule.
            _set_class(self, type(_specialised(dual, source)))
            if _c is not None:
                _c.armed(self)  # its C vectorcall, as the bound objects made in C have
        try:
            return _generic_call(
                dual, source, caller_frame(1), dual.__wrapped__, (source, *args), kwargs
            )
        except BaseException as exc:
            raise prune_traceback(exc)  # noqa: B904  (as in DualFunction.__call__)

    @property
    def sync(self) -> Callable[..., Any]:
        return GenericSync(self._dual, self.__self__)

    @property
    def aio(self) -> Callable[..., Any]:
        return GenericAio(self._dual, self.__self__)

    def __getattr__(self, name: str) -> Any:
        # The function's attributes, as a bound method reads them (generated
        # bound types have one property per attribute instead: see _forwarded).
        try:
            return self._dual.__dict__[name]
        except KeyError:
            raise AttributeError(
                f"{type(self._dual).__name__!r} object has no attribute {name!r}"
            ) from None


def _used(dual: DualFunction) -> bool:
    """Count one call made through generic code; True once it is time to
    specialise (SPECIALISE_AT calls)."""
    uses = dual._uses = dual._uses + 1
    return uses >= SPECIALISE_AT


_set_class: Final = object.__dict__["__class__"].__set__  # past DualBound's __class__ property


def _specialised(dual: DualFunction, source: object) -> DualBound:
    """A specialised bound object for `source` (specialising `dual` first)."""
    dual._specialize()
    if isinstance(dual, DualClassMethod):
        return dual.__get__(None, source)  # type: ignore[arg-type,no-any-return]
    return dual.__get__(source, type(source))  # type: ignore[no-any-return]


def _marked() -> None: ...


# What inspect.markcoroutinefunction() sets (3.12+; its name for the value
# differs between versions), for objects that are not functions.
_COROUTINE_MARK: Final = getattr(
    getattr(inspect, "markcoroutinefunction", lambda f: f)(_marked), "_is_coroutine_marker", None
)


class _GenericFace:
    # What `.sync` and `.aio` of a method not yet specialised show to
    # `inspect`: the method's signature (a bound method's: the receiver
    # dropped, as DualBound's), doc, names and `__wrapped__`.

    __doc__ = _DOC
    # __qualname__ a slot, as in DualBound: type.__new__ claims the name.
    __slots__ = ("__qualname__", "__self__", "_dual")
    if TYPE_CHECKING:
        __qualname__: str
    _face: str  # "sync" or "aio"

    def __init__(self, dual: DualFunction, obj: object) -> None:
        self._dual = dual
        self.__self__ = obj
        self.__qualname__ = f"{dual.__qualname__}.{self._face}"

    def _target(self) -> Callable[..., Any]:
        return self._dual.__wrapped__

    @property
    def __name__(self) -> str:
        return self._face

    @property
    def __wrapped__(self) -> Callable[..., Any]:
        return self._dual.__wrapped__

    __signature__ = DualBound.__signature__


class GenericSync(_GenericFace):
    # `.sync`: generic call code, what the generated `sync` does.

    __doc__ = _DOC  # (a class statement sets __doc__, hiding the base's property)
    __slots__ = ()
    _face = "sync"

    def __call__(self, /, *args: Any, **kwargs: Any) -> Any:
        dual = self._dual
        obj = self.__self__
        coro = None
        try:
            if _used(dual):
                dual._specialize()  # for the next reads of `obj.m.sync`
            coro = dual.__wrapped__(obj, *args, **kwargs)
            return explicit_sync(dual, obj, coro) if dual._smart else block(dual, coro)
        except BaseException as exc:
            raise fail(exc, coro)  # noqa: B904  (smartasync: the same exception, without its frames)


class GenericAio(_GenericFace, _Introspection):
    # `.aio`: a coroutine function to `inspect`: on 3.12+ by the marker, as
    # the generated `.aio` is; on 3.11 by its `__code__` (see FlaggedAio).

    __doc__ = _DOC
    __slots__ = ()
    _face = "aio"
    _is_coroutine_marker = _COROUTINE_MARK

    def __call__(self, /, *args: Any, **kwargs: Any) -> Any:
        dual = self._dual
        obj = self.__self__
        if _used(dual):
            dual._specialize()  # for the next reads of `obj.m.aio`
        if dual._smart:
            return explicit_aio(dual, obj, dual.__wrapped__(obj, *args, **kwargs))
        return dual.__wrapped__(obj, *args, **kwargs)


def _forwarded(attributes: dict[str, Any]) -> dict[str, property]:
    """A bound method reads its function's attributes (`obj.test_x.pytestmark`,
    a framework's marker): one property per attribute the function has when it
    is specialised, read live from its `__dict__`.  A `__getattr__` would do
    it for any name, but on 3.11 it costs every `await obj.m()` 90 ns (see
    DualFunction)."""
    return {name: property(_reader(name)) for name in attributes if not hasattr(DualBound, name)}


def _reader(name: str) -> Callable[[DualBound], Any]:
    def read(bound: DualBound) -> Any:
        return bound._dual.__dict__[name]

    return read


def _find(module: str, qualname: str) -> Any:
    obj: Any = sys.modules.get(module) or __import__(module, fromlist=["_"])
    for part in qualname.split("."):
        obj = getattr(obj, part)
    return obj


# -- `.aio` as a coroutine function on 3.11 ------------------------------------------
# 3.12+ lets a plain function say it is a coroutine function (the marker of
# `inspect.markcoroutinefunction`).  3.11's `inspect.iscoroutinefunction`
# reads only code flags: of a function's `__code__`, or of any callable that
# looks like a function (`inspect._signature_is_functionlike`: a `__code__`,
# a `__name__`, `__defaults__` and `__kwdefaults__` of the right types), once
# a bound method is unwrapped to its `__func__`.  The generated `aio` is a
# plain `def` (it returns the user's coroutine itself, unwrapped), so there
# `obj.m.aio` is an object of its own whose `__code__` is the `async def`'s:
# Starlette's `BackgroundTask(obj.m.aio, ...)` then awaits it instead of
# running it in a thread.  It costs a `.aio()` call on 3.11 an object and a
# call (~0.4 us); the bare call and `.sync` are untouched.
AIO_BY_FLAGS: Final = not hasattr(inspect, "markcoroutinefunction")


class FlaggedAio(_GenericFace, _Introspection):
    """`.aio` on 3.11: calls the generated `aio` (bound to `__self__`, the
    bound method, unless read off the function itself)."""

    __doc__ = _DOC
    __slots__ = ("_call",)
    _face = "aio"

    def __init__(self, call: Callable[..., Any], dual: DualFunction, bound: object) -> None:
        super().__init__(dual, bound)
        self._call = call

    @property
    def __signature__(self) -> inspect.Signature:
        signature = inspect.signature(self._dual.__wrapped__)
        if self.__self__ is None:  # read off the function: its own parameters
            return signature
        return signature.replace(parameters=list(signature.parameters.values())[1:])

    def __call__(self, /, *args: Any, **kwargs: Any) -> Any:
        bound = self.__self__
        if bound is None:
            return self._call(*args, **kwargs)
        return self._call(bound, *args, **kwargs)

    def __repr__(self) -> str:
        return f"<smartasync .aio of {self._dual.__qualname__}>"


class FlaggedAioDescriptor:
    """Makes the FlaggedAio of the generated `aio` function `fn`: read off a
    bound method (`obj.m.aio`), or off the dual function (`f.aio`)."""

    __slots__ = ("_fn",)

    def __init__(self, fn: Callable[..., Any]) -> None:
        self._fn = fn

    def __get__(self, obj: Any, owner: type | None = None) -> Any:
        if obj is None:
            return self._fn
        if isinstance(obj, DualFunction):
            return FlaggedAio(self._fn, obj, None)
        return FlaggedAio(self._fn, obj._dual, obj)
