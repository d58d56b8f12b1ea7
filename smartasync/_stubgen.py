"""The stub generator: `.pyi` files that type dual methods for checkers with no plugin.

    python -m smartasync stubgen MODULE_OR_PACKAGE [...] [-o DIR] [--async-first] [--check]

A checker without a plugin cannot make a call's type depend on who is
calling, so each stub set picks one answer for the bare call: the result `T`
(sync-first, the default) or the coroutine (`--async-first`).  The explicit
forms `.sync()` / `.aio()` are exact in both.  Stubs go to `typings/` by
default, where pyright and basedpyright look without configuration.

How: mypy's own stubgen writes the base stubs (signatures, overloads,
imports, generic classes, docstrings).  The target is then imported, and
smartasync itself says which callables are dual and of what kind (coroutine,
async generator, async context manager) and which sync twins (`__enter__`,
`__iter__`, ...) a smart class got.  The stub is rewritten from its syntax
tree:

- a dual `async def` becomes an attribute typed by a small class written for
  it (`get: _dual_Client_get`), with the real `__call__` (every overload, the
  bare call's type), `.sync`, `.aio`, and a `__get__` returning itself.  Why
  this shape: pyright matches a user `Protocol` method or a `Callable`
  parameter against an attribute's `__call__`, while pyrefly wants a member
  that binds like a method (a descriptor); this is both, and ty accepts it.
  `Self` and the class's type variables are passed as type arguments
  (`renamed: _dual_Client_renamed[_Self]`), so a subclass gets itself back;
- an `@asynccontextmanager` method returns `DualContextManager[T]`, usable
  with `with` and `async with`;
- an abstract dual method stays abstract: `@abstractmethod` needs a def, so
  it is written as one, whose decorator types it as the attribute would be;
- the sync twins are written next to their async originals;
- attributes set in `__init__`, which mypy's stubgen writes `Incomplete`,
  get the type the source tells (an annotation, an annotated parameter, a
  literal, a constructor call);
- async methods a smart class inherits from a base that is not smart (an
  `httpx.AsyncClient`, say) are made dual at run time, so they are written
  into the smart class's stub from the base's own annotations.

Importing the target runs its module-level code, as importing it would.
"""

from __future__ import annotations

import argparse
import ast
import builtins
import difflib
import importlib
import importlib.util
import inspect
import re
import sys
import tempfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any, Final, ParamSpec, TypeVar

from ._class import TWIN_IMPLS
from ._dual import DualClassMethod, DualFunction
from ._kinds import ASYNCGEN, CONTEXT_MANAGER, Kind
from ._modes import is_smart_class
from ._protocol import TWIN_OF, TWINS

DEFAULT_OUTPUT: Final = "typings"

_DEF: Final = re.compile(
    r"^(?P<indent>\s*)(?P<async>async\s+)?def\s+(?P<name>\w+)\((?P<params>.*)\)"
    r"(?:\s*->\s*(?P<ret>.+?))?:\s*(?:\.\.\.)?\s*$"
)
_ASYNC_ITER: Final = re.compile(
    r"^(?:[\w.]*\.)?(?:AsyncIterator|AsyncIterable|AsyncGenerator)\[(?P<item>.+?)(?:,\s*[^,\[\]]+)?\]$"
)
_ACM_DECORATOR: Final = re.compile(r"^@(?:[\w.]*\.)?asynccontextmanager\s*$")
_BINDING_DECORATOR: Final = re.compile(r"^@(?:builtins\.)?(?:classmethod|staticmethod)\s*$")
_OVERLOAD_DECORATOR: Final = re.compile(r"^@(?:[\w.]*\.)?overload\s*$")
_ABSTRACT_DECORATOR: Final = re.compile(r"^@(?:[\w.]*\.)?abstractmethod\s*$")
_SELF: Final = re.compile(r"\b(?:typing\.|typing_extensions\.)?Self\b")

_HEAD: Final = (
    "from _typeshed import Incomplete as _Incomplete",
    "from collections.abc import AsyncGenerator as _AsyncGenerator",
    "from collections.abc import Iterator as _Iterator",
    "from types import CoroutineType as _CoroutineType",
    "from typing import Any as _Any",
    "from typing import Generic as _Generic",
    "from typing import ParamSpec as _ParamSpec",
    "from typing import Self as _Self",
    "from typing import TypeVar as _TypeVar",
    "from typing import overload as _overload",
    "",
    "from smartasync._typing import DualContextManager as _DualContextManager",
    "",
)


class StubgenError(Exception):
    """A target that cannot be turned into stubs; the message says why and what to do."""


# -- what smartasync says about a module ------------------------------------------


@dataclass
class _Dual:
    kind: Kind
    binding: str = "function"  # or "method", "classmethod", "staticmethod"
    wrapped: Callable[..., Any] | None = None


@dataclass
class _ModuleFacts:
    duals: dict[str, _Dual] = field(default_factory=dict)  # qualname -> what it is
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


def _collect(module: ModuleType) -> _ModuleFacts:
    """What is dual in `module`, found through smartasync's own objects."""
    from . import _api

    facts = _ModuleFacts(decorator_names={"smartasync"})
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
                facts.duals[f"{qualname}.{name}"] = _Dual(
                    attr._kind, "classmethod", attr.__wrapped__
                )
            elif isinstance(inner, DualFunction):
                binding = "staticmethod" if isinstance(attr, staticmethod) else "method"
                facts.duals[f"{qualname}.{name}"] = _Dual(inner._kind, binding, inner.__wrapped__)
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
            facts.duals[name] = _Dual(value._kind, "function", value.__wrapped__)
        elif inspect.isclass(value) and value.__module__ == module.__name__:
            if value.__qualname__ == name:
                visit_class(value, name)
    _read_source(module, facts)
    return facts


# -- what the source says that mypy's stubgen drops -------------------------------


def _read_source(module: ModuleType, facts: _ModuleFacts) -> None:
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


# -- rewriting mypy's stub ------------------------------------------------------------


def _split_params(params: str) -> list[str]:
    """Top-level comma-separated parts of a parameter list."""
    parts: list[str] = []
    depth = 0
    quote = ""
    current = ""
    for char in params:
        if quote:
            current += char
            if char == quote:
                quote = ""
            continue
        if char in "'\"":
            quote = char
        elif char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
        elif char == "," and depth == 0:
            parts.append(current.strip())
            current = ""
            continue
        current += char
    if current.strip():
        parts.append(current.strip())
    return parts


def _item_type(ret: str | None) -> str:
    if ret:
        match = _ASYNC_ITER.match(ret.strip())
        if match:
            return match.group("item")
    return "_Incomplete"


def _sync_return(async_name: str, ret: str | None) -> str:
    """A twin's return type, from its async original's annotation."""
    if not ret:
        return "_Incomplete"
    if async_name == "__aiter__":
        match = _ASYNC_ITER.match(ret.strip())
        return f"_Iterator[{match.group('item')}]" if match else ret
    return ret


def _docstring_lines(doc: str | None, pad: str) -> list[str]:
    if not doc:
        return []
    text = inspect.cleandoc(doc).replace("\\", "\\\\").replace('"""', '\\"\\"\\"')
    lines = text.splitlines() or [""]
    if len(lines) == 1:
        return [f'{pad}"""{lines[0]}"""']
    return [f'{pad}"""{lines[0]}', *(f"{pad}{x}" if x else "" for x in lines[1:]), f'{pad}"""']


@dataclass
class _Signature:
    params: str  # as written, without the receiver
    ret: str | None
    overload: bool


@dataclass
class _Pending:
    """A dual callable being written: its signatures, in order (overloads)."""

    qualname: str
    dual: _Dual
    signatures: list[_Signature] = field(default_factory=list)
    doc: str | None = None
    abstract: str | None = None  # the `@abstractmethod` line to write, if it is abstract


def _one_statement_a_line(stub: str) -> str:
    """`class X: ...` written as a header line and a body line.

    mypy's stubgen writes an empty class on one line, and the rewrite copies
    a class's header and then each statement of its body by line numbers: a
    body on the header's line would be copied twice, the second time as the
    header of a class with no body.  Splitting such lines first leaves every
    class in the one shape the rewrite knows, whatever its body (`pass`, `...`,
    a docstring), its nesting or its decorators.
    """
    lines = stub.splitlines()
    splits: list[tuple[int, int, str]] = []  # (line index, column, the body's indent)
    for node in ast.walk(ast.parse(stub)):
        if isinstance(node, ast.ClassDef):
            index = node.body[0].lineno - 1
            # col_offset counts UTF-8 bytes
            column = len(lines[index].encode()[: node.body[0].col_offset].decode())
            if lines[index][:column].strip():  # the header's colon is on this line
                splits.append((index, column, " " * (node.col_offset + 4)))
    for index, column, pad in sorted(splits, reverse=True):  # bottom up: indices stay right
        text = lines[index]
        lines[index : index + 1] = [text[:column].rstrip(), pad + text[column:].strip()]
    return "\n".join(lines) + "\n"


class _Writer:
    def __init__(self, stub: str, facts: _ModuleFacts, async_first: bool) -> None:
        stub = _one_statement_a_line(stub)
        self.lines = stub.splitlines()
        self.tree = ast.parse(stub)
        self.facts = facts
        self.async_first = async_first
        self.smartasync_line = _decorator_pattern(facts.decorator_names)
        self.out: list[str] = []
        self.helpers: list[str] = []  # the helper classes, written at the end
        self.defined = _top_level_names(self.tree)
        self.needed_imports: list[str] = []
        # qualname -> (indent, docstring lines) of a dual member still to write
        self.marks: dict[str, tuple[str, list[str]]] = {}
        self.dual_member_used = False

    def write(self) -> str:
        self.body(self.tree.body, "", "")
        used = set(re.findall(r"\b\w+\b", "\n".join(self.out + self.helpers)))
        missing = [
            declared
            for name, declared in self.facts.type_vars.items()
            if name in used and name not in self.defined
        ]
        for declared in missing:
            self.need_names(declared.split(" = ", 1)[1])  # a bound's class, the maker
        imports = list(dict.fromkeys(self.needed_imports))
        if missing:
            imports += ["", *missing]
        if self.dual_member_used:
            # Before its first use: ty reads a decorator in a stub top-down.
            imports += [
                "",
                '_MemberT = _TypeVar("_MemberT")',
                "def _dual_member(f: _Callable[..., _MemberT], /) -> _MemberT: ...",
            ]
        helpers = ["", '_SelfT = _TypeVar("_SelfT")', *self.helpers] if self.helpers else []
        return "\n".join([*imports, *self.out, *helpers]).rstrip("\n") + "\n"

    def source(self, node: ast.stmt) -> list[str]:
        """The text of a statement as mypy's stubgen wrote it."""
        first = min([node.lineno, *(d.lineno for d in _decorators(node))])
        assert node.end_lineno is not None
        return self.lines[first - 1 : node.end_lineno]

    def klass(self, node: ast.ClassDef, qualname: str) -> None:
        first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
        # Up to the line before the body (its first decorator): a header may
        # span lines (long bases).
        body_first = min([node.body[0].lineno, *(d.lineno for d in _decorators(node.body[0]))])
        self.out.extend(self.lines[first - 1 : body_first - 1])
        pad = " " * (node.col_offset + 4)
        body_start = len(self.out)
        self.body(node.body, qualname, pad)
        if len(self.out) == body_start:
            self.out.append(f"{pad}...")

    def body(self, nodes: list[ast.stmt], qualname: str, pad: str) -> None:
        """A module's or a class's statements; `qualname` is the class's, or empty."""
        pending: dict[str, _Pending] = {}
        originals: dict[str, tuple[str, str | None]] = {}  # async protocol name -> (params, ret)
        written: set[str] = set()
        attributes = self.facts.attributes.get(qualname, {})
        previous_end: int | None = None
        for member in nodes:
            start = min([member.lineno, *(d.lineno for d in _decorators(member))])
            if previous_end is not None:
                self.out.extend(self.lines[previous_end : start - 1])  # blank lines, kept
            previous_end = member.end_lineno
            if isinstance(member, ast.ClassDef):
                self.klass(member, _join(qualname, member.name))
                continue
            if qualname and _is_ellipsis(member):
                continue  # an empty body's placeholder: `klass` writes one if still empty
            if isinstance(member, (ast.FunctionDef, ast.AsyncFunctionDef)):
                written.add(member.name)
                match = _DEF.match(self.lines[member.lineno - 1])
                assert match is not None, self.lines[member.lineno - 1]
                if member.name in TWIN_OF.values() or member.name == "__aiter__":
                    originals[member.name] = (match["params"], match["ret"])
                dual = self.facts.duals.get(_join(qualname, member.name))
                if dual is not None and dual.kind != CONTEXT_MANAGER:
                    self.dual_member(member, match, qualname, dual, pending, pad)
                    continue
                if dual is not None:
                    self.context_manager(member, match)
                    continue
            if (
                isinstance(member, ast.AnnAssign)
                and isinstance(member.target, ast.Name)
                and isinstance(member.annotation, ast.Name)
                and member.annotation.id == "Incomplete"
                and member.target.id in attributes
            ):
                told = attributes[member.target.id]
                self.need_names(told)
                self.out.append(f"{pad}{member.target.id}: {told}")
                continue
            self.out.extend(self.source(member))
        if qualname:
            # Async methods inherited from bases that are not smart: dual at run time.
            for name in self.inherited(qualname, written):
                self.from_runtime(
                    name, self.facts.duals[f"{qualname}.{name}"], qualname, pending, pad
                )
        for item in pending.values():
            self.helpers.extend(["", *self.helper(item, qualname)])
        self.out.extend(self.twins(qualname, originals, pad))

    def inherited(self, qualname: str, written: set[str]) -> list[str]:
        """Dual members of the class that are not in mypy's stub because they come
        from a base (mypy's stub leaves out the class's own private ones: so do we)."""
        prefix = f"{qualname}."
        names = []
        for key, dual in self.facts.duals.items():
            name = key[len(prefix) :]
            if not key.startswith(prefix) or "." in name or name in written:
                continue
            defined_in = getattr(dual.wrapped, "__qualname__", "").rsplit(".", 1)[0]
            if defined_in != qualname.rsplit(".", 1)[-1] and defined_in != qualname:
                names.append(name)
        return names

    def dual_member(
        self,
        member: ast.FunctionDef | ast.AsyncFunctionDef,
        match: re.Match[str],
        qualname: str,
        dual: _Dual,
        pending: dict[str, _Pending],
        pad: str,
    ) -> None:
        decorators = [self.lines[d.lineno - 1].strip() for d in member.decorator_list]
        params = _split_params(match["params"])
        if dual.binding in ("method", "classmethod") and params:
            params = params[1:]
            if params and params[0] == "/":
                params = params[1:]
        item = pending.get(member.name)
        if item is None:
            item = pending[member.name] = _Pending(_join(qualname, member.name), dual)
            item.doc = ast.get_docstring(member, clean=False) or inspect.getdoc(dual.wrapped)
            self.attribute_line(item, qualname, pad)
        elif item.doc is None:
            item.doc = ast.get_docstring(member, clean=False)
        abstract = [d for d in decorators if _ABSTRACT_DECORATOR.match(d)]
        if abstract and item.abstract is None:
            item.abstract = abstract[0]
        item.signatures.append(
            _Signature(
                ", ".join(params),
                match["ret"],
                any(_OVERLOAD_DECORATOR.match(d) for d in decorators),
            )
        )

    def from_runtime(
        self, name: str, dual: _Dual, qualname: str, pending: dict[str, _Pending], pad: str
    ) -> None:
        assert dual.wrapped is not None
        params, ret = _runtime_signature(dual.wrapped, self)
        if dual.binding in ("method", "classmethod") and params:
            params = params[1:]
        abstract = getattr(dual.wrapped, "__isabstractmethod__", False)
        if abstract:
            self.needed_imports.append("from abc import abstractmethod as _abstractmethod")
        if dual.kind == CONTEXT_MANAGER:
            receiver = "cls" if dual.binding == "classmethod" else "self"
            if dual.binding != "staticmethod":
                params = [receiver, *params]
            if dual.binding != "method":
                self.out.append(f"{pad}@{dual.binding}")
            if abstract:
                self.out.append(f"{pad}@_abstractmethod")
            self.out.append(
                f"{pad}def {name}({', '.join(params)}) -> _DualContextManager[{_item_type(ret)}]:"
            )
            self.out.extend(_docstring_lines(inspect.getdoc(dual.wrapped), pad + "    "))
            if not inspect.getdoc(dual.wrapped):
                self.out[-1] += " ..."
            return
        item = pending[name] = _Pending(f"{qualname}.{name}", dual)
        item.doc = inspect.getdoc(dual.wrapped)
        item.abstract = "@_abstractmethod" if abstract else None
        item.signatures.append(_Signature(", ".join(params), ret, False))
        self.attribute_line(item, qualname, pad)

    def attribute_line(self, item: _Pending, qualname: str, pad: str) -> None:
        # Type arguments are filled in when the helper is written (they depend
        # on every overload), and so is `@abstractmethod` (on any overload):
        # leave a mark and patch it then.
        self.out.append(f"\x00{item.qualname}")
        self.marks[item.qualname] = (pad, _docstring_lines(item.doc, pad))

    def member_lines(self, item: _Pending, annotation: str) -> str:
        """What stands for a dual callable in its class (where `attribute_line` left a mark).

        An attribute typed by its helper; an abstract one is that attribute
        written as a method (`@abstractmethod` needs a def), whose decorator
        `_dual_member` gives it the type its def returns: the helper.  Checkers
        then count it abstract, and the def can name `Self` and the class's
        type variables, as the attribute does.  (Not `@property`: pyright
        would no longer match it to a Protocol's method; nor the helper class
        itself as decorator: it cannot take those type arguments there.)
        """
        pad, doc = self.marks.pop(item.qualname)
        name = item.qualname.rsplit(".", 1)[-1]
        if item.abstract is None:
            return "\n".join([f"{pad}{name}: {annotation}", *doc])
        self.needed_imports.append("from collections.abc import Callable as _Callable")
        self.dual_member_used = True
        lines = [f"{pad}{item.abstract}", f"{pad}@_dual_member"]
        doc = [f"    {line}" if line else line for line in doc]
        lines.append(f"{pad}def {name}(self) -> {annotation}:" + ("" if doc else " ..."))
        return "\n".join([*lines, *doc])

    def context_manager(
        self, member: ast.FunctionDef | ast.AsyncFunctionDef, match: re.Match[str]
    ) -> None:
        text = self.source(member)
        def_at = member.lineno - min([member.lineno, *(d.lineno for d in member.decorator_list)])
        kept = [
            line
            for line in text[:def_at]
            if not self.smartasync_line.match(line.strip())
            and not _ACM_DECORATOR.match(line.strip())
        ]
        tail = ": ..." if text[def_at].rstrip().endswith("...") else ":"
        kept.append(
            f"{match['indent']}def {match['name']}({match['params']}) "
            f"-> _DualContextManager[{_item_type(match['ret'])}]{tail}"
        )
        self.out.extend([*kept, *text[def_at + 1 :]])

    def helper(self, item: _Pending, owner: str) -> list[str]:
        """The class that types one dual callable: `__call__`, `.sync`, `.aio`."""
        name = _helper_name(item.qualname)
        texts = " ".join(f"{s.params} {s.ret}" for s in item.signatures)
        uses_self = bool(_SELF.search(texts)) and bool(owner)
        class_params = [
            p for p in self.facts.params.get(owner, []) if re.search(rf"\b{re.escape(p)}\b", texts)
        ]
        type_params = (["_SelfT"] if uses_self else []) + class_params
        arguments = (["_Self"] if uses_self else []) + class_params
        annotation = name + (f"[{', '.join(arguments)}]" if arguments else "")
        mark = f"\x00{item.qualname}"
        self.out[:] = [self.member_lines(item, annotation) if x == mark else x for x in self.out]
        base = f"(_Generic[{', '.join(type_params)}])" if type_params else ""
        own = f"[{', '.join(type_params)}]" if type_params else ""
        lines = [f"class {name}{base}:"]
        if item.dual.binding == "method":
            # Read through the class, a method takes its receiver first.
            lines += [
                "    @_overload",
                f"    def __get__(self, obj: None, owner: _Any, /) -> {name}_unbound{own}: ...",
                "    @_overload",
                "    def __get__(self, obj: object, owner: _Any = None, /) -> _Self: ...",
            ]
        elif item.dual.binding != "function":
            lines.append("    def __get__(self, obj: object, owner: _Any = None, /) -> _Self: ...")
        lines += self.faces(item, receiver=False)
        if item.dual.binding == "method":
            lines += ["", f"class {name}_unbound{base}:", *self.faces(item, receiver=True)]
        return lines

    def faces(self, item: _Pending, *, receiver: bool) -> list[str]:
        """`__call__`, `sync` and `aio`, with every overload."""
        lines = []
        overloaded = len(item.signatures) > 1 and all(s.overload for s in item.signatures)
        for face in ("__call__", "sync", "aio"):
            for signature in item.signatures:
                params = _SELF.sub("_SelfT", signature.params)
                ret = _SELF.sub("_SelfT", signature.ret) if signature.ret else None
                result = self.result(item.dual.kind, face, ret)
                if overloaded:
                    lines.append("    @_overload")
                parts = ["self"]
                if receiver:
                    parts.append("receiver: _Any")
                    if "/" not in _split_params(params):
                        parts.append("/")
                if params:
                    parts.append(params)
                joined = ", ".join(parts)
                doc = [] if receiver or face != "__call__" else _docstring_lines(item.doc, " " * 8)
                if doc and not overloaded:
                    lines.append(f"    def {face}({joined}) -> {result}:")
                    lines.extend(doc)
                else:
                    lines.append(f"    def {face}({joined}) -> {result}: ...")
                if not overloaded:
                    break
        return lines

    def result(self, kind: Kind, face: str, ret: str | None) -> str:
        bare = "aio" if self.async_first else "sync"
        face = bare if face == "__call__" else face
        if kind == ASYNCGEN:
            item = _item_type(ret)
            return f"_Iterator[{item}]" if face == "sync" else f"_AsyncGenerator[{item}, None]"
        value = ret or "_Incomplete"
        # What checkers infer for an `async def` (not the wider
        # collections.abc.Coroutine): a dual method then satisfies a Protocol
        # written with `async def`, and ty's unused-awaitable check fires.
        return value if face == "sync" else f"_CoroutineType[_Any, _Any, {value}]"

    def twins(
        self, qualname: str, originals: dict[str, tuple[str, str | None]], pad: str
    ) -> list[str]:
        new_lines = []
        for sync_name in self.facts.twins.get(qualname, []):
            async_name = TWIN_OF[sync_name]
            if async_name in originals:
                params, ret = originals[async_name]
                new_lines.append(
                    f"{pad}def {sync_name}({params}) -> {_sync_return(async_name, ret)}: ..."
                )
            elif sync_name in ("__enter__", "__iter__"):
                new_lines.append(f"{pad}def {sync_name}(self) -> _Self: ...")
            elif sync_name == "__exit__":
                new_lines.append(
                    f"{pad}def {sync_name}(self, *exc_info: object) -> bool | None: ..."
                )
            else:
                new_lines.append(f"{pad}def {sync_name}(self) -> _Incomplete: ...")
        return new_lines

    def need_names(self, annotation: str) -> None:
        """Import what an annotation taken from the source names, if the stub does not."""
        try:
            tree = ast.parse(annotation, mode="eval")
        except SyntaxError:
            return
        for node in ast.walk(tree):
            if isinstance(node, ast.Name) and node.id not in self.defined:
                statement = self.facts.imports.get(node.id)
                if statement is not None:
                    self.needed_imports.append(statement)
                    self.defined.add(node.id)


def _is_ellipsis(node: ast.stmt) -> bool:
    return (
        isinstance(node, ast.Expr)
        and isinstance(node.value, ast.Constant)
        and node.value.value is Ellipsis
    )


def _join(qualname: str, name: str) -> str:
    return f"{qualname}.{name}" if qualname else name


def _helper_name(qualname: str) -> str:
    return "_dual_" + qualname.replace(".", "_")


def _decorators(node: ast.stmt) -> list[ast.expr]:
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return node.decorator_list
    return []


def _top_level_names(tree: ast.Module) -> set[str]:
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
        elif isinstance(node, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
    return names


def _runtime_signature(fn: Callable[..., Any], writer: _Writer) -> tuple[list[str], str | None]:
    """Parameters and return type of a function from another module, for its stub;
    the names its annotations use are imported from where it was defined."""
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
                    writer.needed_imports.append(f"import {value.__name__} as {alias}")
                else:
                    writer.needed_imports.append(f"from {module_name} import {node.id} as {alias}")
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


def _decorator_pattern(names: set[str]) -> re.Pattern[str]:
    spelled = "|".join(re.escape(n) for n in sorted(names, key=len, reverse=True))
    return re.compile(rf"^@(?:{spelled})(?:\(.*\))?\s*$")


def transform(stub: str, facts: _ModuleFacts, *, async_first: bool) -> str:
    """Rewrite mypy-stubgen output so dual callables are typed (see the module docstring)."""
    body = _Writer(stub, facts, async_first).write()
    mode = "async-first" if async_first else "sync-first"
    head = [f"# Generated by `python -m smartasync stubgen` ({mode}); regenerate, do not edit."]
    return "\n".join([*head, *_HEAD, body.rstrip("\n")]) + "\n"


# -- running mypy's stubgen and the whole command ------------------------------


def _resolve(target: str) -> tuple[str, Path]:
    """(module name, search path root) for a dotted name or a file/directory path."""
    path = Path(target)
    if path.suffix == ".py" or "/" in target or path.is_dir():
        if not path.exists():
            raise StubgenError(f"no such file or directory: {target}")
        path = path.resolve()
        parts = [path.stem] if path.suffix == ".py" else [path.name]
        if path.suffix == ".py" and path.stem == "__init__":
            parts = []
        parent = path.parent
        while (parent / "__init__.py").exists():
            parts.insert(0, parent.name)
            parent = parent.parent
        return ".".join(parts), parent
    if not all(part.isidentifier() for part in target.split(".")):
        raise StubgenError(f"not a module name or a path: {target!r}")
    return target, Path.cwd()


def _import(name: str) -> ModuleType:
    try:
        return importlib.import_module(name)
    except ImportError as exc:
        raise StubgenError(
            f"cannot import {name}: {exc}\n"
            "Run stubgen where the package imports (its virtual environment, with the "
            "project root on sys.path), or pass a path to the .py file or package directory."
        ) from None
    except Exception as exc:
        raise StubgenError(f"importing {name} raised {type(exc).__name__}: {exc}") from None


def _modules(name: str) -> Iterator[ModuleType]:
    module = _import(name)
    yield module
    if hasattr(module, "__path__"):
        import pkgutil

        for info in pkgutil.walk_packages(module.__path__, prefix=f"{name}."):
            if info.name.rsplit(".", 1)[-1] == "__main__":
                continue  # importing it would run the program
            yield _import(info.name)


def _run_mypy_stubgen(name: str, root: Path, package: bool, output: Path) -> None:
    try:
        from mypy.stubgen import main as mypy_stubgen
    except ImportError:
        raise StubgenError(
            "stubgen builds on mypy's stubgen, and mypy is not installed: pip install mypy"
        ) from None
    flag = "-p" if package else "-m"
    args = [flag, name, "--search-path", str(root), "-o", str(output), "--quiet"]
    mypy_stubgen([*args, "--include-docstrings"])


def render(targets: Sequence[str], *, async_first: bool = False) -> dict[Path, str]:
    """The stubs for `targets` (module names or paths): relative path -> text.

    Every stub is parsed here, so no caller writes one that does not parse.

    Raises:
        StubgenError: a target does not exist or cannot be imported, mypy is
            missing, or a stub came out that does not parse (a bug in stubgen).
    """
    rendered = _render(targets, async_first=async_first)
    broken = [
        f"{_module_of(relative)} ({relative}, line {error.lineno}: {error.msg})"
        for relative, text in rendered.items()
        if (error := _syntax_error(text, relative)) is not None
    ]
    if broken:
        raise StubgenError(
            "the stub written for "
            + ", ".join(broken)
            + " does not parse; nothing was written.  This is a bug in smartasync stubgen: "
            "please report it with the source of that module (or the smallest part of it "
            "that gives the error)."
        )
    return rendered


def _syntax_error(text: str, path: Path) -> SyntaxError | None:
    try:
        ast.parse(text, filename=str(path))
    except SyntaxError as error:
        return error
    return None


def _module_of(relative: Path) -> str:
    """The module a stub's path (relative to the stub directory) stands for."""
    parts = relative.with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _render(targets: Sequence[str], *, async_first: bool) -> dict[Path, str]:
    rendered: dict[Path, str] = {}
    for target in targets:
        name, root = _resolve(target)
        if str(root) not in sys.path:
            sys.path.insert(0, str(root))
        modules = list(_modules(name))
        with tempfile.TemporaryDirectory() as scratch:
            base = Path(scratch)
            _run_mypy_stubgen(name, root, hasattr(modules[0], "__path__"), base)
            for module in modules:
                relative = Path(*module.__name__.split("."))
                stub = base / (
                    relative / "__init__.pyi"
                    if hasattr(module, "__path__")
                    else relative.with_suffix(".pyi")
                )
                if not stub.exists():
                    continue
                text = transform(stub.read_text(), _collect(module), async_first=async_first)
                rendered[stub.relative_to(base)] = text
    return rendered


def generate(targets: Sequence[str], output: Path, *, async_first: bool = False) -> list[Path]:
    """Write stubs for `targets` under `output`; the files written.

    Raises:
        StubgenError: as `render`.
    """
    written = []
    for relative, text in render(targets, async_first=async_first).items():
        destination = output / relative
        destination.parent.mkdir(parents=True, exist_ok=True)
        destination.write_text(text)
        written.append(destination)
    return written


@dataclass
class CheckReport:
    """What `check` found wrong with the stubs on disk."""

    diffs: list[str] = field(default_factory=list)  # a unified diff per stale stub
    unparsable: list[tuple[Path, SyntaxError]] = field(default_factory=list)
    # stubs of modules that are gone: (path, the module it stood for)
    leftovers: list[tuple[Path, str]] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.diffs or self.unparsable or self.leftovers)


def check(targets: Sequence[str], output: Path, *, async_first: bool = False) -> CheckReport:
    """Compare the stubs on disk with fresh ones; the report is empty (false) when fresh.

    Besides stale stubs it reports the ones on disk that do not parse (a
    checker stops at them) and leftovers: stubs in a package's stub directory
    whose module no longer exists, which checkers would still trust.

    Raises:
        StubgenError: as `render`.
    """
    report = CheckReport()
    rendered = render(targets, async_first=async_first)
    for relative, text in rendered.items():
        path = output / relative
        old = path.read_text() if path.exists() else ""
        if old != text:
            report.diffs.append(
                "".join(
                    difflib.unified_diff(
                        old.splitlines(keepends=True),
                        text.splitlines(keepends=True),
                        fromfile=str(path) if path.exists() else "/dev/null",
                        tofile=f"{path} (regenerated)",
                    )
                )
            )
    # A package's stubs live in its own directory: everything there is ours to judge.
    on_disk = {relative for relative in rendered if (output / relative).exists()}
    for relative in rendered:
        if relative.name == "__init__.pyi" and (output / relative.parent).is_dir():
            on_disk.update(p.relative_to(output) for p in (output / relative.parent).rglob("*.pyi"))
    for relative in sorted(on_disk):
        path = output / relative
        if relative not in rendered and _find_spec(_module_of(relative)) is None:
            report.leftovers.append((path, _module_of(relative)))
            continue
        error = _syntax_error(path.read_text(), path)
        if error is not None:
            report.unparsable.append((path, error))
    return report


def _find_spec(name: str) -> object:
    """The module's spec, or None when it does not exist (nor its package, nor
    such a name: a stray `.x.pyi` stands for no module either)."""
    try:
        return importlib.util.find_spec(name)
    except (ImportError, ValueError):
        return None


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m smartasync stubgen ...`; returns the exit status."""
    parser = argparse.ArgumentParser(
        prog="python -m smartasync stubgen",
        description="Write .pyi stubs that type smartasync's dual methods for checkers "
        "without a plugin (pyright / Pylance, basedpyright, pyrefly, ty).",
    )
    parser.add_argument(
        "targets",
        nargs="+",
        metavar="MODULE_OR_PACKAGE",
        help="a dotted module or package name, or a path to a .py file or package directory",
    )
    parser.add_argument(
        "-o",
        "--output",
        default=DEFAULT_OUTPUT,
        help=f"output directory (default: {DEFAULT_OUTPUT}/, where pyright looks by default)",
    )
    parser.add_argument(
        "--async-first",
        action="store_true",
        help="type the bare call as the coroutine (default: as the result)",
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="write nothing; exit 1 if the stubs on disk are stale (with a diff), do not "
        "parse, or stand for modules that no longer exist",
    )
    args = parser.parse_args(argv)
    output = Path(args.output)
    try:
        if args.check:
            report = check(args.targets, output, async_first=args.async_first)
        else:
            written = generate(args.targets, output, async_first=args.async_first)
    except StubgenError as exc:
        print(f"smartasync stubgen: {exc}", file=sys.stderr)
        return 1
    if args.check:
        flags = " --async-first" if args.async_first else ""
        command = f"python -m smartasync stubgen {' '.join(args.targets)} -o {output}{flags}"
        for diff in report.diffs:
            sys.stdout.write(diff)
        for path, error in report.unparsable:
            print(
                f"smartasync stubgen: {path}, line {error.lineno}: does not parse "
                f"({error.msg}), and checkers stop at it; run: {command}",
                file=sys.stderr,
            )
        for path, module in report.leftovers:
            print(
                f"smartasync stubgen: {path} is a leftover: its module {module} no longer "
                "exists, yet checkers would still read the stub; delete it",
                file=sys.stderr,
            )
        if report.diffs:
            print(
                f"smartasync stubgen: stubs under {output}/ are stale; run: {command}",
                file=sys.stderr,
            )
        return 1 if report else 0
    for path in written:
        print(path)
    return 0
