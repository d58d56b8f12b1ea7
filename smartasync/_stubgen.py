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
`__iter__`, ...) a smart class got (`_stubfacts`).  The stub is then
rewritten from its syntax tree (`_stubwriter`, whose docstring says what each
dual callable becomes and why that shape).  This module is the command: it
finds and imports the targets, runs mypy's stubgen, and writes, or with
`--check` compares, only stubs that parse.

Importing the target runs its module-level code, as importing it would.
"""

from __future__ import annotations

import argparse
import ast
import difflib
import importlib
import importlib.util
import sys
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Final

from ._stubfacts import collect
from ._stubwriter import transform as transform  # the stage a test breaks on purpose

DEFAULT_OUTPUT: Final = "typings"


class StubgenError(Exception):
    """A target that cannot be turned into stubs; the message says why and what to do."""


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


# -- from targets to stub texts ---------------------------------------------------


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
                text = transform(stub.read_text(), collect(module), async_first=async_first)
                rendered[stub.relative_to(base)] = text
    return rendered


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


def _find_spec(name: str) -> object:
    """The module's spec, or None when it does not exist (nor its package, nor
    such a name: a stray `.x.pyi` stands for no module either)."""
    try:
        return importlib.util.find_spec(name)
    except (ImportError, ValueError):
        return None
