"""The README's recipes (## Recipes), run for real: each program under
examples/recipes/ is driven here where that is safe for this process, and run
as a subprocess as a user runs it; the README shows each file exactly as it is.
Real libraries throughout (click, rich, trio, anyio, uvloop), no mocks.

The uvloop recipe runs only in subprocesses: `set_loop_factory` is
process-wide, and the pytest process must keep its own loops."""

from __future__ import annotations

import asyncio
import io
import os
import re
import subprocess
import sys
from pathlib import Path

import anyio
import pytest
import sniffio
import trio
from click.testing import CliRunner
from rich.console import Console
from rich.progress import Progress

from examples.recipes import cli_progress, threads, trio_anyio

ROOT = Path(__file__).resolve().parent.parent
RECIPES = ROOT / "examples" / "recipes"
NAMES = ("cli_progress", "threads", "trio_anyio", "uvloop_loop")
TIMEOUT = 60


def _environ() -> dict[str, str]:
    environ = {k: v for k, v in os.environ.items() if k != "PYTHONASYNCIODEBUG"}
    environ["PYTHONPATH"] = os.pathsep.join([str(ROOT), environ.get("PYTHONPATH", "")])
    return environ


def _command(name: str, args: tuple[str, ...], flags: tuple[str, ...]) -> list[str]:
    return [sys.executable, *flags, str(RECIPES / f"{name}.py"), *args]


def run_recipe(
    name: str, *args: str, flags: tuple[str, ...] = ()
) -> subprocess.CompletedProcess[str]:
    """`python examples/recipes/NAME.py ARGS...`, from the repository root."""
    return subprocess.run(
        _command(name, args, flags),
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        cwd=ROOT,
        env=_environ(),
        check=False,
    )


async def run_recipe_async(
    name: str, *args: str, flags: tuple[str, ...] = ()
) -> tuple[int, str, str]:
    """The same, from async code: asyncio's subprocess API. (returncode, stdout, stderr)"""
    proc = await asyncio.create_subprocess_exec(
        *_command(name, args, flags),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        cwd=ROOT,
        env=_environ(),
    )
    out, err = await asyncio.wait_for(proc.communicate(), TIMEOUT)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


# -- the README shows each recipe file as it is --------------------------------------


def _recipe_blocks() -> list[str]:
    text = (ROOT / "README.md").read_text()
    section = text.split("\n## Recipes\n", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"^```python\n(.*?)^```", section, re.S | re.M)


def test_every_recipe_file_is_tested_here() -> None:
    assert sorted(p.stem for p in RECIPES.glob("*.py")) == sorted(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_the_readme_shows_the_recipe_file_as_it_is(name: str) -> None:
    assert (RECIPES / f"{name}.py").read_text() in _recipe_blocks(), (
        f"README.md's ## Recipes must show examples/recipes/{name}.py unchanged"
    )


# -- a click CLI with a rich progress bar over an async generator method ----------------


def test_cli_progress_through_click_runner() -> None:
    # (No timed assertion on the concurrency: these machines are shared.)
    result = CliRunner().invoke(
        cli_progress.main, ["v", "w", "x", "y", "z", "--delay", "0.05"], catch_exceptions=False
    )
    assert result.exit_code == 0, result.output
    assert "fetched 5: V W X Y Z" in result.output
    assert re.search(r"fetch .*100%", result.output), result.output  # the bar, finished


def test_cli_progress_usage_error_through_click_runner() -> None:
    result = CliRunner().invoke(cli_progress.main, ["--delay", "soon"])
    assert result.exit_code == 2
    assert "Invalid value for '--delay'" in result.output


def test_cli_progress_as_a_subprocess() -> None:
    done = run_recipe("cli_progress", "a", "b", "--delay", "0.01")
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.splitlines()[-1] == "fetched 2: A B"
    assert "100%" in done.stdout
    assert done.stderr == ""


@pytest.mark.asyncio
async def test_cli_progress_through_click_runner_from_async_code() -> None:
    # An async test hands the sync CLI to a worker thread, as an app would.
    result = await asyncio.to_thread(
        CliRunner().invoke, cli_progress.main, ["p", "q", "--delay", "0.01"]
    )
    assert result.exit_code == 0, result.output
    assert "fetched 2: P Q" in result.output


@pytest.mark.asyncio
async def test_cli_progress_as_a_subprocess_from_async_code() -> None:
    code, out, err = await run_recipe_async("cli_progress", "--delay", "0.01")
    assert code == 0, out + err
    assert out.splitlines()[-1] == "fetched 3: A B C"  # the default names
    assert err == ""


@pytest.mark.asyncio
async def test_the_cli_method_with_async_for_and_a_rich_progress_bar() -> None:
    # The same method in async code: `async for`, with rich's Progress by hand.
    console = Console(file=io.StringIO(), width=80)
    pages = []
    with Progress(console=console) as progress:
        task = progress.add_task("fetch", total=3)
        async for page in cli_progress.Mirror().fetch_all(["x", "y", "z"], 0.01):
            pages.append(page)
            progress.advance(task)
    assert sorted(pages) == ["X", "Y", "Z"]
    assert isinstance(console.file, io.StringIO)
    assert "100%" in console.file.getvalue()


# -- worker threads: asyncio.to_thread and loop.run_in_executor --------------------------

THUMBS = ["thumb-64px", "thumb-128px"]


def test_threads_recipe_from_sync_code() -> None:
    assert asyncio.run(threads.main()) == THUMBS
    assert asyncio.run(threads.main(), debug=True) == THUMBS


def test_threads_recipe_as_a_subprocess_in_dev_mode() -> None:
    done = run_recipe("threads", flags=("-X", "dev"))  # asyncio debug mode, warnings shown
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout == f"{THUMBS}\n"
    assert done.stderr == ""


@pytest.mark.asyncio
async def test_threads_recipe_awaited() -> None:
    assert await threads.main() == THUMBS


@pytest.mark.asyncio
async def test_run_in_executor_needs_sync_in_debug_mode() -> None:
    # Why the recipe passes `.sync` to run_in_executor and not the bare method.
    loop = asyncio.get_running_loop()
    thumbs = threads.Thumbnails()
    loop.set_debug(True)
    try:
        with pytest.raises(TypeError, match="run_in_executor"):
            await loop.run_in_executor(None, thumbs.resize, 1)
        assert await loop.run_in_executor(None, thumbs.resize.sync, 1) == "thumb-1px"
        assert await asyncio.to_thread(thumbs.resize, 2) == "thumb-2px"
    finally:
        loop.set_debug(False)


# -- trio and anyio ----------------------------------------------------------------------


def test_trio_recipe_from_sync_code() -> None:
    assert trio.run(trio_anyio.under_trio) == (3, 7)
    assert anyio.run(trio_anyio.under_anyio, backend="trio") == 11
    assert trio_anyio.counter.add(7, 8) == 15


class WhereCounter(trio_anyio.Counter):
    async def library(self) -> str:
        await anyio.sleep(0)
        return sniffio.current_async_library()


def test_a_trio_worker_thread_call_runs_on_the_sync_loop() -> None:
    # The README: the worker thread's sync call runs on smartasync's asyncio
    # loop, the awaited call on trio.
    counter = WhereCounter()

    async def main() -> tuple[str, str]:
        return await trio.to_thread.run_sync(counter.library), await counter.library()

    assert trio.run(main) == ("asyncio", "trio")


def test_trio_recipe_as_a_subprocess() -> None:
    done = run_recipe("trio_anyio")
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.splitlines() == ["(3, 7)", "11", "15"]
    assert done.stderr == ""


@pytest.mark.asyncio
async def test_trio_recipe_from_async_code() -> None:
    # trio and anyio's trio backend in a worker thread of this asyncio test,
    # and the same method awaited here, under asyncio.
    assert await asyncio.to_thread(trio.run, trio_anyio.under_trio) == (3, 7)
    assert await asyncio.to_thread(lambda: anyio.run(trio_anyio.under_anyio, backend="trio")) == 11
    assert await trio_anyio.counter.add(1, 1) == 2


# -- uvloop ------------------------------------------------------------------------------


def test_uvloop_recipe_as_a_subprocess() -> None:
    pytest.importorskip("uvloop")
    done = run_recipe("uvloop_loop", flags=("-W", "error::ResourceWarning"))
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.splitlines() == ["uvloop", "uvloop"]
    assert done.stderr == ""


@pytest.mark.asyncio
async def test_uvloop_recipe_as_a_subprocess_from_async_code() -> None:
    pytest.importorskip("uvloop")
    code, out, err = await run_recipe_async("uvloop_loop", flags=("-X", "dev"))
    assert code == 0, out + err
    assert out.splitlines() == ["uvloop", "uvloop"]
    assert err == ""
