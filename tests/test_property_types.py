"""Async properties as type checkers see them, and the mypy plugin's cache key.

The mypy plugin types `obj.prop` by the reading code (the corpus case
`tests/typing/case_async_properties.py`, run by test_mypy_plugin.py).  Other
checkers read stubs: `tests/typing/property_stubs/` holds the stubs of
`proplib.py` in both flavours, written with the `_typing.pyi` property
facades, as the stub generator is to write them.  Each flavour's case file
goes through basedpyright, pyright, pyrefly and ty: every line marked `# E`
has an error, no other line does, so the explicit forms `Cls.prop.sync(obj)` /
`Cls.prop.aio(obj)` and the bare read of the flavour are typed alike by every
checker.  (mypy reads the source with the plugin, which types the same
spellings the same way: the corpus case.)  A documented miss is tagged on its
line, `# pyright-misses` (both pyrights), `# pyrefly-misses`, `# ty-misses`:

- pyright's reportUnusedCoroutine looks at calls only, so it misses a
  forgotten `await` of a bare property read;
- pyrefly and ty keep `@abstractmethod` only through decorators that return
  the function itself, which an abstract async property's stub cannot use
  (`_stubwriter.property_lines`): they miss the instantiation of its class;
- pyrefly does not check `del obj.attr` against the descriptor's
  `__delete__`, so it misses `del` of a property that has no deleter.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.test_stubgen import _tool

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "tests" / "typing"
STUBS = CORPUS / "property_stubs"
CASES = {"sync-first": "properties_sync_first.py", "async-first": "properties_async_first.py"}
CHECKERS = ["basedpyright", "pyright", "pyrefly", "ty"]
PYRIGHTS = ("basedpyright", "pyright")

_MARK = re.compile(r"#\s*E(?:\s|$)")


def marked_lines(path: Path) -> set[int]:
    return {n for n, text in enumerate(path.read_text().splitlines(), 1) if _MARK.search(text)}


def _run(command: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=300)


def _project(tmp: Path, case: str, stubs: Path, checker: str) -> None:
    """The case file beside the stubs (in `typings/` for pyright), and the
    package by a link, as a user's project sees an installed smartasync."""
    shutil.copy(CORPUS / case, tmp / case)
    target = tmp / "typings" if checker in PYRIGHTS else tmp
    target.mkdir(exist_ok=True)
    shutil.copy(stubs / "proplib.pyi", target / "proplib.pyi")
    (tmp / "smartasync").symlink_to(ROOT / "smartasync", target_is_directory=True)


def errors_of(checker: str, case: str, stubs: Path, tmp: Path) -> set[int]:
    """The lines of `case` with an error from `checker`, on `stubs`."""
    _project(tmp, case, stubs, checker)
    if checker in PYRIGHTS:
        config = {
            "typeCheckingMode": "standard",
            "pythonVersion": "3.11",
            "reportUnusedCoroutine": "error",
            "include": [case],
            "stubPath": "typings",
        }
        (tmp / "pyrightconfig.json").write_text(json.dumps(config))
        result = _run([_tool(checker), "--outputjson", "--pythonpath", sys.executable], tmp)
        report = json.loads(result.stdout)
        lines = set()
        for diagnostic in report["generalDiagnostics"]:
            if diagnostic["severity"] != "error":
                continue
            assert Path(diagnostic["file"]).name == case, diagnostic  # the stubs are clean
            lines.add(diagnostic["range"]["start"]["line"] + 1)
        return lines
    if checker == "pyrefly":
        command = [_tool("pyrefly"), "check", "-p", "default", "--output-format", "min-text"]
        command += ["--python-interpreter-path", sys.executable, case]
    else:
        # ty's unused-awaitable (a forgotten await) is a warning by default,
        # raised to an error as pyright's reportUnusedCoroutine is.
        command = [_tool("ty"), "check", "--error", "unused-awaitable", "--python", sys.prefix]
        command += ["--output-format", "concise", case]
    result = _run(command, tmp)
    pattern = re.compile(rf"{re.escape(case)}:(\d+):\d+")
    lines = set()
    for line in result.stdout.splitlines():
        match = pattern.search(line) if "error" in line.lower() else None
        if match is not None:
            lines.add(int(match.group(1)))
    assert "proplib.pyi" not in result.stdout, result.stdout  # the stubs are clean
    return lines


@pytest.mark.parametrize("checker", CHECKERS)
@pytest.mark.parametrize("mode", ["sync-first", "async-first"])
def test_async_properties_on_stubs(checker: str, mode: str, tmp_path: Path) -> None:
    case = CASES[mode]
    found = errors_of(checker, case, STUBS / mode, tmp_path)
    expected = marked_lines(CORPUS / case)
    assert len(expected) >= 4
    allowed = missed_by(CORPUS / case, checker)
    assert found <= expected, f"spurious {sorted(found - expected)}"
    assert expected - found <= allowed, f"missed {sorted(expected - found)}"


_MISSES = re.compile(r"\b(\w+)-misses\b")


def missed_by(path: Path, checker: str) -> set[int]:
    """The lines tagged as a documented miss of `checker` (`# pyright-misses`
    stands for both pyrights; one line may name several checkers)."""
    names = {checker, "pyright"} if checker in PYRIGHTS else {checker}
    return {
        n
        for n, text in enumerate(path.read_text().splitlines(), 1)
        if names & set(_MISSES.findall(text.partition("#")[2]))
    }
