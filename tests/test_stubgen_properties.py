"""The stub generator on async properties: what it writes for each flavour.

`tests/typing/property_stubs/` holds hand-written stubs of
`tests/typing/proplib.py`, the shape the checkers were shown to type right
(test_property_types.py).  The generator's stubs of the same module must
declare every class's members as those do (compared by syntax tree, past
aliases, docstrings and what mypy's stubgen leaves out everywhere: private
names, class decorators), and pass the same checker cases.
"""

from __future__ import annotations

import ast
import textwrap
from pathlib import Path

import pytest

from tests.test_property_types import CASES, CHECKERS, errors_of, marked_lines, missed_by
from tests.test_stubgen import stubgen

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "tests" / "typing"
GOLDEN = CORPUS / "property_stubs"
MODES = ["sync-first", "async-first"]


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    tmp = tmp_path_factory.mktemp("stubgen_properties")
    out = {}
    for mode in MODES:
        flags = ["--async-first"] if mode == "async-first" else []
        result = stubgen("proplib", "-o", str(tmp / mode), *flags, cwd=CORPUS)
        assert result.returncode == 0, result.stderr
        out[mode] = tmp / mode
    return out


def members(stub: str) -> dict[str, list[str]]:
    """Each class's public members, as declared: `name: annotation`, or a
    def's decorators and signature; aliases (`X as _X`) read as their names."""
    tree = ast.parse(stub)
    aliases = {
        alias.asname: alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom)
        for alias in node.names
        if alias.asname
    }

    class Unalias(ast.NodeTransformer):
        def visit_Name(self, node: ast.Name) -> ast.Name:
            return ast.Name(aliases.get(node.id, node.id))

    def spell(node: ast.AST) -> str:
        return ast.unparse(Unalias().visit(node))

    found: dict[str, list[str]] = {}
    for klass in (n for n in ast.walk(tree) if isinstance(n, ast.ClassDef)):
        declared = found.setdefault(klass.name, [])
        for node in klass.body:
            if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
                if not node.target.id.startswith("_"):
                    declared.append(f"{node.target.id}: {spell(node.annotation)}")
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                if node.name.startswith("_") and not node.name.endswith("__"):
                    continue
                node.body = [ast.Expr(ast.Constant(...))]  # no docstring
                declared.append(spell(node))
    return found


@pytest.mark.parametrize("mode", MODES)
def test_the_stubs_declare_what_the_golden_stubs_do(mode: str, generated: dict[str, Path]) -> None:
    made = members((generated[mode] / "proplib.pyi").read_text())
    golden = members((GOLDEN / mode / "proplib.pyi").read_text())
    assert made == golden


@pytest.mark.parametrize("checker", CHECKERS)
@pytest.mark.parametrize("mode", MODES)
def test_the_property_cases_on_generated_stubs(
    checker: str, mode: str, generated: dict[str, Path], tmp_path: Path
) -> None:
    # test_property_types.py's own assertions, on the generator's stubs
    case = CASES[mode]
    found = errors_of(checker, case, generated[mode], tmp_path)
    expected = marked_lines(CORPUS / case)
    allowed = missed_by(CORPUS / case, checker)
    assert found <= expected, f"spurious {sorted(found - expected)}"
    assert expected - found <= allowed, f"missed {sorted(expected - found)}"


# -- shapes proplib does not hold -----------------------------------------------------

BASE = '''\
from __future__ import annotations

import abc
from collections.abc import AsyncIterator


class Item:
    pass


class Remote:
    """Not smart, in another module than the smart class that uses it."""

    def __init__(self) -> None:
        self._item = Item()

    @property
    async def item(self) -> Item:
        """The item, remotely."""
        return self._item

    @item.setter
    def item(self, value: Item) -> None:
        self._item = value

    @property
    async def stream(self) -> AsyncIterator[int]:
        yield 1


class Source(abc.ABC):
    @property
    @abc.abstractmethod
    async def size(self) -> int: ...

    @property
    @abc.abstractmethod
    async def chunks(self) -> AsyncIterator[bytes]:
        yield b""
'''

SMART = '''\
from __future__ import annotations

import abc
from typing import Self

from smartasync import SmartAsync

from .base import Remote, Source


class Client(SmartAsync, Remote):
    """Gets Remote's async properties, dual."""


class Reader(SmartAsync, Source):
    pass


class Node(SmartAsync, abc.ABC):
    @property
    @abc.abstractmethod
    async def weight(self) -> int:
        """How heavy."""

    @weight.setter
    @abc.abstractmethod
    def weight(self, value: int) -> None: ...


class Tree(SmartAsync):
    @property
    async def parent(self) -> Self:
        """The parent node."""
        return self

    @property
    async def size(self):  # no annotation: Incomplete, as mypy's stub says
        return 1

    class Leaf(SmartAsync):
        @property
        async def depth(self) -> int:
            return 1

        @depth.deleter
        def depth(self) -> None:
            pass
'''


@pytest.mark.parametrize("mode", MODES)
def test_other_shapes(mode: str, tmp_path: Path) -> None:
    package = tmp_path / "proppkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "base.py").write_text(BASE)
    (package / "smart.py").write_text(SMART)
    flags = ["--async-first"] if mode == "async-first" else []
    result = stubgen("proppkg", "-o", str(tmp_path / "out"), *flags, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    stub = (tmp_path / "out" / "proppkg" / "smart.pyi").read_text()
    flavour = "AsyncFirst" if mode == "async-first" else "SyncFirst"
    iterator = "_AsyncIterator" if mode == "async-first" else "_Iterator"
    # inherited from a plain base in another module: from the getter's own
    # annotations, with its setter's value type
    expected_client = f"""\
        class Client(SmartAsync, Remote):
            \"\"\"Gets Remote's async properties, dual.\"\"\"
            item: _{flavour}SettableProperty[Client, _proppkg_base__Item, _proppkg_base__Item]
            \"\"\"The item, remotely.\"\"\"
            @property
            def stream(self) -> {iterator}[int]: ...
        """
    assert textwrap.dedent(expected_client) in stub
    assert f"from smartasync._typing import {flavour}Property as _{flavour}Property" in stub
    # Self kept, a docstring kept as the attribute's, no annotation: Incomplete;
    # nested classes named by their qualname; a deleter alone makes it
    # deletable, not settable
    assert f"    parent: _{flavour}Property[Tree, Self]\n" in stub
    assert '    """The parent node."""\n' in stub
    assert f"    size: _{flavour}Property[Tree, _Incomplete]\n" in stub
    assert f"        depth: _{flavour}DeletableProperty[Tree.Leaf, int]\n" in stub
    assert "deleter" not in stub and "async def" not in stub
    # abstract: a def that `_dual_member` types as the facade, from this
    # module (with its setter and docstring) or from a plain base
    expected_node = f"""\
        class Node(SmartAsync, abc.ABC, metaclass=abc.ABCMeta):
            @_dual_member
            @_abstractmethod
            def weight(self) -> _{flavour}SettableProperty[Node, int, int]:
                \"\"\"How heavy.\"\"\"
        """
    assert textwrap.dedent(expected_node) in stub
    expected_reader = f"""\
        class Reader(SmartAsync, Source, metaclass=abc.ABCMeta):
            @_dual_member
            @_abstractmethod
            def size(self) -> _{flavour}Property[Reader, int]: ...
            @property
            @_abstractmethod
            def chunks(self) -> {iterator}[bytes]: ...
        """
    assert textwrap.dedent(expected_reader) in stub
    assert "from abc import abstractmethod as _abstractmethod\n" in stub
    assert "def _dual_member(" in stub
    base = (tmp_path / "out" / "proppkg" / "base.pyi").read_text()
    assert "    @property\n    async def item(self) -> Item:" in base  # not smart: as written
