"""The stub generator: `.pyi` files that type dual methods for checkers with no plugin.

    python -m smartasync stubgen MODULE_OR_PACKAGE [...] [-o DIR] [--async-first]

A checker without a plugin cannot make a call's type depend on who is
calling, so each stub set picks one answer for the bare call: the result `T`
(sync-first, the default) or the coroutine (`--async-first`).  The explicit
forms `.sync()` / `.aio()` are exact in both.

How: mypy's own stubgen writes the base stubs (signatures, imports, generic
classes, positional-only and keyword-only parameters, `**kwargs`).  The target
is then imported, and smartasync itself says which callables are dual and of
what kind (coroutine, async generator, async context manager) and which sync
twins (`__enter__`, `__iter__`, ...) a smart class got.  What mypy's stubgen
loses is made up on the text:

- every dual `async def` gets `@_sync_first` / `@_async_first` (typing-only
  facades from `smartasync._typing`), so the bare call, `.sync` and `.aio`
  are typed; the `@smartasync` decorator line (under any alias) is dropped;
- an async generator is written `def ... -> AsyncIterator[Y]` (an `async def`
  in a stub would be a coroutine returning the iterator);
- an `@asynccontextmanager` method is written returning
  `DualContextManager[T]`, usable with `with` and `async with`;
- the sync twins are written next to their async originals.

Importing the target runs its module-level code, as importing it would.
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import re
import sys
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Final

from ._class import TWIN_IMPLS
from ._dual import DualClassMethod, DualFunction
from ._kinds import ASYNCGEN, CONTEXT_MANAGER
from ._modes import is_smart_class
from ._protocol import TWIN_OF, TWINS

DEFAULT_OUTPUT: Final = "stubs"

_DEF: Final = re.compile(
    r"^(?P<indent>\s*)(?P<async>async\s+)?def\s+(?P<name>\w+)\((?P<params>.*)\)"
    r"(?:\s*->\s*(?P<ret>.+?))?:\s*\.\.\.\s*$"
)
_CLASS: Final = re.compile(r"^(?P<indent>\s*)class\s+(?P<name>\w+)")
_ASYNC_ITER: Final = re.compile(
    r"^(?:[\w.]*\.)?(?:AsyncIterator|AsyncIterable|AsyncGenerator)\[(?P<item>.+?)(?:,\s*[^,\[\]]+)?\]$"
)
_ACM_DECORATOR: Final = re.compile(r"^@(?:[\w.]*\.)?asynccontextmanager\s*$")
_BINDING_DECORATOR: Final = re.compile(r"^@(?:builtins\.)?(?:classmethod|staticmethod)\s*$")

_SELF: Final = re.compile(r"\b(?:typing\.|typing_extensions\.)?Self\b")


@dataclass
class _Dual:
    kind: str  # _kinds.COROUTINE / ASYNCGEN / CONTEXT_MANAGER
    binding: str = "function"  # or "method", "classmethod", "staticmethod"


@dataclass
class _ModuleFacts:
    duals: dict[str, _Dual] = field(default_factory=dict)  # qualname -> kind
    twins: dict[str, list[str]] = field(default_factory=dict)  # class qualname -> twin names
    # class qualname -> its classes in this module, in MRO order (itself first)
    mro: dict[str, list[str]] = field(default_factory=dict)
    decorator_names: set[str] = field(default_factory=set)  # how `smartasync` is spelled


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
        smart = is_smart_class(cls)
        for name, attr in vars(cls).items():
            inner = attr.__func__ if isinstance(attr, (staticmethod, classmethod)) else attr
            if isinstance(attr, DualClassMethod):
                facts.duals[f"{qualname}.{name}"] = _Dual(attr._kind, "classmethod")
            elif isinstance(inner, DualFunction):
                binding = "staticmethod" if isinstance(attr, staticmethod) else "method"
                facts.duals[f"{qualname}.{name}"] = _Dual(inner._kind, binding)
            elif inspect.isclass(attr) and attr.__qualname__ == f"{cls.__qualname__}.{name}":
                visit_class(attr, f"{qualname}.{name}")
        facts.mro[qualname] = [
            klass.__qualname__
            for klass in cls.__mro__
            if klass.__module__ == module.__name__ and "<locals>" not in klass.__qualname__
        ]
        if smart:
            added = [sync for _, sync in TWINS if vars(cls).get(sync) is TWIN_IMPLS[sync]]
            if added:
                facts.twins[qualname] = added

    for name, value in vars(module).items():
        if isinstance(value, DualFunction) and value.__module__ == module.__name__:
            facts.duals[name] = _Dual(value._kind)
        elif inspect.isclass(value) and value.__module__ == module.__name__:
            if value.__qualname__ == name:
                visit_class(value, name)
    return facts


def _decorator_pattern(names: set[str]) -> re.Pattern[str]:
    spelled = "|".join(re.escape(n) for n in sorted(names, key=len, reverse=True))
    return re.compile(rf"^@(?:{spelled})(?:\(.*\))?\s*$")


def _item_type(ret: str | None) -> str:
    if ret:
        match = _ASYNC_ITER.match(ret.strip())
        if match:
            return match.group("item")
    return "_Incomplete"


def _sync_return(async_name: str, ret: str | None) -> str:
    """The twin's return type, from the async original's annotation."""
    if not ret:
        return "_Incomplete"
    if async_name == "__aiter__":
        match = _ASYNC_ITER.match(ret.strip())
        return f"_Iterator[{match.group('item')}]" if match else ret
    return ret


def transform(stub: str, facts: _ModuleFacts, *, async_first: bool) -> str:
    """Rewrite mypy-stubgen output so dual callables are typed (see the module docstring)."""
    decorator = "_async_first" if async_first else "_sync_first"

    def facade(dual: _Dual) -> str:
        # The receiver stays out of a method facade's ParamSpec (see _typing.pyi).
        if dual.binding == "function" or (dual.kind == ASYNCGEN and dual.binding != "method"):
            return decorator
        return f"{decorator}_{dual.binding}"

    smartasync_line = _decorator_pattern(facts.decorator_names)
    lines = stub.splitlines()
    out: list[str] = []
    classes: list[tuple[int, str]] = []  # (indent, name) of enclosing classes
    # async originals seen per class: name -> (indent, params, ret)
    originals: dict[str, dict[str, tuple[str, str, str | None]]] = {}
    class_header_at: dict[str, int] = {}
    self_typed: dict[str, list[str]] = {}  # class -> dual methods whose signature says Self
    self_lines: dict[tuple[str, str], list[str]] = {}
    originals_all: dict[str, set[str]] = {}  # class -> every def name in its stub

    def enclosing(indent: int) -> str:
        while classes and classes[-1][0] >= indent:
            classes.pop()
        return ".".join(name for _, name in classes)

    for line in lines:
        stripped = line.lstrip()
        indent = len(line) - len(stripped)
        if stripped and not stripped.startswith("@"):
            owner = enclosing(indent)
        else:
            owner = ".".join(name for _, name in classes)
        match_class = _CLASS.match(line)
        if match_class:
            qualname = f"{owner}.{match_class['name']}" if owner else match_class["name"]
            classes.append((indent, match_class["name"]))
            class_header_at[qualname] = len(out)
            out.append(line)
            continue
        match = _DEF.match(line)
        if match is None:
            out.append(line)
            continue
        name, ret, params = match["name"], match["ret"], match["params"]
        qualname = f"{owner}.{name}" if owner else name
        if owner:
            originals_all.setdefault(owner, set()).add(name)
        if owner and match["async"] and name in TWIN_OF.values():
            originals.setdefault(owner, {})[name] = (match["indent"], params, ret)
        if owner and name == "__aiter__":
            originals.setdefault(owner, {})[name] = (match["indent"], params, ret)
        dual = facts.duals.get(qualname)
        if dual is None:
            out.append(line)
            continue
        # Drop the decorator lines that smartasync or asynccontextmanager own.
        start = len(out)
        while start > 0 and out[start - 1].lstrip().startswith("@"):
            start -= 1
        binding_owned = dual.kind != CONTEXT_MANAGER and (
            dual.kind != ASYNCGEN or dual.binding == "method"
        )
        kept = [
            d
            for d in out[start:]
            if not smartasync_line.match(d.strip())
            and not _ACM_DECORATOR.match(d.strip())
            and not (binding_owned and _BINDING_DECORATOR.match(d.strip()))
        ]
        del out[start:]
        out.extend(kept)
        pad = match["indent"]
        if owner and _SELF.search(f"{params} {ret}"):
            # Checkers lose `Self` through the facade decorators: write the
            # class itself, and re-declare the method in subclasses below.
            self_typed.setdefault(owner, []).append(name)
            line = _SELF.sub(owner.rsplit(".", 1)[-1], line)
            match = _DEF.match(line)
            assert match is not None
            params, ret = match["params"], match["ret"]
        emitted_at = len(out)
        if dual.kind == CONTEXT_MANAGER:
            out.append(f"{pad}def {name}({params}) -> _DualContextManager[{_item_type(ret)}]: ...")
        elif dual.kind == ASYNCGEN:
            out.append(f"{pad}@{facade(dual)}")
            returns = (
                ret if ret and _ASYNC_ITER.match(ret.strip()) else "_AsyncIterator[_Incomplete]"
            )
            out.append(f"{pad}def {name}({params}) -> {returns}: ...")
        else:
            out.append(f"{pad}@{facade(dual)}")
            out.append(line if match["async"] else line.replace("def ", "async def ", 1))
        if owner in self_typed and self_typed[owner][-1] == name:
            self_lines[(owner, name)] = [text.strip() for text in out[emitted_at:]]

    # The sync twins and Self-typed re-declarations, after the class header
    # (in reverse so indexes hold).
    inserts: list[tuple[int, list[str]]] = []
    declared = {(klass, name) for klass, names in originals_all.items() for name in names}
    for qualname, classes_in_mro in facts.mro.items():
        header = class_header_at.get(qualname)
        if header is None:
            continue
        pad = " " * (len(out[header]) - len(out[header].lstrip()) + 4)
        own = qualname.rsplit(".", 1)[-1]
        redeclared: list[str] = []
        done: set[str] = set()
        for base in classes_in_mro[1:]:
            for name in self_typed.get(base, []):
                if name in done or (qualname, name) in declared:
                    continue
                done.add(name)
                base_name = base.rsplit(".", 1)[-1]
                for text in self_lines[(base, name)]:
                    redeclared.append(pad + re.sub(rf"\b{re.escape(base_name)}\b", own, text))
        if redeclared:
            inserts.append((header, redeclared))
    for qualname, twins in facts.twins.items():
        header = class_header_at.get(qualname)
        if header is None:
            continue
        class_indent = len(out[header]) - len(out[header].lstrip())
        pad = " " * (class_indent + 4)
        found = originals.get(qualname, {})
        new_lines = []
        for sync_name in twins:
            async_name = TWIN_OF[sync_name]
            if async_name in found:
                _, params, ret = found[async_name]
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
        inserts.append((header, new_lines))
    for header, new_lines in sorted(inserts, reverse=True):
        if out[header].rstrip().endswith(": ..."):
            out[header] = out[header].rstrip()[: -len(" ...")]
        out[header + 1 : header + 1] = new_lines

    mode = "async-first" if async_first else "sync-first"
    head = [
        f"# Generated by `python -m smartasync stubgen` ({mode}); regenerate, do not edit.",
        "from _typeshed import Incomplete as _Incomplete",
        "from collections.abc import AsyncIterator as _AsyncIterator",
        "from collections.abc import Iterator as _Iterator",
        "from typing import Self as _Self",
        "",
        "from smartasync._typing import DualContextManager as _DualContextManager",
        *(
            f"from smartasync._typing import {decorator[1:]}{suffix} as {decorator}{suffix}"
            for suffix in ("", "_method", "_classmethod", "_staticmethod")
        ),
        "",
    ]
    return "\n".join(head + out).rstrip("\n") + "\n"


# -- running mypy's stubgen and the whole command ------------------------------


def _resolve(target: str) -> tuple[str, Path]:
    """(module name, search path root) for a dotted name or a file/directory path."""
    path = Path(target)
    if path.suffix == ".py" or path.is_dir():
        path = path.resolve()
        parts = [path.stem] if path.suffix == ".py" else [path.name]
        if path.suffix == ".py" and path.stem == "__init__":
            parts = []
        parent = path.parent
        while (parent / "__init__.py").exists():
            parts.insert(0, parent.name)
            parent = parent.parent
        return ".".join(parts), parent
    return target, Path.cwd()


def _modules(name: str) -> Iterator[ModuleType]:
    module = importlib.import_module(name)
    yield module
    if hasattr(module, "__path__"):
        import pkgutil

        for info in pkgutil.walk_packages(module.__path__, prefix=f"{name}."):
            if info.name.rsplit(".", 1)[-1] == "__main__":
                continue  # importing it would run the program
            yield importlib.import_module(info.name)


def _run_mypy_stubgen(name: str, root: Path, package: bool, output: Path) -> None:
    from mypy.stubgen import main as mypy_stubgen

    flag = "-p" if package else "-m"
    mypy_stubgen([flag, name, "--search-path", str(root), "-o", str(output), "--quiet"])


def generate(targets: Sequence[str], output: Path, *, async_first: bool = False) -> list[Path]:
    """Write stubs for `targets` (module names or paths) under `output`; the files written.

    Raises:
        ModuleNotFoundError: a target cannot be imported.
    """
    written: list[Path] = []
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
                destination = output / stub.relative_to(base)
                destination.parent.mkdir(parents=True, exist_ok=True)
                destination.write_text(text)
                written.append(destination)
    return written


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m smartasync stubgen ...`; returns the exit status."""
    parser = argparse.ArgumentParser(
        prog="python -m smartasync stubgen",
        description="Write .pyi stubs that type smartasync's dual methods for checkers "
        "without a plugin (pyright, pyrefly, ty).",
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
        help=f"output directory (default: {DEFAULT_OUTPUT}/)",
    )
    parser.add_argument(
        "--async-first",
        action="store_true",
        help="type the bare call as the coroutine (default: as the result)",
    )
    args = parser.parse_args(argv)
    try:
        written = generate(args.targets, Path(args.output), async_first=args.async_first)
    except ImportError as exc:
        print(f"smartasync stubgen: cannot import {exc.name or exc}: {exc}", file=sys.stderr)
        return 1
    for path in written:
        print(path)
    return 0
