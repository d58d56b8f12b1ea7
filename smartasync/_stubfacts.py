"""What the stub generator knows about a module that mypy's stub does not say.

Which callables are dual, of what kind (coroutine, async generator, async
context manager) and how they bind, which async properties are dual (of what
getter kind; settable, deletable, cached, abstract), which sync twins a smart
class got, and the classes' type variables: all told by smartasync's own
objects, on the imported module.  From the source (mypy's stubgen drops them): the types of
attributes set in methods, the imports that name those types, and how module
level type variables are declared.  And the signature of a dual method a smart
class inherits from a base in another module, read from the function itself.
"""

from __future__ import annotations

import ast
import builtins
import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any, Final, ParamSpec, TypeVar

from ._class import TWIN_IMPLS
from ._dual import DualClassMethod, DualFunction
from ._kinds import COROUTINE, Kind
from ._modes import is_smart_class
from ._property import DualCachedProperty, DualProperty
from ._protocol import TWINS

# -- what smartasync says about a module ------------------------------------------


@dataclass
class Dual:
    """What smartasync says about one dual callable."""

    kind: Kind
    binding: str = "function"  # or "method", "classmethod", "staticmethod"
    wrapped: Callable[..., Any] | None = None


@dataclass
class Prop:
    """What smartasync says about one async property of a smart class."""

    kind: Kind  # of the getter: a coroutine, or an async generator
    getter: Callable[..., Any]
    setter: Callable[..., Any] | None = None
    cached: bool = False  # functools.cached_property: settable, with the value's type
    deleter: bool = False
    abstract: bool = False
    # the qualname of the class in this module that defines the getter, if any
    home: str | None = None


@dataclass
class ModuleFacts:
    """What smartasync and the source say about one module."""

    duals: dict[str, Dual] = field(default_factory=dict)  # qualname -> what it is
    properties: dict[str, Prop] = field(default_factory=dict)  # qualname -> what it is
    twins: dict[str, list[str]] = field(default_factory=dict)  # class qualname -> twin names
    # class qualname -> its classes in this module, in MRO order (itself first)
    mro: dict[str, list[str]] = field(default_factory=dict)
    params: dict[str, list[str]] = field(default_factory=dict)  # class -> its type variables
    decorator_names: set[str] = field(default_factory=set)  # how `smartasync` is spelled
    # class qualname -> attribute -> type, for attributes set in methods
    attributes: dict[str, dict[str, str]] = field(default_factory=dict)
    # name -> the import statement that binds it in the source module
    imports: dict[str, str] = field(default_factory=dict)
    # module-level type variables -> how to declare them (mypy's stub drops private ones)
    type_vars: dict[str, str] = field(default_factory=dict)


def collect(module: ModuleType) -> ModuleFacts:
    """What is dual in `module`, found through smartasync's own objects."""
    from . import _api

    facts = ModuleFacts(decorator_names={"smartasync"})
    for name, value in vars(module).items():
        if value is _api.smartasync:
            facts.decorator_names.add(name)
        elif isinstance(value, ModuleType) and value.__name__ == "smartasync":
            facts.decorator_names.add(f"{name}.smartasync")
    seen: set[int] = set()

    def visit_class(cls: type, qualname: str) -> None:
        if id(cls) in seen:
            return
        seen.add(id(cls))
        for name, attr in vars(cls).items():
            inner = attr.__func__ if isinstance(attr, (staticmethod, classmethod)) else attr
            if isinstance(attr, DualClassMethod):
                facts.duals[f"{qualname}.{name}"] = Dual(
                    attr._kind, "classmethod", attr.__wrapped__
                )
            elif isinstance(inner, DualFunction):
                binding = "staticmethod" if isinstance(attr, staticmethod) else "method"
                facts.duals[f"{qualname}.{name}"] = Dual(inner._kind, binding, inner.__wrapped__)
            elif (prop := _prop(attr, module)) is not None:
                facts.properties[f"{qualname}.{name}"] = prop
            elif inspect.isclass(attr) and attr.__qualname__ == f"{cls.__qualname__}.{name}":
                visit_class(attr, f"{qualname}.{name}")
        facts.mro[qualname] = [
            klass.__qualname__
            for klass in cls.__mro__
            if klass.__module__ == module.__name__ and "<locals>" not in klass.__qualname__
        ]
        facts.params[qualname] = [p.__name__ for p in getattr(cls, "__parameters__", ())]
        if is_smart_class(cls):
            added = [sync for _, sync in TWINS if vars(cls).get(sync) is TWIN_IMPLS[sync]]
            if added:
                facts.twins[qualname] = added

    for name, value in vars(module).items():
        if isinstance(value, (TypeVar, ParamSpec)) and value.__name__ == name:
            maker = "_TypeVar" if isinstance(value, TypeVar) else "_ParamSpec"
            flags = "".join(
                f", {flag}=True"
                for flag in ("covariant", "contravariant")
                if getattr(value, f"__{flag}__")
            )
            facts.type_vars[name] = f'{name} = {maker}("{name}"{flags})'
        if isinstance(value, DualFunction) and value.__module__ == module.__name__:
            facts.duals[name] = Dual(value._kind, "function", value.__wrapped__)
        elif inspect.isclass(value) and value.__module__ == module.__name__:
            if value.__qualname__ == name:
                visit_class(value, name)
    _read_source(module, facts)
    return facts


def _prop(attr: object, module: ModuleType) -> Prop | None:
    """An async property's facts, or None for anything else (a `.getter()`
    with a sync getter leaves a DualProperty that reads as a plain one)."""
    if isinstance(attr, DualCachedProperty):
        prop = Prop(COROUTINE, attr.func, cached=True)
    elif isinstance(attr, DualProperty) and attr._dual is not None and attr.fget is not None:
        prop = Prop(attr._dual._kind, attr.fget, attr.fset, deleter=attr.fdel is not None)
    else:
        return None
    prop.abstract = bool(getattr(attr, "__isabstractmethod__", False))
    if getattr(prop.getter, "__module__", None) == module.__name__:
        prop.home = prop.getter.__qualname__.rpartition(".")[0]
    return prop


# -- what the source says that mypy's stubgen drops -------------------------------


def _read_source(module: ModuleType, facts: ModuleFacts) -> None:
    """Attribute types set in methods, and the imports that name them."""
    try:
        source = inspect.getsource(module)
    except (OSError, TypeError):
        return
    tree = ast.parse(source)

    def imports_in(body: list[ast.stmt]) -> None:
        for node in body:
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                for alias in node.names:
                    bound = alias.asname or alias.name.split(".")[0]
                    if isinstance(node, ast.ImportFrom):
                        if node.module == "__future__":
                            continue
                        dots = "." * node.level
                        spelled = alias.name + (f" as {alias.asname}" if alias.asname else "")
                        facts.imports[bound] = f"from {dots}{node.module or ''} import {spelled}"
                    elif alias.asname:
                        facts.imports[bound] = f"import {alias.name} as {alias.asname}"
                    else:
                        facts.imports[bound] = f"import {alias.name}"
            elif isinstance(node, ast.If):  # if TYPE_CHECKING: ...
                imports_in(node.body)

    imports_in(tree.body)

    for node in tree.body:
        if (
            isinstance(node, ast.Assign)
            and len(node.targets) == 1
            and isinstance(node.targets[0], ast.Name)
            and node.targets[0].id in facts.type_vars
            and isinstance(node.value, ast.Call)
        ):
            name = node.targets[0].id
            # `T = _TypeVar("T", ...)`, as told from the runtime object
            maker = facts.type_vars[name].split(" = ", 1)[1].split("(", 1)[0]
            facts.type_vars[name] = _type_var_declaration(name, maker, node.value)

    def visit(body: list[ast.stmt], prefix: str) -> None:
        for node in body:
            if isinstance(node, ast.ClassDef):
                qualname = f"{prefix}{node.name}"
                found = _attributes_of(node, module, source)
                if found:
                    facts.attributes[qualname] = found
                visit(node.body, f"{qualname}.")

    visit(tree.body, "")


def _type_var_declaration(name: str, maker: str, call: ast.Call) -> str:
    """How the stub declares a type variable the source declares with `call`:
    with all of its bounds, constraints, variance and default, or a checker
    would take `TypeVar("T", bound=Key)` for any type."""
    arguments = [ast.unparse(a) for a in call.args[1:]]
    arguments += [ast.unparse(k) for k in call.keywords]
    if any(k.arg == "default" for k in call.keywords):
        # typing.TypeVar takes a default from Python 3.13 on: keep the source's
        # own (typing_extensions'), which the writer imports as the source does.
        maker = ast.unparse(call.func)
    return f'{name} = {maker}("{name}"{"".join(f", {a}" for a in arguments)})'


_LITERALS: Final = (bool, int, float, complex, str, bytes)


def _attributes_of(cls: ast.ClassDef, module: ModuleType, source: str) -> dict[str, str]:
    """`self.x` attributes of a class and the type the source tells, `__init__` first."""
    found: dict[str, str] = {}
    methods = [n for n in cls.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]
    methods.sort(key=lambda n: n.name != "__init__")
    for method in methods:
        if not method.args.args:
            continue
        receiver = method.args.args[0].arg
        params = {
            a.arg: a.annotation
            for a in (*method.args.posonlyargs, *method.args.args, *method.args.kwonlyargs)
            if a.annotation is not None
        }
        for node in ast.walk(method):
            target: ast.expr | None = None
            annotation: ast.expr | None = None
            value: ast.expr | None = None
            if isinstance(node, ast.AnnAssign):
                target, annotation, value = node.target, node.annotation, node.value
            elif isinstance(node, ast.Assign) and len(node.targets) == 1:
                target, value = node.targets[0], node.value
            if not (
                isinstance(target, ast.Attribute)
                and isinstance(target.value, ast.Name)
                and target.value.id == receiver
            ):
                continue
            if target.attr in found:
                continue
            told = _told_type(annotation, value, params, module, source)
            if told is not None:
                found[target.attr] = told
    return found


def _told_type(
    annotation: ast.expr | None,
    value: ast.expr | None,
    params: dict[str, ast.expr],
    module: ModuleType,
    source: str,
) -> str | None:
    if annotation is not None:
        return ast.get_source_segment(source, annotation)
    if isinstance(value, ast.Name) and value.id in params:
        return ast.get_source_segment(source, params[value.id])
    if isinstance(value, ast.Constant) and isinstance(value.value, _LITERALS):
        return type(value.value).__name__
    if isinstance(value, ast.Call) and not value.args and not value.keywords:
        # `dict()`, `Lock()`: a constructor called with nothing says its type.
        spelled = ast.get_source_segment(source, value.func)
        if spelled and inspect.isclass(_lookup(module, spelled)):
            cls = _lookup(module, spelled)
            if not getattr(cls, "__parameters__", ()) and cls not in (dict, list, set):
                return spelled
    if isinstance(value, ast.Call):
        spelled = ast.get_source_segment(source, value.func)
        cls = _lookup(module, spelled) if spelled else None
        if inspect.isclass(cls) and not getattr(cls, "__parameters__", ()):
            if cls not in (dict, list, set, tuple, frozenset):
                return spelled
    return None


def _lookup(module: ModuleType, dotted: str) -> object:
    head, *rest = dotted.split(".")
    value: object = vars(module).get(head, getattr(builtins, head, None))
    for part in rest:
        value = getattr(value, part, None)
    return value


# -- what a function from another module says ------------------------------------


def runtime_signature(fn: Callable[..., Any], imports: list[str]) -> tuple[list[str], str | None]:
    """Parameters and return type of a function from another module, for its stub;
    the names its annotations use are imported from where it was defined (the
    import statements are appended to `imports`)."""
    fn = inspect.unwrap(fn)  # past asynccontextmanager: the annotations are the function's
    module_name = getattr(fn, "__module__", None) or ""
    namespace: dict[str, Any] = getattr(fn, "__globals__", {})
    raw: dict[str, Any] = getattr(fn, "__annotations__", {})

    def spell(annotation: Any) -> str:
        text = annotation if isinstance(annotation, str) else inspect.formatannotation(annotation)
        try:
            tree = ast.parse(text, mode="eval")
        except SyntaxError:
            return "_Incomplete"

        class Qualify(ast.NodeTransformer):
            def visit_Attribute(self, node: ast.Attribute) -> ast.expr:
                root: ast.expr = node
                while isinstance(root, ast.Attribute):
                    root = root.value
                if isinstance(root, ast.Name) and root.id not in namespace:
                    return ast.Name("_Incomplete")
                self.generic_visit(node)
                return node

            def visit_Name(self, node: ast.Name) -> ast.expr:
                if node.id not in namespace:
                    return node if hasattr(builtins, node.id) else ast.Name("_Incomplete")
                value = namespace[node.id]
                alias = f"_{module_name.replace('.', '_')}__{node.id}"
                if isinstance(value, ModuleType):
                    imports.append(f"import {value.__name__} as {alias}")
                else:
                    imports.append(f"from {module_name} import {node.id} as {alias}")
                return ast.Name(alias)

        return ast.unparse(Qualify().visit(tree))

    signature = inspect.signature(fn)
    params: list[str] = []
    star_seen = False
    previous_kind = None
    for parameter in signature.parameters.values():
        kind = parameter.kind
        if previous_kind == inspect.Parameter.POSITIONAL_ONLY and kind != previous_kind:
            params.append("/")
        if kind == inspect.Parameter.KEYWORD_ONLY and not star_seen:
            params.append("*")
            star_seen = True
        text = parameter.name
        if kind == inspect.Parameter.VAR_POSITIONAL:
            text, star_seen = f"*{text}", True
        elif kind == inspect.Parameter.VAR_KEYWORD:
            text = f"**{text}"
        if parameter.name in raw:
            text += f": {spell(raw[parameter.name])}"
        if parameter.default is not inspect.Parameter.empty:
            text += " = ..." if parameter.name in raw else "=..."
        params.append(text)
        previous_kind = kind
    if previous_kind == inspect.Parameter.POSITIONAL_ONLY:
        params.append("/")
    ret = spell(raw["return"]) if "return" in raw else None
    return params, ret
