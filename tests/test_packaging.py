"""Issue 21 item 4: both distributions build into wheels that hold what they
should; smartasync installs into a fresh venv and runs without its companion,
with it, and with it switched off; and a broken C compiler costs the
accelerator, never the install (unless SMARTASYNC_SPEEDUPS_REQUIRED=1)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SPEEDUPS = ROOT / "speedups"

# Every build fetches its backend (flit_core, setuptools) from the package
# index into an isolated environment, and compiles: slow on a cold CI machine.
TIMEOUT = 300
# pytest's own timeout (120 s in pyproject) would cut a slow but working run
# short: a test here may set up a module fixture of two builds, then make a
# venv and install into it, each step bounded by TIMEOUT.
pytestmark = pytest.mark.timeout(900)

EXTENSION = re.compile(r"_smartasync_speedups(\.[\w-]+)?\.(so|pyd)")
COMPILED = (".so", ".pyd", ".dll", ".dylib")
# A compiler that always fails; setuptools takes CC from the environment
# (the compile step fails first, so LDSHARED need not be broken too).
BROKEN_COMPILER = {"CC": "false"}
REQUIRED = {"SMARTASYNC_SPEEDUPS_REQUIRED": "1"}
NO_EXTENSIONS = {"SMARTASYNC_NO_EXTENSIONS": "1"}
FALLBACK_MESSAGE = "was not built"

# Run by a venv's interpreter: argv[1] is "active" or "inactive", argv[2] a
# pattern that _speedups.WHY_NOT must match (re.search).  Each call style gets
# a class of its own and calls it six times, so that both cross the 4th call,
# where the method is specialised (and, with the accelerator, bound and called
# in C).
SMOKE = """\
import asyncio
import re
import sys

import smartasync
from smartasync import SmartAsync, _speedups

expect_active, why_not = sys.argv[1] == "active", sys.argv[2]
state = f"ACTIVE={_speedups.ACTIVE} WHY_NOT={_speedups.WHY_NOT!r}"
# The venv's smartasync, not a checkout's.
assert smartasync.__file__.startswith(sys.prefix), smartasync.__file__
assert _speedups.ACTIVE is expect_active, state
assert re.search(why_not, _speedups.WHY_NOT), state
if expect_active:
    assert _speedups.speedups.__file__.startswith(sys.prefix), _speedups.speedups.__file__


def counter():
    class Counter(SmartAsync):
        async def m(self, x):
            return x + 1

    return Counter


Sync = counter()
obj = Sync()
assert [obj.m(i) for i in range(6)] == [1, 2, 3, 4, 5, 6]

Async = counter()


async def main():
    obj = Async()
    return [await obj.m(i) for i in range(6)]


assert asyncio.run(main()) == [1, 2, 3, 4, 5, 6]

for cls in (Sync, Async):
    assert vars(cls)["m"]._specialized, cls  # the specialised path was crossed
    in_c = [t for t in type(cls().m).__mro__ if t.__module__ == "_smartasync_speedups"]
    assert bool(in_c) is expect_active, type(cls().m).__mro__
print("smoke ok:", state)
"""


def _env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """This environment, without what would make a subprocess see the
    checkout or decide the accelerator's state for the test (the suite itself
    may run with either variable set)."""
    env = {
        name: value
        for name, value in os.environ.items()
        if name not in {"PYTHONPATH", "PYTHONHOME", *REQUIRED, *NO_EXTENSIONS}
    }
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    env.update(extra or {})
    return env


def _run(
    *command: str | Path, cwd: Path, extra_env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(part) for part in command],
        cwd=cwd,
        env=_env(extra_env),
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        stdin=subprocess.DEVNULL,
        check=False,
    )


def _output(done: subprocess.CompletedProcess[str]) -> str:
    return f"exit {done.returncode}\n{done.stdout[-4000:]}\n{done.stderr[-4000:]}"


def _pip_wheel(
    source: Path, out: Path, extra_env: dict[str, str] | None = None, *, verbose: bool = False
) -> subprocess.CompletedProcess[str]:
    # `-v` shows the backend's own output (setup.py's message), which `-q`
    # hides when the build succeeds.
    return _run(
        sys.executable,
        "-m",
        "pip",
        "wheel",
        "--no-deps",
        "-v" if verbose else "-q",
        "-w",
        out,
        source,
        cwd=out,
        extra_env=extra_env,
    )


def _only_wheel(out: Path, done: subprocess.CompletedProcess[str], prefix: str) -> Path:
    assert done.returncode == 0, _output(done)
    built = sorted(out.glob(f"{prefix}-*.whl"))
    assert len(built) == 1, [path.name for path in out.iterdir()]
    return built[0]


def _speedups_source(tmp: Path) -> Path:
    """A copy of speedups/ without its build products.  pip builds a local
    directory in place, and setuptools reuses an up-to-date `build/` (left by
    README's `pip install ./speedups`) without compiling: from the checkout
    itself a broken compiler would ship the old module, and every build here
    would write into the checkout."""
    copy = tmp / "speedups"
    shutil.copytree(SPEEDUPS, copy, ignore=shutil.ignore_patterns("build", "*.egg-info"))
    return copy


@dataclass(frozen=True)
class Contents:
    names: list[str]
    metadata: str
    listing: str  # for assertion messages


def _contents(wheel: Path) -> Contents:
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        (metadata,) = (name for name in names if name.endswith(".dist-info/METADATA"))
        fields = archive.read(metadata).decode()
    return Contents(names, fields, "\n".join([f"{wheel.name}:", *names]))


def _venv(where: Path, *wheels: Path) -> Path:
    """A fresh venv with `wheels` (and nothing else) installed: its python."""
    done = _run(sys.executable, "-m", "venv", where, cwd=where.parent)
    assert done.returncode == 0, _output(done)
    python = where / "bin" / "python"
    _install(python, *wheels)
    return python


def _install(python: Path, *wheels: Path) -> None:
    done = _run(
        python, "-m", "pip", "install", "-q", "--no-index", "--no-deps", *wheels, cwd=python.parent
    )
    assert done.returncode == 0, _output(done)


def _smoke(
    python: Path, *, active: bool, why_not: str, extra_env: dict[str, str] | None = None
) -> None:
    state = "active" if active else "inactive"
    # cwd: the venv, so that '' on sys.path is not the checkout.
    venv = python.parent.parent
    done = _run(python, "-c", SMOKE, state, why_not, cwd=venv, extra_env=extra_env)
    assert done.returncode == 0 and "smoke ok:" in done.stdout, (
        f"{venv.name}, expected {state}, WHY_NOT ~ {why_not!r} ({extra_env or 'no extra env'})\n"
        + _output(done)
    )


@dataclass(frozen=True)
class Wheels:
    smartasync: Path
    speedups: Path


@pytest.fixture(scope="module")
def wheels(tmp_path_factory: pytest.TempPathFactory) -> Wheels:
    out = tmp_path_factory.mktemp("wheels")
    source = _speedups_source(tmp_path_factory.mktemp("source"))
    return Wheels(
        smartasync=_only_wheel(out, _pip_wheel(ROOT, out), "smartasync"),
        speedups=_only_wheel(out, _pip_wheel(source, out), "smartasync_speedups"),
    )


@dataclass(frozen=True)
class Fallback:
    wheel: Path
    output: str  # pip's and the build backend's


@pytest.fixture(scope="module")
def fallback(tmp_path_factory: pytest.TempPathFactory) -> Fallback:
    """smartasync-speedups built with a compiler that always fails."""
    out = tmp_path_factory.mktemp("fallback")
    source = _speedups_source(tmp_path_factory.mktemp("source"))
    done = _pip_wheel(source, out, BROKEN_COMPILER, verbose=True)
    return Fallback(_only_wheel(out, done, "smartasync_speedups"), done.stdout + done.stderr)


def test_speedups_wheel_holds_the_extension_and_nothing_else(wheels: Wheels) -> None:
    """Else `pip install smartasync-speedups` gives no accelerator, or puts a
    second copy of smartasync over the user's."""
    contents = _contents(wheels.speedups)
    compiled = [name for name in contents.names if name.endswith(COMPILED)]
    assert len(compiled) == 1, contents.listing
    assert EXTENSION.fullmatch(compiled[0]), contents.listing
    dist_info = {name.split("/", 1)[0] for name in contents.names if ".dist-info/" in name}
    assert len(dist_info) == 1, contents.listing
    assert dist_info.pop().startswith("smartasync_speedups-"), contents.listing
    others = [name for name in contents.names if name not in compiled and ".dist-info/" not in name]
    assert not others, contents.listing
    assert not [name for name in contents.names if name.startswith("smartasync/")], contents.listing
    assert re.search(r"^Name: smartasync-speedups$", contents.metadata, re.M), contents.metadata


def test_smartasync_wheel_is_pure_python_without_the_companion(wheels: Wheels) -> None:
    """Else smartasync's one wheel for every platform carries a module built
    for one, or the companion's files, which then clash with its own wheel."""
    contents = _contents(wheels.smartasync)
    assert wheels.smartasync.name.endswith("-py3-none-any.whl"), contents.listing
    assert not [name for name in contents.names if name.endswith(COMPILED)], contents.listing
    companion = [
        name
        for name in contents.names
        if name.startswith(("speedups/", "_smartasync_speedups", "smartasync_speedups"))
    ]
    assert not companion, contents.listing
    assert "smartasync/_speedups.py" in contents.names, contents.listing  # the loader stays
    assert re.search(r"^Name: smartasync$", contents.metadata, re.M), contents.metadata


def test_fresh_venv_runs_without_the_companion_with_it_and_with_it_disabled(
    wheels: Wheels, tmp_path: Path
) -> None:
    """Else `pip install smartasync` alone is broken, the companion is
    installed and not used, or SMARTASYNC_NO_EXTENSIONS does not turn it off."""
    python = _venv(tmp_path / "venv", wheels.smartasync)
    _smoke(python, active=False, why_not="^not installed")
    _install(python, wheels.speedups)
    _smoke(python, active=True, why_not="^$")
    _smoke(python, active=False, why_not="SMARTASYNC_NO_EXTENSIONS", extra_env=NO_EXTENSIONS)


def test_broken_compiler_still_builds_a_wheel_without_the_module(fallback: Fallback) -> None:
    """Else a machine without a working C compiler cannot install the
    companion at all, or is not told why smartasync runs pure Python."""
    assert FALLBACK_MESSAGE in fallback.output, fallback.output[-4000:]
    contents = _contents(fallback.wheel)
    assert not [name for name in contents.names if name.endswith(COMPILED)], contents.listing
    assert re.search(r"^Name: smartasync-speedups$", contents.metadata, re.M), contents.metadata


def test_wheel_without_the_module_installs_and_runs_pure_python(
    wheels: Wheels, fallback: Fallback, tmp_path: Path
) -> None:
    """Else a companion whose build failed breaks `import smartasync`
    instead of leaving it pure Python."""
    python = _venv(tmp_path / "venv", wheels.smartasync, fallback.wheel)
    _smoke(python, active=False, why_not="^not installed")


def test_required_build_fails_with_a_broken_compiler(tmp_path: Path) -> None:
    """Else CI, which sets SMARTASYNC_SPEEDUPS_REQUIRED=1, could lose the
    accelerator to a compiler error and test pure Python twice unawares."""
    source = _speedups_source(tmp_path)
    out = tmp_path / "out"
    out.mkdir()
    done = _pip_wheel(source, out, {**BROKEN_COMPILER, **REQUIRED})
    assert done.returncode != 0, _output(done)
    # It failed at the compiler, not (say) while fetching setuptools.
    assert "_smartasync_speedups.c" in done.stdout + done.stderr, _output(done)
    assert not list(out.glob("*.whl")), [path.name for path in out.iterdir()]
