"""The mypy plugin: type the bare call of a dual method by who is calling.

Enable it in the mypy configuration::

    [mypy]
    plugins = smartasync.mypy

The rule is the runtime's (DESIGN.md, section 2): `obj.m(...)` inside an
`async def` body (an async generator too; comprehensions and generator
expressions belong to the function they are written in) is the coroutine,
`Coroutine[Any, Any, T]` (an async generator method: the generator,
`AsyncGenerator[Y, None]`); anywhere else (a plain `def`, a lambda even inside
an `async def`, module level, a class body) it is the result `T` (an async
generator method: `Iterator[Y]`).  Modes (`set_mode`, `mode=`) are run-time
only: the types follow this rule.

How:

- Smart classes (`@smartasync` on the class, or `SmartAsync` among the bases,
  directly or not, under any import name) are found during semantic analysis.
  Each `async def` in their body gets the typing-only decorator that
  `@smartasync` has on a function (`smartasync._typing.dual_*`), so the
  method is seen as a generic descriptor with `.sync` and `.aio`; public async
  methods inherited from non-smart bases are given the same type; sync twins
  `__enter__`/`__exit__` and `__iter__`/`__next__` are added where the class
  has none.  What is recorded on a class (`TypeInfo.metadata`) is plain JSON,
  so the incremental cache and dmypy keep it.
- The bare call goes through `__call__` of those descriptors; a method hook
  there reads the scope the checker is in.

The module reads top-down: constants, `plugin()`, the plugin class (its
hooks dispatched by tables), the hooks, the class transformer, helpers on
types, and last the section "mypy internals": everything that touches mypy
beyond the documented plugin interface.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import Final, Literal

from mypy.erasetype import erase_typevars
from mypy.expandtype import expand_type_by_instance, freshen_all_functions_type_vars
from mypy.maptype import map_instance_to_supertype
from mypy.nodes import (
    ARG_NAMED_OPT,
    ARG_POS,
    ARG_STAR2,
    MDEF,
    Argument,
    Block,
    CallExpr,
    Decorator,
    Expression,
    FakeInfo,
    FuncDef,
    Import,
    ImportAll,
    ImportFrom,
    LambdaExpr,
    MemberExpr,
    MypyFile,
    OverloadedFuncDef,
    PassStmt,
    RefExpr,
    Statement,
    SuperExpr,
    SymbolNode,
    SymbolTableNode,
    TempNode,
    TypeInfo,
    Var,
)
from mypy.options import Options
from mypy.plugin import (
    AnalyzeTypeContext,
    AttributeContext,
    CheckerPluginInterface,
    ClassDefContext,
    FunctionContext,
    MethodContext,
    Plugin,
    ReportConfigContext,
    SemanticAnalyzerPluginInterface,
)
from mypy.plugins.common import add_method_to_class
from mypy.semanal_shared import PRIORITY_FALLBACKS
from mypy.traverser import has_yield_expression
from mypy.typeops import bind_self, map_type_from_supertype
from mypy.types import (
    AnyType,
    CallableType,
    ExtraAttrs,
    Instance,
    NoneType,
    Overloaded,
    Parameters,
    Type,
    TypeOfAny,
    TypeType,
    UnboundType,
    UnionType,
    get_proper_type,
)
from mypy.typevars import fill_typevars

from ._protocol import TWINS, is_dunder, is_public_inherited

__all__ = ["SUPPORTED_MYPY", "SmartAsyncPlugin", "plugin"]

# -- constants ----------------------------------------------------------------

# mypy versions this plugin supports: (first, first unsupported).  The whole
# typing corpus passes on 1.20.2 and 2.4.1 (tests/test_mypy_plugin.py; the one
# difference is mypy's own: 1.20 files "Too many positional arguments" under
# [misc]).  mypy 1.11 reports valid overrides of dual methods as incompatible
# (it compares the descriptors' ParamSpecs, receiver included, invariantly);
# 1.12 to 1.19 are untested.
SUPPORTED_MYPY: Final = ((1, 20), (3, 0))

METADATA_KEY: Final = "smartasync"

# smartasync's own names.
SMARTASYNC_DECORATOR: Final = "smartasync._api.smartasync"
ASYNC_ONLY_DECORATOR: Final = "smartasync._api.async_only"
DECORATOR_FACTORY_CALL: Final = "smartasync._typing.ModeDecorator.__call__"
SMART_BASE: Final = "smartasync._class.SmartAsync"
TYPING_MODULE: Final = "smartasync._typing"
DUAL_COROUTINE: Final = "smartasync._typing.dual_coroutine"
DUAL_GENERATOR: Final = "smartasync._typing.dual_generator"
DUAL_CONTEXT_MANAGER: Final = "smartasync._typing.dual_context_manager"
DUAL_CLASSMETHOD: Final = "smartasync._typing.dual_classmethod"
DUAL_STATICMETHOD: Final = "smartasync._typing.dual_staticmethod"
DUAL_GENERATOR_CLASSMETHOD: Final = "smartasync._typing.dual_generator_classmethod"
DUAL_GENERATOR_STATICMETHOD: Final = "smartasync._typing.dual_generator_staticmethod"
DUAL_FUNCTION: Final = "smartasync._typing.DualFunction"
DUAL_OVERLOAD: Final = "smartasync.mypy.dual_overload"  # a name for a hook, not a function
DUAL_GEN_FUNCTION: Final = "smartasync._typing.DualGenFunction"
DUAL_CONTEXT_MANAGER_TYPE: Final = "smartasync._typing.DualContextManager"
DUAL_PROPERTY: Final = "smartasync._typing.DualProperty"
# The facades' coroutine face, `types.CoroutineType` to other checkers (what
# they infer for an `async def`).  mypy infers `typing.Coroutine`, the one
# class its unused-coroutine check knows (an unused CoroutineType is only
# `unused-awaitable`, off by default): the plugin reads the alias as that.
# Not a method hook on `.aio` (a `.aio` read as a value would keep the
# CoroutineType), nor a `MYPY` condition in the .pyi (pyright reads both
# branches and makes the face a union of the two).
COROUTINE_FACE: Final = "smartasync._typing._CoroutineFace"
# The names of `.sync` / `.aio` of an overloaded dual method (its items' names,
# which mypy shows in errors and asks a method hook for).
OVERLOAD_SYNC: Final = "sync of DualBound"
OVERLOAD_AIO: Final = "aio of DualBound"

# The standard library's.
ASYNC_GENERATOR_CM: Final = "contextlib._AsyncGeneratorContextManager"
ASYNCCONTEXTMANAGER: Final = "contextlib.asynccontextmanager"
COROUTINE: Final = "typing.Coroutine"
ITERATOR: Final = "typing.Iterator"
ASYNC_ITERATOR: Final = "typing.AsyncIterator"
ASYNC_ITERABLE: Final = "typing.AsyncIterable"
ASYNC_GENERATOR: Final = "typing.AsyncGenerator"

# The facades whose bare call the caller decides (their subclasses
# SyncFirst*/AsyncFirst* declare a fixed `__call__` of their own).
COROUTINE_CALLS: Final = tuple(
    f"smartasync._typing.{name}.__call__"
    for name in ("DualBound", "DualFunction", "DualClassMethod", "DualStaticMethod")
)
GENERATOR_CALLS: Final = tuple(
    f"smartasync._typing.{name}.__call__"
    for name in ("DualGenBound", "DualGenFunction", "DualGenClassMethod", "DualGenStaticMethod")
)

# What `@smartasync` gives a function, and what it must give a class or
# static method instead (both are methods to mypy, told apart by flags).
BINDING_FACADES: Final = {
    "smartasync._typing.DualFunction": (
        "smartasync._typing.DualClassMethod",
        "smartasync._typing.DualStaticMethod",
    ),
    "smartasync._typing.DualGenFunction": (
        "smartasync._typing.DualGenClassMethod",
        "smartasync._typing.DualGenStaticMethod",
    ),
}

# Facades of an async generator method.
GENERATOR_FACADE_NAMES: Final = frozenset(
    f"smartasync._typing.{name}"
    for name in ("DualGenBound", "DualGenFunction", "DualGenClassMethod", "DualGenStaticMethod")
)

# Facades of a dual method read through an instance or a class.
BOUND_FACADES: Final = frozenset(
    f"smartasync._typing.{name}"
    for name in (
        "DualBound",
        "DualGenBound",
        "DualFunction",
        "DualGenFunction",
        "DualClassMethod",
        "DualGenClassMethod",
        "DualStaticMethod",
        "DualGenStaticMethod",
    )
)

# What the plugin made of a user's name, for the hooks asked by fullname.
_Kind = Literal[
    "overloaded dual method",
    "overloaded dual function",
    "inherited plain async method",
    "dual method",
    "async property",
    "smart class",
]


# -- the entry point ----------------------------------------------------------


def plugin(version: str) -> type[Plugin]:
    """mypy's entry point: the plugin class for this mypy `version`.

    Raises:
        RuntimeError: this mypy version is outside the supported range.
    """
    low, high = SUPPORTED_MYPY
    if not low <= _version_tuple(version) < high:
        raise RuntimeError(
            f"smartasync.mypy supports mypy {_supported_text()}, but this is mypy {version}. "
            f"Install a supported mypy, or remove `smartasync.mypy` from `plugins`."
        )
    return SmartAsyncPlugin


def _fingerprint() -> str:
    """smartasync's version and a hash of the plugin's own sources: this
    module and the smartasync modules it imports."""
    from . import __version__, _protocol

    digest = hashlib.sha256()
    for source in (__file__, _protocol.__file__):
        digest.update(Path(source).read_bytes())
    return f"{__version__}:{digest.hexdigest()}"


def _version_tuple(version: str) -> tuple[int, int]:
    parts = []
    for piece in version.split("+")[0].split(".")[:2]:
        digits = "".join(ch for ch in piece if ch.isdigit())
        parts.append(int(digits or 0))
    while len(parts) < 2:
        parts.append(0)
    return parts[0], parts[1]


def _supported_text() -> str:
    (low_major, low_minor), (high_major, high_minor) = SUPPORTED_MYPY
    return f">= {low_major}.{low_minor}, < {high_major}.{high_minor}"


# -- the plugin ---------------------------------------------------------------


class SmartAsyncPlugin(Plugin):
    """Types the bare call of smartasync's dual methods by the calling scope.

    mypy asks for each hook by a fullname, and with several plugins the first
    one to answer wins: answer only for names that are ours, so that other
    plugins (pydantic, attrs, ...) keep theirs.  smartasync's own names are
    looked up in the tables by fullname; a user's class or method is first
    told apart by what the plugin made of it (`_kind`), then looked up."""

    def __init__(self, options: Options) -> None:
        super().__init__(options)
        self._config_data = {"smartasync": _fingerprint()}
        self._function_hooks: dict[str, Callable[[FunctionContext], Type]] = {
            SMARTASYNC_DECORATOR: self._decoration,
            DUAL_OVERLOAD: _overload_item,
        }
        self._method_hooks: dict[str, Callable[[MethodContext], Type]] = {
            DECORATOR_FACTORY_CALL: self._decoration,
            **dict.fromkeys(COROUTINE_CALLS, _bare_coroutine_call),
            **dict.fromkeys(GENERATOR_CALLS, _bare_generator_call),
            OVERLOAD_SYNC: _overloaded_sync_call,
            OVERLOAD_AIO: _overloaded_aio_call,
        }
        self._type_analyze_hooks: dict[str, Callable[[AnalyzeTypeContext], Type]] = {
            COROUTINE_FACE: _coroutine_face,
        }
        self._class_decorator_hooks: dict[str, Callable[[ClassDefContext], None]] = {
            SMARTASYNC_DECORATOR: _smart_class_decorator,
        }
        self._function_hooks_by_kind: dict[_Kind, Callable[[FunctionContext], Type]] = {
            "overloaded dual function": _overloaded_bare_call,
        }
        self._method_hooks_by_kind: dict[_Kind, Callable[[MethodContext], Type]] = {
            "overloaded dual method": _overloaded_bare_call,
            "inherited plain async method": _inherited_bare_call,
        }
        self._attribute_hooks_by_kind: dict[_Kind, Callable[[AttributeContext], Type]] = {
            "dual method": _method_face,
            "async property": _property_read,
        }
        self._class_attribute_hooks_by_kind: dict[_Kind, Callable[[AttributeContext], Type]] = {
            "dual method": _method_face,
            "async property": self._property_object,
        }
        self._base_class_hooks_by_kind: dict[_Kind, Callable[[ClassDefContext], None]] = {
            "smart class": _smart_base,
        }

    # -- what mypy asks for

    def get_function_hook(self, fullname: str) -> Callable[[FunctionContext], Type] | None:
        hook = self._function_hooks.get(fullname)
        if hook is not None:
            return hook
        kind = self._function_kind(fullname)
        return None if kind is None else self._function_hooks_by_kind.get(kind)

    def get_method_hook(self, fullname: str) -> Callable[[MethodContext], Type] | None:
        hook = self._method_hooks.get(fullname)
        if hook is not None:
            return hook
        kind = self._method_kind(fullname)
        return None if kind is None else self._method_hooks_by_kind.get(kind)

    def get_attribute_hook(self, fullname: str) -> Callable[[AttributeContext], Type] | None:
        kind = self._attribute_kind(fullname)
        return None if kind is None else self._attribute_hooks_by_kind.get(kind)

    def get_class_attribute_hook(self, fullname: str) -> Callable[[AttributeContext], Type] | None:
        kind = self._attribute_kind(fullname)
        return None if kind is None else self._class_attribute_hooks_by_kind.get(kind)

    def get_type_analyze_hook(self, fullname: str) -> Callable[[AnalyzeTypeContext], Type] | None:
        return self._type_analyze_hooks.get(fullname)

    def get_class_decorator_hook(self, fullname: str) -> Callable[[ClassDefContext], None] | None:
        return self._class_decorator_hooks.get(fullname)

    def get_base_class_hook(self, fullname: str) -> Callable[[ClassDefContext], None] | None:
        kind = self._base_class_kind(fullname)
        return None if kind is None else self._base_class_hooks_by_kind.get(kind)

    def report_config_data(self, ctx: ReportConfigContext) -> dict[str, str]:
        # Kept in each module's cache entry: a different answer rechecks it.
        # mypy itself notices an edit of this file only (by its hash); the
        # plugin's rules also live in the modules it imports, and a new
        # smartasync may bring new facades.
        return self._config_data

    def get_additional_deps(self, file: MypyFile) -> list[tuple[int, str, int]]:
        # The facades must be loaded wherever smartasync is used; only there,
        # so that no module below smartasync (builtins, typing) depends on it.
        for node in file.imports:
            if isinstance(node, Import):
                names = [name for name, _ in node.ids]
            elif isinstance(node, (ImportFrom, ImportAll)):
                names = [node.id]
            else:
                continue
            if any(name == "smartasync" or name.startswith("smartasync.") for name in names):
                return [(10, TYPING_MODULE, -1)]
        return []

    # -- telling a user's names apart

    def _method_kind(self, fullname: str) -> _Kind | None:
        """`Cls.m` called: an overloaded dual method, or a public `async def`
        that a smart class inherits from a class that is not smart."""
        owner, _, name = fullname.rpartition(".")
        info = self._lookup_info(owner) if owner else None
        symbol = info.get(name) if info is not None else None
        node = symbol.node if symbol is not None else None
        if isinstance(node, OverloadedFuncDef) and node.info is not None:
            if name in node.info.metadata.get(METADATA_KEY, {}).get("overloads", ()):
                return "overloaded dual method"
        # One that the class could not be given a dual type for (a class or
        # static method; one with a decorator, whose type a base in the same
        # module has only at type checking): its bare calls are typed by a
        # method hook instead (mypy names the call by the receiver's class).
        if info is None or not is_public_inherited(name) or not _is_smart(info):
            return None
        func = node.func if isinstance(node, Decorator) else node
        if isinstance(func, FuncDef) and not _is_smart(func.info) and func.is_coroutine:
            return "inherited plain async method"
        return None

    def _function_kind(self, fullname: str) -> _Kind | None:
        """`f` called: an overloaded module-level function whose
        implementation is decorated with `@smartasync`.  Told by its type
        (`.sync` on the first overload, put there by `_dual_overloads`),
        which the incremental cache keeps."""
        symbol = self.lookup_fully_qualified(fullname) if "." in fullname else None
        node = symbol.node if symbol is not None else None
        if not isinstance(node, OverloadedFuncDef) or not isinstance(node.type, Overloaded):
            return None
        extra = node.type.items[0].fallback.extra_attrs
        if extra is not None and "sync" in extra.attrs:
            return "overloaded dual function"
        return None

    def _attribute_kind(self, fullname: str) -> _Kind | None:
        # Told by the attribute's type, which the incremental cache keeps
        # (decorator lists it does not).
        owner, _, name = fullname.rpartition(".")
        info = self._lookup_info(owner) if owner else None
        symbol = info.get(name) if info is not None else None
        node = symbol.node if symbol is not None else None
        if _async_property_getter(node) is not None:
            # (A plain class's public one may be inherited by a smart class:
            # the hook looks at the receiver.)
            assert info is not None
            return "async property" if _is_smart(info) or is_public_inherited(name) else None
        if isinstance(node, Decorator):
            node = node.var
        if not isinstance(node, Var):
            return None
        typ = get_proper_type(node.type)
        if isinstance(typ, Instance) and typ.type.fullname in BOUND_FACADES:
            return "dual method"
        return None

    def _base_class_kind(self, fullname: str) -> _Kind | None:
        # Any smart base: SmartAsync, an indirect subclass of it, a class
        # decorated with @smartasync, under whatever name it was imported.
        if fullname == SMART_BASE:
            return "smart class"
        info = self._lookup_info(fullname)
        return "smart class" if info is not None and _is_smart(info) else None

    def _lookup_info(self, fullname: str) -> TypeInfo | None:
        symbol = self.lookup_fully_qualified(fullname)
        node = symbol.node if symbol is not None else None
        return node if isinstance(node, TypeInfo) else None

    def _decoration(self, ctx: FunctionContext | MethodContext) -> Type:
        """`@smartasync` (or `@smartasync(mode=...)`) applied to a function.

        On the implementation of an overloaded module-level function, the
        overloads are made dual too (the runtime's object is the decorated
        implementation, so every overload is called through it)."""
        overloaded = self._overloads_implemented_by(ctx.context)
        if overloaded is not None:
            _dual_overloads(ctx.api, overloaded)
        return _retype_for_binding(ctx.default_return_type, ctx.context, self._lookup_info)

    def _property_object(self, ctx: AttributeContext) -> Type:
        """`Cls.prop` for an async property of a smart class: the property
        object, `DualProperty[Cls, T]`, whose `.sync(obj)` and `.aio(obj)`
        are the explicit forms (exact on every checker: stubs declare the
        same facade; a cached property's too).  An async generator getter has
        no facade: left as mypy reads it."""
        default = ctx.default_attr_type
        receiver = _class_receiver(ctx.type)
        found = _dual_property(receiver, ctx.context)
        facade = self._lookup_info(DUAL_PROPERTY)
        if ctx.is_lvalue or found is None or facade is None or receiver is None:
            return default
        getter, _ = found
        signature = get_proper_type(getter.type)
        if getter.is_async_generator or not isinstance(signature, CallableType):
            return default
        bound = _solve_for_receiver(
            signature, receiver, getter.info, bind=True, is_classmethod=False
        )
        faced = Instance(facade, [receiver, _unwrap_coroutine(bound.ret_type)])
        # Through the class, its own type variables are unknown (`Box.item`).
        return erase_typevars(faced, {tv.id for tv in receiver.type.defn.type_vars})

    def _overloads_implemented_by(self, context: object) -> OverloadedFuncDef | None:
        if not isinstance(context, Decorator) or not isinstance(context.func.info, FakeInfo):
            return None  # not a module-level function (a method's class makes it dual)
        symbol = self.lookup_fully_qualified(context.func.fullname)
        node = symbol.node if symbol is not None else None
        if isinstance(node, OverloadedFuncDef) and node.impl is context:
            return node
        return None


# -- hooks: the coroutine face ------------------------------------------------


def _coroutine_face(ctx: AnalyzeTypeContext) -> Type:
    """`_CoroutineFace[T]` in the facades: mypy's `Coroutine[Any, Any, T]`."""
    any_type = AnyType(TypeOfAny.special_form)
    results = [ctx.api.analyze_type(arg) for arg in ctx.type.args] or [any_type]
    return ctx.api.named_type(COROUTINE, [any_type, any_type, results[-1]])


# -- hooks: the bare call -----------------------------------------------------
# Called through the facades' `__call__` (a function decorated with
# `@smartasync`, a dual method stored as a value), or through the method
# itself when mypy types the call from its own signature.


def _bare_coroutine_call(ctx: MethodContext) -> Type:
    result = _result_arg(ctx)
    if _caller_is_async(ctx.api):
        any_type = AnyType(TypeOfAny.special_form)
        return ctx.api.named_generic_type(COROUTINE, [any_type, any_type, result])
    return result


def _bare_generator_call(ctx: MethodContext) -> Type:
    item = _result_arg(ctx)
    if _caller_is_async(ctx.api):  # the async generator object itself
        return ctx.api.named_generic_type(ASYNC_GENERATOR, [item, NoneType()])
    return ctx.api.named_generic_type(ITERATOR, [item])


def _overloaded_bare_call(ctx: FunctionContext | MethodContext) -> Type:
    """The bare call of an overloaded dual method or function, after mypy
    chose the overload."""
    if _caller_is_async(ctx.api):
        return ctx.default_return_type
    return _unwrap_coroutine(ctx.default_return_type)


def _inherited_bare_call(ctx: MethodContext) -> Type:
    """The bare call of a plain base's `async def` through a smart class."""
    receiver = get_proper_type(ctx.type)
    if isinstance(receiver, TypeType):
        receiver = receiver.item
    if not isinstance(receiver, Instance) or not _is_smart(receiver.type):
        return ctx.default_return_type
    if _caller_is_async(ctx.api):
        return ctx.default_return_type
    item = _async_item(ctx.default_return_type)
    if item is not None:
        return ctx.api.named_generic_type(ITERATOR, [item])
    return _unwrap_coroutine(ctx.default_return_type)


# -- hooks: a dual method read from an instance or a class --------------------


def _method_face(ctx: AttributeContext) -> Type:
    """`obj.m` or `Cls.m` for a dual method.

    Called right here (`obj.m(...)`): a callable with the method's own
    signature (its type variables solved at this call, `Self` solved for this
    receiver, errors naming `"m" of "Cls"`) whose result is the face of the
    calling code, with `.sync` / `.aio` and the facade's attributes on it.

    Read as a value (`m = obj.m`, `f(obj.m)`): the facade, as without this
    hook (re-solved for this receiver), so the bare call of a stored method
    is decided where it is made.  As a value a dual method is called later
    by whoever receives it, and at run time that caller decides (DESIGN.md,
    section 2): a sync callee gets the result, an async one the awaitable,
    and the framework exceptions (`asyncio.to_thread(obj.m)` in async code
    gets the result, `trio.run(obj.m)` in sync code the awaitable) cut
    across the reading code's kind.  Neither face of the reading code nor
    both (an overload: mypy infers generic callables from its first item)
    types those right, so the facade's `__call__` stays `Any` and wrong
    callables are caught only in the explicit spelling (`obj.m.sync`,
    `obj.m.aio`), which is exact.  A method generic in its own type
    variables is the exception: the facade cannot carry them, so it is
    given the face of the reading code."""
    default = ctx.default_attr_type
    facade = get_proper_type(default)
    context = ctx.context
    if not isinstance(facade, Instance) or facade.type.fullname not in BOUND_FACADES:
        return default
    if not isinstance(context, MemberExpr):
        return default
    through_class = False
    receiver = get_proper_type(ctx.type)
    if isinstance(receiver, TypeType):
        receiver, through_class = receiver.item, True
    elif isinstance(receiver, CallableType) and receiver.is_type_obj():
        receiver, through_class = get_proper_type(receiver.ret_type), True
    receiver = get_proper_type(receiver)
    if not isinstance(receiver, Instance):
        return default
    symbol = receiver.type.get(context.name)
    node = symbol.node if symbol is not None else None
    declared = _declared_method(node)
    if declared is None:
        return default
    signature, is_class, is_static, generator = declared
    owner = node.info if isinstance(node, Var) else node.func.info  # type: ignore[union-attr]
    signature = _solve_for_receiver(
        signature,
        receiver,
        owner,
        bind=not is_static and (is_class or not through_class),
        is_classmethod=is_class,
    )
    if _read_for_later(ctx.api) and not signature.variables:
        # Stored for later (`m = obj.m`): keep the facade, whose bare call
        # the caller decides when it is made.
        parameters = Parameters(signature.arg_types, signature.arg_kinds, signature.arg_names)
        return facade.copy_modified(args=[parameters, signature.ret_type])
    return _faced(ctx.api, signature, generator, facade.type, _caller_is_async(ctx.api))


# -- hooks: async properties ---------------------------------------------------


def _property_read(ctx: AttributeContext) -> Type:
    """`obj.prop` for an async property of a smart class, typed as the runtime
    reads it (DESIGN.md, section 2, as for a call): by the reading code.  In an
    `async def` (a comprehension there too) the awaitable, as mypy reads an
    `async def` getter: `Coroutine[Any, Any, T]` (an async generator getter:
    the async iterator); anywhere else (a plain def, a lambda, module level,
    a class body) the value `T` (`Iterator[Y]`).  A cached property reads the
    same (its value is cached, an async reader still awaits it).  Modes are
    run-time only, as for calls.  Assignments and deletions are left to the
    setter and deleter."""
    default = ctx.default_attr_type
    receiver = get_proper_type(ctx.type)
    if ctx.is_lvalue or not isinstance(receiver, Instance):
        return default
    if _dual_property(receiver, ctx.context) is None or _caller_is_async(ctx.api):
        return default
    item = _async_item(default)
    if item is not None:
        return ctx.api.named_generic_type(ITERATOR, [item])
    return _unwrap_coroutine(default)


def _async_property_getter(node: object) -> tuple[FuncDef, bool] | None:
    """The getter of a property (`@property`, `functools.cached_property`)
    over an `async def`, and whether it is a cached property; None for
    anything else.  Told by flags the incremental cache keeps."""
    if isinstance(node, OverloadedFuncDef) and node.is_property and node.items:
        getter = node.items[0]  # a property with a setter or a deleter
        if isinstance(getter, Decorator) and getter.func.is_coroutine:
            return getter.func, False
        return None
    if not isinstance(node, Decorator) or not node.var.is_property or not node.func.is_coroutine:
        return None
    # Alone, a getter that mypy calls settable is a cached property (a
    # property's setter makes an OverloadedFuncDef of the two).
    return node.func, node.var.is_settable_property


def _dual_property(receiver: Instance | None, context: object) -> tuple[FuncDef, bool] | None:
    """The async property named by `context` (`obj.prop`, `super().prop`)
    when it is dual for `receiver`: the runtime's class walk makes the
    class's own, and the public ones inherited from a class that is not
    smart."""
    name = context.name if isinstance(context, MemberExpr | SuperExpr) else None
    if receiver is None or name is None or not _is_smart(receiver.type):
        return None
    symbol = receiver.type.get(name)
    found = _async_property_getter(symbol.node if symbol is not None else None)
    if found is None or not (_is_smart(found[0].info) or is_public_inherited(name)):
        return None
    return found


def _class_receiver(typ: Type) -> Instance | None:
    """The instance type of a class read from: `Cls` or `type[Cls]`."""
    proper = get_proper_type(typ)
    if isinstance(proper, TypeType):
        proper = get_proper_type(proper.item)
    elif isinstance(proper, CallableType) and proper.is_type_obj():
        proper = get_proper_type(proper.ret_type)
    return proper if isinstance(proper, Instance) else None


def _declared_method(node: object) -> tuple[CallableType, bool, bool, bool] | None:
    """A dual method's declared signature, its result type as the return
    (T, or Y for an async generator), and whether it is a class method, a
    static method, an async generator; None when it cannot be read."""
    if isinstance(node, Decorator):
        func = node.func
        signature = get_proper_type(func.type)
        if not isinstance(signature, CallableType) or not _is_analyzed(func):
            return None
        facade = get_proper_type(node.var.type)
        generator = isinstance(facade, Instance) and facade.type.fullname in GENERATOR_FACADE_NAMES
        item = _async_item(signature.ret_type) if generator else None
        result = item if item is not None else _unwrap_coroutine(signature.ret_type)
        return signature.copy_modified(ret_type=result), func.is_class, func.is_static, generator
    if isinstance(node, Var):  # inherited from a plain base: DualFunction[P, T]
        facade = get_proper_type(node.type)
        if not isinstance(facade, Instance) or len(facade.args) != 2:
            return None
        parameters = get_proper_type(facade.args[0])
        if not isinstance(parameters, Parameters):
            return None
        signature = CallableType(
            parameters.arg_types,
            parameters.arg_kinds,
            parameters.arg_names,
            facade.args[1],
            Instance(facade.type.mro[-1], []),  # replaced by _faced
            name=node.name,
            variables=parameters.variables,
        )
        generator = facade.type.fullname in GENERATOR_FACADE_NAMES
        return signature, False, False, generator
    return None


def _faced(
    api: CheckerPluginInterface,
    signature: CallableType,
    generator: bool,
    facade: TypeInfo,
    in_async: bool,
) -> CallableType:
    """`signature` (returning the result) as a dual callable read in sync or
    async code: the bare call's face, `.sync` and `.aio` as attributes."""
    any_type = AnyType(TypeOfAny.special_form)
    sync_ret: Type
    if generator:
        sync_ret = api.named_generic_type(ITERATOR, [signature.ret_type])
        aio_ret = api.named_generic_type(ASYNC_GENERATOR, [signature.ret_type, NoneType()])
    else:
        sync_ret = signature.ret_type
        aio_ret = api.named_generic_type(COROUTINE, [any_type, any_type, signature.ret_type])
    # Named as the facade's methods are, so that `.sync`/`.aio` errors read
    # the same with the plugin and without it.
    attrs: dict[str, Type] = {}
    for base in reversed(facade.mro):
        for name, symbol in base.names.items():
            if isinstance(symbol.node, Var) and symbol.node.type is not None:
                attrs[name] = symbol.node.type
    function = api.named_generic_type("builtins.function", [])
    plain = signature.copy_modified(fallback=function)
    attrs["sync"] = plain.copy_modified(ret_type=sync_ret, name=f"sync of {facade.name}")
    attrs["aio"] = plain.copy_modified(ret_type=aio_ret, name=f"aio of {facade.name}")
    return signature.copy_modified(
        ret_type=aio_ret if in_async else sync_ret,
        fallback=_with_attributes(function, attrs),
        definition=None,
    )


# An overloaded dual method read from an instance as a value (`f = repo.find`,
# `apply(repo.find)`) keeps mypy's own type, the overload of coroutine faces,
# and no plugin hook can change it.  mypy asks plugins about a member read
# only when the member is a variable (a Var, or a Decorator's var): for a
# FuncDef or an OverloadedFuncDef, `checkmember.analyze_instance_member_access`
# returns `method.type`, bound to the receiver, and asks no hook (mypy 2.4.1,
# mypy/checkmember.py lines 346-385; the attribute hook is asked only in
# `analyze_member_var_access` and `analyze_var`, lines 601 and 926), as
# `Plugin.get_attribute_hook` says: "only called for names of
# fields/properties (but not methods)" (mypy/plugin.py lines 696-697).  A
# dual method that is not overloaded reaches `_method_face` because the
# plugin decorates it (mypy reads a Decorator's var); a read through the
# class (`Repo.find`) does ask the class attribute hook, for methods too
# (`apply_class_attr_hook`, checkmember.py line 1333), but an unbound
# overload is not what a callback is given.  Rejected:
# - the class's symbol replaced by a Decorator or a Var in semantic analysis,
#   so that the hook is asked: the overload's type exists only once the
#   checker has typed its decorated items (`_overload_item`; a read before
#   then defers on `method.type is None`, checkmember.py line 364), and the
#   checker's override and overload checks, the incremental cache and the
#   error messages ("find" of "Repo") read that symbol as the
#   OverloadedFuncDef;
# - a function hook for a later call of the stored value: mypy asks for it by
#   the callee's name (`callable_name = callee.name`, mypy/checkexpr.py line
#   1700), "find of Repo", which names no module and is not the plugin's own
#   (a plain class's overloaded `async def` has the same kind of name);
# - the items' results widened to Any, as the facade's `__call__` is: the
#   bare call's hook (`_overloaded_bare_call`) reads the chosen item's result.
# The exact spelling as a value is `repo.find.sync` / `repo.find.aio`, typed
# with every overload (case_plugin_overloads.py).


def _overload_item(ctx: FunctionContext) -> Type:
    """One overload item of a dual method, decorated (type checking): as it
    is, and on the first item (whose fallback is the whole overload's) the
    `.sync` / `.aio` attributes with every overload."""
    decorator = ctx.context
    default = ctx.default_return_type
    if not isinstance(decorator, Decorator) or not ctx.arg_types or not ctx.arg_types[0]:
        return default
    signature = get_proper_type(ctx.arg_types[0][0])
    if not isinstance(signature, CallableType):
        return default
    func = decorator.func
    symbol = func.info.get(func.name) if not isinstance(func.info, FakeInfo) else None
    overloaded = symbol.node if symbol is not None else None
    if not isinstance(overloaded, OverloadedFuncDef) or overloaded.items[0] is not decorator:
        return signature
    items = []
    for item in overloaded.items:
        typ = get_proper_type(item.func.type) if isinstance(item, Decorator) else None
        if not isinstance(typ, CallableType):
            return signature
        # Bound to the class's own instance type, its type variables Any:
        # attributes on a callable are not re-bound per receiver by mypy, so
        # the call's own hook (`_overloaded_face_call`) checks the call again
        # against the overload as read through the receiver.
        if not func.is_static and typ.arg_types:
            typ = _bind_receiver(typ, fill_typevars(func.info), func.is_class)
        items.append(_erase_class_type_vars(typ, func.info))
    return signature.copy_modified(fallback=_overload_faces(ctx.api, items))


def _overload_faces(api: CheckerPluginInterface, items: list[CallableType]) -> Instance:
    """`builtins.function` with `.sync` / `.aio` as overloads of `items`
    (their results T and `Coroutine[Any, Any, T]`): the fallback of the
    first overload, which mypy reads attributes of the whole overload from."""
    any_type = AnyType(TypeOfAny.special_form)
    function = api.named_generic_type("builtins.function", [])
    attrs: dict[str, Type] = {}
    for face, name in ((False, "sync"), (True, "aio")):
        faced = []
        for typ in items:
            result = _unwrap_coroutine(typ.ret_type)
            ret = (
                api.named_generic_type(COROUTINE, [any_type, any_type, result]) if face else result
            )
            faced.append(
                typ.copy_modified(
                    ret_type=ret,
                    fallback=function,
                    name=OVERLOAD_AIO if face else OVERLOAD_SYNC,
                    definition=None,
                )
            )
        attrs[name] = Overloaded(faced)
    return _with_attributes(function, attrs)


def _dual_overloads(api: CheckerPluginInterface, overloaded: OverloadedFuncDef) -> None:
    """Overloads of a module-level `async def` whose implementation has
    `@smartasync`: `.sync` / `.aio` with every overload on the first one.

    Run while the implementation's decorator is checked: mypy's checker
    (`_visit_overloaded_func_def`, an order this relies on) has typed the
    overload items just before, and builds the overload's type from them
    just after (or built it in semantic analysis: then it is replaced).
    Code checked earlier (above the definition, or in an import cycle) sees
    the plain overloads.  The
    bare call is typed by a function hook (`_overloaded_bare_call`)."""
    items = []
    for item in overloaded.items:
        if not isinstance(item, Decorator) or not item.func.is_coroutine:
            return
        typ = get_proper_type(item.var.type)
        if not isinstance(typ, CallableType):
            return
        items.append(typ)
    impl = overloaded.impl
    if not items or not isinstance(impl, Decorator) or _is_async_generator(impl.func):
        return  # (an async generator's overloads are plain `def`s: left as they are)
    first = items[0].copy_modified(fallback=_overload_faces(api, items))
    head = overloaded.items[0]
    assert isinstance(head, Decorator)
    head.var.type = first
    if isinstance(overloaded.type, Overloaded):
        overloaded.type = Overloaded([first, *overloaded.type.items[1:]])


def _overloaded_sync_call(ctx: MethodContext) -> Type:
    return _overloaded_face_call(ctx, in_async=False)


def _overloaded_aio_call(ctx: MethodContext) -> Type:
    return _overloaded_face_call(ctx, in_async=True)


def _overloaded_face_call(ctx: MethodContext, in_async: bool) -> Type:
    """`obj.m.sync(...)` / `obj.m.aio(...)` of an overloaded dual method.

    `ctx.type` is `obj.m` as mypy read it through this receiver: every
    overload with the class's type variables mapped (`Store[str, Product]`)
    and `Self` solved.  The call is checked again against it, so errors and
    the result are the receiver's; the attribute's own items (bound to the
    defining class, its type variables Any) only let the call through."""
    overloaded = get_proper_type(ctx.type)
    call = ctx.context
    if not isinstance(overloaded, Overloaded) or not isinstance(call, CallExpr):
        return ctx.default_return_type  # `.sync` of a method that is not overloaded
    result = _unwrap_coroutine(_check_call(ctx.api, overloaded, call))
    if in_async:
        any_type = AnyType(TypeOfAny.special_form)
        return ctx.api.named_generic_type(COROUTINE, [any_type, any_type, result])
    return result


# -- hooks: decoration --------------------------------------------------------


def _retype_for_binding(
    ret: Type, context: object, lookup: Callable[[str], TypeInfo | None]
) -> Type:
    """`@smartasync` over a `@classmethod` or `@staticmethod`: the facade that
    binds like one.  `context` is the Decorator node when the call is a
    decoration (mypy passes it as the call's context)."""
    if not isinstance(context, Decorator):
        return ret
    func = context.func
    proper = get_proper_type(ret)
    if not (func.is_class or func.is_static) or not isinstance(proper, Instance):
        return ret
    facades = BINDING_FACADES.get(proper.type.fullname)
    if facades is None:
        return ret
    info = lookup(facades[0] if func.is_class else facades[1])
    return ret if info is None else Instance(info, proper.args)


def _smart_class_decorator(ctx: ClassDefContext) -> None:
    _ClassTransformer(ctx).transform(_mode_argument(ctx))
    info = ctx.cls.info
    # (Not on a Protocol: a method without a body would be abstract there.)
    if "__init_subclass__" not in info.names and not info.is_protocol:
        # At run time the decorator installs a hook that accepts `mode=` as a
        # class keyword in subclasses, as the SmartAsync base does.
        mode = UnionType([ctx.api.named_type("builtins.str"), NoneType()])
        add_method_to_class(
            ctx.api,
            ctx.cls,
            "__init_subclass__",
            [
                Argument(Var("mode", mode), mode, None, ARG_NAMED_OPT),
                Argument(Var("kwargs"), AnyType(TypeOfAny.explicit), None, ARG_STAR2),
            ],
            NoneType(),
            is_classmethod=True,
        )


def _smart_base(ctx: ClassDefContext) -> None:
    if _is_smart(ctx.cls.info):
        _ClassTransformer(ctx).transform(_mode_argument(ctx))


def _mode_argument(ctx: ClassDefContext) -> str | None:
    reason = ctx.reason
    for name, value in zip(
        getattr(reason, "arg_names", []), getattr(reason, "args", []), strict=False
    ):
        if name == "mode" and hasattr(value, "value") and isinstance(value.value, str):
            return value.value
    for name, value in ctx.cls.keywords.items():
        if name == "mode" and hasattr(value, "value") and isinstance(value.value, str):
            return value.value
    return None


# -- the class transformer ----------------------------------------------------


class _ClassTransformer:
    """Make one smart class's async methods dual, as the runtime's class walk does."""

    def __init__(self, ctx: ClassDefContext) -> None:
        self.ctx = ctx
        self.api: SemanticAnalyzerPluginInterface = ctx.api
        self.info = ctx.cls.info

    def decorator_type(self, fullname: str) -> Type | None:
        symbol = self.api.lookup_fully_qualified_or_none(fullname)
        node = symbol.node if symbol is not None else None
        if isinstance(node, FuncDef) and node.type is not None:
            return node.type
        return None

    def transform(self, mode: str | None) -> None:
        metadata = self.info.metadata.setdefault(METADATA_KEY, {})
        metadata["smart"] = True
        if mode is not None:
            metadata["mode"] = mode  # runtime only; kept for tools that want it
        if self.decorator_type(DUAL_COROUTINE) is None:
            if not self.api.final_iteration:
                self.api.defer()
            return
        body = self.ctx.cls.defs.body
        for index, statement in enumerate(body):
            new = self.convert(statement)
            if new is not None:
                body[index] = new
                self.info.names[new.name] = SymbolTableNode(MDEF, new)
        self.inherit_from_plain_bases()
        self.add_twins()

    def kind_decorator(self, func: FuncDef, names: set[str]) -> Type | None:
        if ASYNCCONTEXTMANAGER in names:
            return self.decorator_type(DUAL_CONTEXT_MANAGER)
        if not func.is_coroutine:
            return None
        if _is_async_generator(func):
            if func.is_class:
                return self.decorator_type(DUAL_GENERATOR_CLASSMETHOD)
            if func.is_static:
                return self.decorator_type(DUAL_GENERATOR_STATICMETHOD)
            return self.decorator_type(DUAL_GENERATOR)
        if func.is_class:
            return self.decorator_type(DUAL_CLASSMETHOD)
        if func.is_static:
            return self.decorator_type(DUAL_STATICMETHOD)
        return self.decorator_type(DUAL_COROUTINE)

    def convert(self, statement: Statement) -> Decorator | None:
        if isinstance(statement, OverloadedFuncDef):
            self.convert_overloads(statement)
            return None
        if isinstance(statement, FuncDef):
            if is_dunder(statement.name) or not statement.is_coroutine:
                return None
            decorator_type = self.kind_decorator(statement, set())
            if decorator_type is None:
                return None
            return _make_decorated(statement, self.info, decorator_type)
        if isinstance(statement, Decorator):
            func = statement.func
            if is_dunder(func.name) or any(_is_our_decorator(d) for d in statement.decorators):
                return None
            names = _decorator_names(statement)
            if SMARTASYNC_DECORATOR in names or ASYNC_ONLY_DECORATOR in names:
                return None
            if not func.is_coroutine and ASYNCCONTEXTMANAGER not in names:
                return None
            if statement.var.is_property:
                return None
            decorator_type = self.kind_decorator(func, names)
            if decorator_type is None:
                return None
            # Outermost: the decorators list runs from the outside in.
            statement.decorators.insert(0, TempNode(decorator_type, context=func))
            return None
        return None

    def convert_overloads(self, overloaded: OverloadedFuncDef) -> None:
        """`@overload`ed `async def`s: each overload item gets a typing-only
        decorator whose hook (at type checking, when every item's signature
        is known) puts `.sync` / `.aio` with every overload on the result.
        The bare call is typed by a method hook (`_overloaded_bare_call`)."""
        items = overloaded.unanalyzed_items or overloaded.items
        funcs = [item.func if isinstance(item, Decorator) else item for item in items]
        if is_dunder(overloaded.name) or not all(func.is_coroutine for func in funcs):
            return
        marker = CallableType(
            [AnyType(TypeOfAny.special_form)],
            [ARG_POS],
            [None],
            AnyType(TypeOfAny.special_form),
            self.api.named_type("builtins.function"),
            name=DUAL_OVERLOAD,  # mypy asks for a function hook by this name
        )
        for item in items:
            if isinstance(item, Decorator) and not any(
                _is_our_decorator(d) for d in item.decorators
            ):
                # Semantic analysis starts each item's decorators afresh
                # from `original_decorators`.
                item.original_decorators.insert(0, TempNode(marker, context=item.func))
                item.decorators.insert(0, TempNode(marker, context=item.func))
        overloads = self.info.metadata[METADATA_KEY].setdefault("overloads", [])
        if overloaded.name not in overloads:
            overloads.append(overloaded.name)

    def facade(self, fullname: str) -> TypeInfo | None:
        symbol = self.api.lookup_fully_qualified_or_none(fullname)
        node = symbol.node if symbol is not None else None
        return node if isinstance(node, TypeInfo) else None

    def inherited_type(self, node: object) -> Type | None:
        """The dual type of an inherited async method, or None to leave it."""
        func = node.func if isinstance(node, Decorator) else node
        if not isinstance(func, FuncDef) or func.is_class or func.is_static:
            return None
        if not _is_analyzed(func):
            return None
        if isinstance(node, Decorator):
            # @asynccontextmanager, told by its type (the cache keeps no decorator list)
            decorated = get_proper_type(node.var.type)
            if isinstance(decorated, CallableType):
                ret = get_proper_type(decorated.ret_type)
                cm = self.facade(DUAL_CONTEXT_MANAGER_TYPE)
                if isinstance(ret, Instance) and ret.type.fullname == ASYNC_GENERATOR_CM and cm:
                    return decorated.copy_modified(ret_type=Instance(cm, ret.args[:1]))
            if node.decorators or node.var.is_property:
                return None
        signature = get_proper_type(func.type)
        if not func.is_coroutine or not isinstance(signature, CallableType):
            return None
        parameters = Parameters(
            signature.arg_types,
            signature.arg_kinds,
            signature.arg_names,
            variables=signature.variables,
        )
        item = _async_item(signature.ret_type)
        if func.is_async_generator and item is not None:
            gen = self.facade(DUAL_GEN_FUNCTION)
            return None if gen is None else Instance(gen, [parameters, item])
        coroutine = self.facade(DUAL_FUNCTION)
        if coroutine is None:
            return None
        return Instance(coroutine, [parameters, _unwrap_coroutine(signature.ret_type)])

    def inherit_from_plain_bases(self) -> None:
        """Public async methods of bases that are not smart become dual here.

        A base in the module being analysed has no method signatures yet
        (see `_after_signatures`): its methods are made dual once they have
        them."""
        seen = set(self.info.names)
        later: list[tuple[str, TypeInfo, SymbolNode | None]] = []
        for base in self.info.mro[1:]:
            if base.fullname == "builtins.object":
                continue
            smart_base = _is_smart(base)
            for name, symbol in base.names.items():
                if name in seen:
                    continue
                seen.add(name)
                if smart_base or not is_public_inherited(name):
                    continue
                func = symbol.node.func if isinstance(symbol.node, Decorator) else symbol.node
                if isinstance(func, FuncDef) and not _is_analyzed(func):
                    later.append((name, base, symbol.node))
                    continue
                self.inherit(name, base, symbol.node)
        if later:
            _after_signatures(self.api, lambda: self.inherit_analysed(later))

    def inherit_analysed(self, methods: list[tuple[str, TypeInfo, SymbolNode | None]]) -> None:
        for name, base, node in methods:
            # Unless a class earlier in the MRO has taken the name meanwhile
            # (a smart base in this module, given it by its own patch).
            found = self.info.get(name)
            if found is not None and found.node is node:
                self.inherit(name, base, node)

    def inherit(self, name: str, base: TypeInfo, node: object) -> None:
        typ = self.inherited_type(node)
        if typ is None:
            return
        # The base's class type variables as this class binds them (`take`
        # of `Box[T]` through `class IntBox(SmartAsync, Box[int])` returns int).
        typ = map_type_from_supertype(typ, self.info, base)
        _add_class_member(self.info, name, typ)

    def add_iter_twin(self, aiter: FuncDef) -> bool:
        """`def __aiter__(self) -> AsyncIterator[Y]`, not analysed yet: add
        `__iter__(self) -> Iterator[Y]`, analysing Y here."""
        assert isinstance(aiter.type, CallableType)
        ret = aiter.type.ret_type
        if not isinstance(ret, UnboundType) or len(ret.args) < 1:
            return False
        if ret.name.rsplit(".", 1)[-1] not in ("AsyncIterator", "AsyncIterable", "AsyncGenerator"):
            return False
        item = self.api.anal_type(ret.args[0])
        if item is None:
            return False
        signature = CallableType(
            [fill_typevars(self.info)],
            [ARG_POS],
            ["self"],
            self.api.named_type(ITERATOR, [item]),
            self.api.named_type("builtins.function"),
        )
        _add_class_member(self.info, "__iter__", signature, aiter.line)
        return True

    def add_twins(self) -> None:
        for async_name, sync_name in TWINS:
            if self.info.get(sync_name) is not None:
                continue
            symbol = self.info.get(async_name)
            node = symbol.node if symbol is not None else None
            if isinstance(node, Decorator):
                node = node.func
            if not isinstance(node, FuncDef) or not isinstance(node.type, CallableType):
                continue
            if not _is_analyzed(node):
                if async_name == "__aiter__" and self.add_iter_twin(node):
                    continue
                _add_twin(self.info, node, sync_name, None)
                continue
            ret = node.type.ret_type
            if async_name == "__aiter__":
                item = _async_item(ret)
                if item is not None:
                    ret = self.api.named_type(ITERATOR, [item])
            else:
                ret = _unwrap_coroutine(ret)
            _add_twin(self.info, node, sync_name, ret)


# -- helpers on types ---------------------------------------------------------


def _is_smart(info: TypeInfo) -> bool:
    """Is `info` a smart class: SmartAsync among its bases, or marked by us."""
    return any(base.fullname == SMART_BASE or METADATA_KEY in base.metadata for base in info.mro)


def _unwrap_coroutine(typ: Type) -> Type:
    """T from Coroutine[Any, Any, T] (or Awaitable[T]); anything else as is."""
    proper = get_proper_type(typ)
    if isinstance(proper, Instance) and proper.type.fullname in (COROUTINE, "typing.Awaitable"):
        return proper.args[-1]
    return typ


def _async_item(typ: Type) -> Type | None:
    """Y from AsyncIterator[Y] / AsyncGenerator[Y, S] / AsyncIterable[Y]."""
    proper = get_proper_type(typ)
    if isinstance(proper, Instance) and proper.type.fullname in (
        ASYNC_ITERATOR,
        ASYNC_GENERATOR,
        ASYNC_ITERABLE,
    ):
        return proper.args[0]
    return None


def _result_arg(ctx: MethodContext) -> Type:
    """The facade's last type argument: the result T (or the item type Y)."""
    receiver = get_proper_type(ctx.type)
    if isinstance(receiver, Instance) and receiver.args:
        return receiver.args[-1]
    return AnyType(TypeOfAny.from_error)


def _decorator_names(decorator: Decorator) -> set[str]:
    return {
        expr.fullname
        for expr in decorator.original_decorators
        if isinstance(expr, RefExpr) and expr.fullname
    } | {
        expr.callee.fullname
        for expr in decorator.original_decorators
        if hasattr(expr, "callee") and isinstance(expr.callee, RefExpr) and expr.callee.fullname
    }


# -- mypy internals -----------------------------------------------------------
# The only places that rely on mypy beyond the documented plugin interface.


def _caller_is_async(api: object) -> bool:
    """Is the code being checked the body of an `async def`?

    Reads the type checker's scope stack (`TypeChecker.scope.stack`, mypy
    internal): its innermost function is the calling code.  Comprehensions
    and generator expressions are not on the stack, so they count as the
    function around them; a lambda is a function of its own, and sync."""
    scope = getattr(api, "scope", None)
    stack = getattr(scope, "stack", None)
    if stack is None:
        raise RuntimeError(
            "smartasync.mypy: this mypy's type checker has no `scope.stack`; "
            f"the plugin supports mypy {_supported_text()}"
        )
    for entry in reversed(stack):
        if isinstance(entry, LambdaExpr):
            return False
        if isinstance(entry, FuncDef):
            return bool(entry.is_coroutine or entry.is_async_generator)
        if isinstance(entry, TypeInfo):
            return False  # a class body
    return False  # module level


def _read_for_later(api: object) -> bool:
    """Is the expression being checked read as a value (`m = obj.m`,
    `f(obj.m)`), not called right here?  Reads the expression checker's
    `is_callee` flag (mypy internal)."""
    expr_checker = getattr(api, "expr_checker", None)
    return not getattr(expr_checker, "is_callee", True)


def _solve_for_receiver(
    signature: CallableType,
    receiver: Instance,
    owner: TypeInfo | None,
    *,
    bind: bool,
    is_classmethod: bool,
) -> CallableType:
    """`signature`, declared in `owner`, as read through `receiver`: its own
    type variables fresh (solved at each call), the first parameter bound to
    the receiver when `bind` (`Self` solved), and the owner's class type
    variables mapped to the receiver's type arguments (`Store[K, V]` read
    through a `Store[str, Product]` subclass takes `str` for K)."""
    signature = freshen_all_functions_type_vars(signature)
    if bind and signature.arg_types:
        signature = _bind_receiver(signature, receiver, is_classmethod)
    if owner is not None and not isinstance(owner, FakeInfo):
        signature = expand_type_by_instance(signature, map_instance_to_supertype(receiver, owner))
    return signature


def _erase_class_type_vars(signature: CallableType, info: TypeInfo) -> CallableType:
    """`signature` with the type variables of class `info` replaced by Any."""
    ids = {tv.id for tv in info.defn.type_vars}
    if not ids:
        return signature
    erased = erase_typevars(signature, ids)
    assert isinstance(erased, CallableType)
    return erased


def _check_call(api: CheckerPluginInterface, callee: Type, call: CallExpr) -> Type:
    """Type check `call` as a call of `callee` (errors reported), and return
    its result type: the expression checker's `check_call` (mypy internal)."""
    expr_checker = getattr(api, "expr_checker", None)
    if expr_checker is None:
        raise RuntimeError(
            "smartasync.mypy: this mypy's type checker has no `expr_checker`; "
            f"the plugin supports mypy {_supported_text()}"
        )
    result, _ = expr_checker.check_call(callee, call.args, call.arg_kinds, call, call.arg_names)
    assert isinstance(result, Type)
    return result


def _bind_receiver(method: CallableType, receiver: Type, is_classmethod: bool) -> CallableType:
    """`method` with its first parameter bound to `receiver` (`Self` and other
    self-type variables solved), by mypy's own `typeops.bind_self`."""
    bound = bind_self(method, receiver, is_classmethod=is_classmethod)
    assert isinstance(bound, CallableType)
    return bound


def _with_attributes(function: Instance, attrs: dict[str, Type]) -> Instance:
    """`builtins.function` with extra attributes (`.sync`, `.aio`) that
    mypy finds on a callable whose fallback it is (`Instance.extra_attrs`,
    which mypy itself uses for module and function attributes)."""
    fallback = function.copy_modified()
    fallback.extra_attrs = ExtraAttrs(attrs, set(), None)
    return fallback


def _make_decorated(func: FuncDef, info: TypeInfo, decorator_type: Type) -> Decorator:
    """Wrap an undecorated method in a Decorator whose one decorator has the
    given type.  A `TempNode` stands for the decorator expression: semantic
    analysis has nothing to resolve in it, and the type checker applies its
    type to the function as it would a real decorator's."""
    var = Var(func.name)
    var.info = info
    var.is_initialized_in_class = True
    var._fullname = func.fullname
    var.line = func.line
    func.is_decorated = True
    decorator = Decorator(func, [TempNode(decorator_type, context=func)], var)
    decorator.line = func.line
    decorator.column = func.column
    return decorator


def _is_async_generator(func: FuncDef) -> bool:
    """Is this `async def` an async generator?  Function bodies are analysed
    after the class hooks run, so the flag mypy sets later cannot be read
    yet: look for a `yield` in the body (mypy's traverser helper)."""
    return bool(func.is_async_generator) or has_yield_expression(func)


def _is_our_decorator(expr: Expression) -> bool:
    return isinstance(expr, TempNode) and not expr.no_rhs


def _after_signatures(api: SemanticAnalyzerPluginInterface, patch: Callable[[], None]) -> None:
    """Run `patch` once every function signature of the modules being
    analysed is: in the semantic analyzer's patch phase
    (`SemanticAnalyzer.schedule_patch`, mypy internal).

    A plain base's `async def` in the smart class's own module has no
    signature when the class hooks run: mypy analyses every module top level
    of an import cycle to a fixed point, then the functions and methods, then
    the patches (`semantic_analysis_for_scc`, mypy 2.4.1 mypy/semanal_main.py
    lines 91-95; a method met at top level is skipped, mypy/semanal.py lines
    998-999).  Rejected:
    - `api.defer()` in the base class hook: it repeats the top-level pass,
      which never reaches the methods; on its final iteration nothing may
      defer (semanal_main.py line 208) and the signatures are still missing;
    - the base's annotations analysed in the smart class's scope: a method's
      own type variables, and its class's, are unbound there (mypy reports
      "Type variable is unbound" at the base's method, and every call is
      typed with the unbound names), and a name of the base's class body
      means something else there;
    - the class decorator hook that mypy runs after the functions
      (`get_class_decorator_hook_2`, semanal_main.py line 500): a class is
      smart by its bases too, which have no such hook;
    - the faces given at type checking, where the signature is known: mypy
      asks no attribute hook for a method that is a FuncDef (see the comment
      above `_overload_item`), and the inherited `async def` is one.
    The patch phase runs for a whole build, for dmypy's reprocessed targets
    (`semantic_analysis_for_targets`, line 151) and never for a module read
    from the incremental cache, which keeps the member the patch added."""
    schedule = getattr(api, "schedule_patch", None)
    if schedule is None:
        raise RuntimeError(
            "smartasync.mypy: this mypy's semantic analyzer has no `schedule_patch`; "
            f"the plugin supports mypy {_supported_text()}"
        )
    schedule(PRIORITY_FALLBACKS + 1, patch)


def _is_analyzed(func: FuncDef) -> bool:
    """Has semantic analysis given `func` its signature yet?  Methods of a
    class in the module being analysed get theirs after the class hooks run
    (their signature still has the parser's placeholder fallback)."""
    return isinstance(func.type, CallableType) and not isinstance(func.type.fallback.type, FakeInfo)


def _add_twin(info: TypeInfo, source: FuncDef, name: str, ret_type: Type | None) -> None:
    """Add a sync method `name` with `source`'s parameters.

    `ret_type` None: `source` is not analysed yet; the twin is a copy of its
    signature as written, which semantic analysis then analyses as any
    method's (an `async def` returning T declares T; the twin, a plain def,
    returns T).  Only in the symbol table, not the class body, so the type
    checker has no body to check.  Otherwise the twin is a class-level `Var`
    of the analysed callable type (with a new return type), which mypy binds
    like a method: a FuncDef would be re-analysed from its finished type."""
    assert isinstance(source.type, CallableType)
    if ret_type is None:
        arguments = [
            Argument(Var(arg.variable.name), arg.type_annotation, None, arg.kind)
            for arg in source.arguments
        ]
        func = FuncDef(name, arguments, Block([PassStmt()]), source.type.copy_modified(name=name))
        func.info = info
        func._fullname = f"{info.fullname}.{name}"
        func.line = source.line
        info.names[name] = SymbolTableNode(MDEF, func, plugin_generated=True)
    else:
        typ = source.type.copy_modified(ret_type=ret_type, name=name)
        _add_class_member(info, name, typ, source.line)


def _add_class_member(info: TypeInfo, name: str, typ: Type, line: int = -1) -> None:
    """A class-level attribute of type `typ`: a callable one is bound like a
    method, a descriptor's `__get__` is applied, as for a method alias."""
    var = Var(name, typ)
    var.info = info
    var.is_initialized_in_class = True
    var.is_classvar = True  # not an instance attribute: mypy binds it on access
    var._fullname = f"{info.fullname}.{name}"
    var.line = line
    info.names[name] = SymbolTableNode(MDEF, var, plugin_generated=True)
