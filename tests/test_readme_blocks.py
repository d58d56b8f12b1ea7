"""Every ```python block of README.md and examples/README.md runs, each in a
fresh interpreter, as a reader would paste it into a file and run it.

The tool: sybil reads the Markdown; the blocks run in subprocesses.  Compared:

- pytest-examples: a test parametrized over `find_examples(...)`; each block
  runs in a fresh module namespace *in the pytest process*, with no sharing
  between blocks; skipping is the test's own code reading the fence's
  settings (```py test="skip"); it brings black in.
- phmdoctest: writes a pytest file from the Markdown (a generation step, or
  its pytest plugin); later blocks see earlier names only through
  `<!--phmdoctest-share-names-->`; skips by `<!--phmdoctest-skip-->`
  comments; runs in the pytest process; last release 2022.
- sybil: a Markdown (and reST) parser with line numbers, a pytest plugin set
  up in conftest.py, or its Python API from any test; the blocks of one
  document run in order in one shared namespace, in process; skips by
  `<!-- skip: next -->` comments; evaluators are pluggable; no dependencies.

sybil is chosen for its parser and its pluggable evaluation (used here through
its API, since conftest.py is shared): the runner below replaces its in-process
evaluator with a subprocess per block.  No tool runs blocks out of process,
and these blocks must not share this process: they start smartasync's sync loop
and its threads, choose the loop factory (uvloop), make module-level clients,
and run CLIs; in a subprocess each starts clean, cannot break a later test,
and is stopped by a timeout if it hangs.

Conventions in a block's first lines (tests/test_release.py compiles the same
blocks and honours the first):

- `# not-run: REASON` -- the block is not run, and the reason is reported
  as the skip reason: a fragment, or a block that needs a server.
- `# continues the block above` -- the block runs after the block before it
  (and its own chain), in the same namespace: the documented sequence.

A block runs with `__name__ == "__main__"`, from the repository root, with
the checkout importable; it passes when it exits 0 within the timeout and
prints no traceback and no warning.  Tracebacks name the Markdown file and
its real line numbers.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from sybil import Sybil
from sybil.parsers.markdown import CodeBlockParser

ROOT = Path(__file__).resolve().parent.parent
DOCUMENTS = ("README.md", "examples/README.md")
TIMEOUT = 60

NOT_RUN = re.compile(r"^\s*#\s*not-run:\s*(?P<reason>\S.*)$", re.M)
CONTINUES = re.compile(r"\A\s*#\s*continues the block above\b")

# Runs each part of a block's chain in one namespace; padding each part with
# newlines makes tracebacks show the Markdown file's own line numbers.
DRIVER = """
import json, sys
namespace = {"__name__": "__main__", "__builtins__": __builtins__}
for path, line, code in json.load(sys.stdin):
    exec(compile("\\n" * (line - 1) + code, path, "exec"), namespace)
"""


@dataclass(frozen=True)
class Block:
    document: str  # relative to the repository root
    line: int  # the block's first line of code
    code: str

    @property
    def name(self) -> str:
        return f"{self.document}:{self.line}"

    def not_run(self) -> str | None:
        match = NOT_RUN.search(self.code)
        return match["reason"].strip() if match else None


def python_blocks(document: str) -> list[Block]:
    """The ```python blocks of `document`, in order, as sybil reads them."""
    parser = CodeBlockParser(language="python")
    parsed = Sybil(parsers=[parser]).parse(ROOT / document)
    return [Block(document, example.line + 1, str(example.parsed)) for example in parsed]


BLOCKS = [block for document in DOCUMENTS for block in python_blocks(document)]


def chain(block: Block) -> list[Block]:
    """The blocks to run for `block`: the ones it continues, then itself."""
    blocks = [b for b in BLOCKS if b.document == block.document]
    at = blocks.index(block)
    start = at
    while start > 0 and CONTINUES.match(blocks[start].code):
        start -= 1
    assert not CONTINUES.match(blocks[start].code), f"{block.name}: no block above to continue"
    parts = blocks[start : at + 1]
    skipped = [b.name for b in parts[:-1] if b.not_run()]
    assert not skipped, f"{block.name} continues {skipped}, which are marked not-run"
    return parts


def run_blocks(parts: list[Block]) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if k != "PYTHONASYNCIODEBUG"}
    environ["PYTHONPATH"] = os.pathsep.join([str(ROOT), environ.get("PYTHONPATH", "")])
    payload = json.dumps([[b.document, b.line, b.code] for b in parts])
    return subprocess.run(
        [sys.executable, "-c", DRIVER],
        input=payload,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        cwd=ROOT,
        env=environ,
        check=False,
    )


@pytest.mark.timeout(TIMEOUT + 30)
@pytest.mark.parametrize("block", BLOCKS, ids=[b.name for b in BLOCKS])
def test_python_block_runs(block: Block) -> None:
    reason = block.not_run()
    if reason is not None:
        pytest.skip(f"{block.name}: not-run: {reason}")
    done = run_blocks(chain(block))
    report = f"{block.name}\n--- stdout\n{done.stdout}\n--- stderr\n{done.stderr}"
    assert done.returncode == 0, report
    assert "Traceback" not in done.stderr, report
    assert "Warning" not in done.stderr, report


def test_sybil_finds_every_python_fence() -> None:
    # A fence sybil would not read (an odd indent, a ```py spelling) must not
    # drop a block silently: count the fences by hand too.
    for document in DOCUMENTS:
        text = (ROOT / document).read_text()
        fences = re.findall(r"^[ \t]*```(?:python|py)[ \t]*$", text, re.M)
        found = [b for b in BLOCKS if b.document == document]
        assert len(found) == len(fences), (document, len(found), len(fences))


def test_most_blocks_run_and_each_skip_says_why() -> None:
    marked = [b for b in BLOCKS if b.not_run() is not None]
    assert len(marked) <= 2, [b.name for b in marked]
    assert len(BLOCKS) - len(marked) >= 12
    for document in DOCUMENTS:
        assert any(b.document == document and b.not_run() is None for b in BLOCKS), document


def test_a_failing_block_fails_with_the_markdown_line() -> None:
    # The runner itself: a block that raises fails, and the traceback names
    # the Markdown file and the block's real line.
    bad = Block("README.md", 3, "x = 1\nraise SystemExit(f'line {1 / 0}')\n")
    done = run_blocks([bad])
    assert done.returncode != 0
    assert 'File "README.md", line 4' in done.stderr, done.stderr
    assert "ZeroDivisionError" in done.stderr
