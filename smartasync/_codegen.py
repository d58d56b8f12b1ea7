"""The code generator behind every dual callable.

For each wrapped function it writes `__call__`, `sync` and `aio` with the
function's exact parameter list, so a call forwards its arguments as they
came instead of packing them into `*args, **kwargs`.  Measured on 3.11 for
`await obj.m(x)`: packing costs about 1.5x a raw await more than forwarding.

The bare call's fast path is inlined here: one flag test on the caller's code
object (and, in a smart class, one attribute read for the mode), then, for a
comprehension whose lexical parent is async code, one lookup by the code
object's id.  A plain sync caller of a coroutine method goes straight to
`run_blocking`; everything else (modes, frameworks, first calls from a
comprehension) goes to `dispatch`.

Compiling is the expensive part (~50 us), so code is compiled once per
*shape* (parameter names and kinds, which have defaults, which variant) and
cached; each function then gets its own closures from the cached factory
(~1 us).  Default values are passed to the factory, so the generated functions
carry the very same default objects.
"""

from __future__ import annotations

import inspect
import linecache
import sys
from collections.abc import Callable
from types import CodeType, FunctionType
from typing import Any, Final

from ._dispatch import (
    block,
    dispatch,
    dual_context_manager,
    explicit_aio,
    explicit_sync,
    fail,
    frameless,
)
from ._modes import INSTANCE_KEY
from ._rule import INLINE, caller_frame, inline_namespace
from ._runner import run_blocking

_P = "__sa_"  # prefix of every generated name; a parameter using it falls back to *args

_factories: dict[str, Callable[..., tuple[Callable[..., Any], ...]]] = {}

# The globals of generated code: every name it uses, under the prefix.
namespace: Final[dict[str, Any]] = {
    "__builtins__": __builtins__,
    "__name__": "smartasync._generated",
    f"{_P}getframe": sys._getframe,
    f"{_P}caller": caller_frame,
    f"{_P}frameless": frameless,
    **inline_namespace(_P),
    f"{_P}dispatch": dispatch,
    f"{_P}block": block,
    f"{_P}explicit_sync": explicit_sync,
    f"{_P}explicit_aio": explicit_aio,
    f"{_P}dualcm": dual_context_manager,
    f"{_P}fail": fail,
    f"{_P}run": run_blocking,
}

Parameters = list[inspect.Parameter]


def signature_parameters(fn: Callable[..., Any], follow_wrapped: bool) -> Parameters | None:
    """The parameters the generated code must accept: `fn`'s own, not those of
    what it wraps, except for an @asynccontextmanager function, whose helper
    takes (*args, **kwds) and whose signature is the generator function's."""
    try:
        sig = inspect.signature(fn, follow_wrapped=follow_wrapped)
    except (TypeError, ValueError):
        return None
    return list(sig.parameters.values())


def _render(params: Parameters) -> tuple[str, str, list[Any]] | None:
    """(parameter list, forwarded arguments, default values) or None when the
    parameters cannot be reproduced exactly."""
    decl: list[str] = []
    call: list[str] = []
    defaults: list[Any] = []
    kinds = inspect.Parameter
    saw_star = False
    for index, param in enumerate(params):
        name = param.name
        if name.startswith(_P) or not name.isidentifier():
            return None
        kind = param.kind
        text = name
        if param.default is not kinds.empty:
            text = f"{name}={_P}d{len(defaults)}"
            defaults.append(param.default)
        if kind is kinds.POSITIONAL_ONLY:
            decl.append(text)
            call.append(name)
            following = params[index + 1] if index + 1 < len(params) else None
            if following is None or following.kind is not kinds.POSITIONAL_ONLY:
                decl.append("/")
        elif kind is kinds.POSITIONAL_OR_KEYWORD:
            decl.append(text)
            call.append(name)
        elif kind is kinds.VAR_POSITIONAL:
            saw_star = True
            decl.append(f"*{name}")
            call.append(f"*{name}")
        elif kind is kinds.KEYWORD_ONLY:
            if not saw_star:
                saw_star = True
                decl.append("*")
            decl.append(text)
            call.append(f"{name}={name}")
        else:  # VAR_KEYWORD
            decl.append(f"**{name}")
            call.append(f"**{name}")
    return ", ".join(decl), ", ".join(call), defaults


_GENERIC = (f"*{_P}args, **{_P}kwargs", f"*{_P}args, **{_P}kwargs")

# The try/except blocks cost nothing until something is raised (3.11+); then
# they drop smartasync's own frames from the front of the traceback, so that
# it reads caller -> this wrapper -> the user's coroutine, and close the
# coroutine if nothing ever started it (a Ctrl-C landing in smartasync's code
# before the engine took it over would otherwise leave "never awaited").
_CALL_BASE = """\
    def __call__({params}):
{head}        try:
            {P}f = {P}getframe(1)
        except ValueError:  # no Python caller (an atexit callback): sync code, see _rule
            return {P}frameless({P}dual, {source}, {P}fn({first}{args}))
        {P}k = {P}f.f_code
<READ>        if {ASYNC_CALLER}:
<ANSWER>        {P}c = None
        try:
            {P}c = {P}fn({first}{args})
{sync_inline}            return {P}dispatch({P}dual, {source}, {P}f, {P}c)
        except BaseException as {P}e:
            raise {P}fail({P}e, {P}c)  # smartasync: the same exception, without smartasync's frames
"""
# The bare call's sync decision, inlined for a coroutine function in auto
# mode: a caller that is not async code, not a comprehension (whose lexical
# parent decides) and not an async framework's scheduling code (see _rule)
# gets the call run here, without the trip through dispatch.  The first test
# above stays the only work an awaited call does (one attribute read and one
# flag test); a call from `gather(*(obj.m(i) for i in xs))` is answered by
# its second half, the comprehension's code object remembered by `dispatch`
# (measured: 1.17-1.19x a raw gather when it was answered after the try).
_SYNC_INLINE_BASE = """\
            if <MODE>{PLAIN_SYNC_CALLER}:
                return {P}run({P}c, {P}name, {P}f, True, {source})
"""
# Where the mode can only be auto (a function, a method with no mode of its
# own outside a smart class), an async caller gets the coroutine at once.
_CALL_TEMPLATE = _CALL_BASE.replace("<READ>", "").replace(
    "<ANSWER>", "            return {P}fn({first}{args})\n"
)
_SYNC_INLINE = _SYNC_INLINE_BASE.replace("<MODE>", "")
# On an instance of a smart class its mode slot is read once (`m`): besides
# the auto mode (`AUTO`), an object with a home passes the async test when
# the call is made on its home loop, and the sync one when its home is the
# sync loop, where a sync call runs anyway (`_rule.INLINE`, `_modes.Home`).
# An async caller that does not pass leaves `m` at None, so that it reaches
# dispatch.
_CALL_SMART_TEMPLATE = _CALL_BASE.replace("<READ>", "        {P}m = {P}o.{INSTANCE_KEY}\n").replace(
    "<ANSWER>",
    "            if {ASYNC_PASSES}:\n"
    "                return {P}fn({first}{args})\n"
    "            {P}m = None\n",
)
_SYNC_INLINE_SMART = _SYNC_INLINE_BASE.replace("<MODE>", "({SYNC_PASSES}) and ")
_CALL_NO_FAST_PATH = """\
    def __call__({params}):
{head}        {P}c = None
        try:
            {P}c = {P}fn({first}{args})
            return {P}dispatch({P}dual, {source}, {P}caller(1), {P}c)
        except BaseException as {P}e:
            raise {P}fail({P}e, {P}c)  # smartasync: the same exception, without smartasync's frames
"""
_CALL_CONTEXT_MANAGER = """\
    def __call__({params}):
{head}        return {P}dualcm({P}fn({first}{args}), {source})
"""
_EXPLICIT = """\
    def sync({params}):
{head}        {P}c = None
        try:
            {P}c = {P}fn({first}{args})
            return {P}block({P}dual, {P}c)
        except BaseException as {P}e:
            raise {P}fail({P}e, {P}c)  # smartasync: the same exception, without smartasync's frames
    def aio({params}):
{head}        return {P}fn({first}{args})
"""
# On an instance of a smart class, the explicit forms honour its home loop
# (see _home): the home sits where the mode does, so `.aio` pays one
# attribute read while the object has none (and its mode is auto).
_EXPLICIT_SMART_BOUND = """\
    def sync({params}):
{head}        {P}c = None
        try:
            {P}c = {P}fn({first}{args})
            return {P}explicit_sync({P}dual, {P}o, {P}c)
        except BaseException as {P}e:
            raise {P}fail({P}e, {P}c)  # smartasync: the same exception, without smartasync's frames
    def aio({params}):
{head}        {P}m = {P}o.{INSTANCE_KEY}
        if {ASYNC_PASSES}:
            return {P}fn({first}{args})
        return {P}explicit_aio({P}dual, {P}o, {P}fn({first}{args}))
"""


def _with_rule(template: str) -> str:
    """`template` with the call rule's inline tests written in (`_rule.INLINE`)."""
    for name, text in INLINE.items():
        template = template.replace("{" + name + "}", text)
    return template


_CALL_TEMPLATE, _CALL_SMART_TEMPLATE, _SYNC_INLINE, _SYNC_INLINE_SMART, _EXPLICIT_SMART_BOUND = (
    _with_rule(template)
    for template in (
        _CALL_TEMPLATE,
        _CALL_SMART_TEMPLATE,
        _SYNC_INLINE,
        _SYNC_INLINE_SMART,
        _EXPLICIT_SMART_BOUND,
    )
)


def build(
    fn: Callable[..., Any],
    params: Parameters | None,
    *,
    bound: bool,
    smart: bool,
    fast_path: bool,
    context_manager: bool,
    coroutine: bool,
    dual: object,
) -> tuple[Callable[..., Any], Callable[..., Any], Callable[..., Any]]:
    """Generate (`__call__`, `sync`, `aio`) for `fn`, whose parameters are
    `params` (None: it has no signature; the functions take *args, **kwargs).

    bound: the functions live on a bound-method type and take the bound object
        first (`__self__` is passed on as the first argument of `fn`).
        Otherwise `__call__` takes the dual function first and `sync`/`aio`
        take exactly `fn`'s parameters (they are static methods of the
        generated type, so `f.sync` is the function itself and its signature
        is `fn`'s).
    smart: the receiver is an instance (or class) of a smart class, whose mode
        is read on every call.
    fast_path: the mode can only be "auto" here, so an async caller may be
        answered inline.
    """
    positional = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    rendered = None
    if params is not None:
        if not bound:
            rendered = _render(params)
        elif params and params[0].kind in positional:
            rendered = _render(params[1:])  # the receiver is __self__
    defaults: list[Any] = []
    if rendered is None:
        decl, args = _GENERIC
    else:
        decl, args, defaults = rendered

    if bound:
        call_self = explicit_self = f"{_P}b, "
        first, head = f"{_P}o, ", f"        {_P}o = {_P}b.__self__\n"
        source = f"{_P}o"
    else:
        call_self, explicit_self, first, head = f"{_P}d, ", "", "", ""
        source = "None"
        if smart:
            # Called through the class (`Cls.m(obj, x)`): the first argument is
            # the receiver whose mode counts.
            if rendered is None:
                source = f"({_P}args[0] if {_P}args else None)"
            elif params and params[0].kind in positional:
                source = params[0].name
    if not args:
        first = first.rstrip(", ")

    sync_inline = ""
    if context_manager:
        call_template = _CALL_CONTEXT_MANAGER
    elif fast_path and (bound or not smart):
        # (Called through the class, `Cls.m(obj, x)`, the receiver is only an
        # argument and its mode must be read: no fast path there.)  In a smart
        # class the instance's mode (or its home) is read once; elsewhere the
        # mode can only be auto.
        if smart:
            call_template, inline = _CALL_SMART_TEMPLATE, _SYNC_INLINE_SMART
        else:
            call_template, inline = _CALL_TEMPLATE, _SYNC_INLINE
        sync_inline = inline.format(P=_P, source=source) if coroutine else ""
    else:
        call_template = _CALL_NO_FAST_PATH

    fields = {
        "sync_inline": sync_inline,
        "params": (call_self + decl).rstrip(", "),
        "args": args,
        "first": first,
        "head": head,
        "source": source,
        "P": _P,
        "INSTANCE_KEY": INSTANCE_KEY,
    }
    explicit = _EXPLICIT_SMART_BOUND if smart and bound else _EXPLICIT
    body = call_template.format(**fields) + explicit.format(
        **{**fields, "params": (explicit_self + decl).rstrip(", ")}
    )
    factory_params = ", ".join(
        [f"{_P}dual", f"{_P}fn", f"{_P}name"] + [f"{_P}d{i}" for i in range(len(defaults))]
    )
    source_text = f"def {_P}factory({factory_params}):\n{body}    return __call__, sync, aio\n"
    factory = _factories.get(source_text)
    if factory is None:
        factory = _compile(source_text)
    qualname = str(getattr(dual, "__qualname__", None) or getattr(fn, "__qualname__", "function"))
    call, sync, aio = factory(dual, fn, qualname, *defaults)
    doc = getattr(fn, "__doc__", None)
    module = getattr(fn, "__module__", None) or "?"
    return (
        _as(call, module, qualname, doc, None),
        _as(sync, module, f"{qualname}.sync", doc, fn),
        _mark_coroutine_function(_as(aio, module, f"{qualname}.aio", doc, fn)),
    )


def _mark_coroutine_function(function: Callable[..., Any]) -> Callable[..., Any]:
    # `.aio` returns the coroutine: frameworks that branch on
    # inspect.iscoroutinefunction() must await it.  Python 3.12+ lets a plain
    # function say so; 3.11 reads only the code flags, which a plain `def`
    # returning a coroutine does not have.
    mark = getattr(inspect, "markcoroutinefunction", None)
    return mark(function) if mark is not None else function


def _as(
    function: Any, module: str, qualname: str, doc: str | None, wrapped: Callable[..., Any] | None
) -> Callable[..., Any]:
    """`function` under the name of what it stands for.  Python words
    argument errors with the code's own qualified name, so the code is
    renamed too: `Client.get() takes 2 positional arguments but 3 were
    given`, not `__sa_factory.<locals>.__call__() ...`; and its file name
    says which method a traceback went through, with its module, as
    linecache keys its copy of the source by that name: two `Client.get` in
    two modules, of different shapes, must not show each other's lines.
    (~2 us a function, once.)"""
    code: CodeType = function.__code__
    filename = f"<smartasync generated {module}.{qualname}>"
    source = linecache.cache.get(code.co_filename)
    if source is not None:
        linecache.cache[filename] = source
    name = qualname.rpartition(".")[2]
    renamed = FunctionType(
        code.replace(co_name=name, co_qualname=qualname, co_filename=filename),
        function.__globals__,
        name,
        function.__defaults__,
        function.__closure__,
    )
    renamed.__kwdefaults__ = function.__kwdefaults__
    renamed.__qualname__ = qualname
    renamed.__doc__ = doc
    if wrapped is not None:
        # inspect.signature() follows it: `.sync`/`.aio` show the method's
        # parameters and annotations (a bound `.sync` drops the receiver as
        # any bound method does), not the generated `(b, x)`.
        renamed.__wrapped__ = wrapped  # type: ignore[attr-defined]
    return renamed


def _compile(source_text: str) -> Callable[..., tuple[Callable[..., Any], ...]]:
    filename = f"<smartasync generated #{len(_factories)}>"
    # Registered with linecache so that tracebacks through generated code show
    # the line that ran, as for any other source file.
    linecache.cache[filename] = (len(source_text), None, source_text.splitlines(True), filename)
    scope: dict[str, Any] = {}
    exec(compile(source_text, filename, "exec"), namespace, scope)
    factory: Callable[..., tuple[Callable[..., Any], ...]] = scope[f"{_P}factory"]
    _factories[source_text] = factory
    return factory
