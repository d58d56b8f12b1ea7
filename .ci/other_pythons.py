"""Run the runtime tests on every other CPython >= 3.11 on this machine.

Called by .ci/run after README.md's test command (which runs the whole suite,
typing checks included, on `python3`).  For each other version X.Y found, it
creates .venv-X.Y with that interpreter, installs the `runtime-test` extra and
the C accelerator (`speedups/`; its build must succeed here), and runs pytest
twice, with the accelerator and with SMARTASYNC_NO_EXTENSIONS=1, without the
files that check types or style (they compare the output of mypy, ruff,
basedpyright, pyrefly and ty with pinned answers, so the main run covers
them, and those tools are not installed here) or build packages or run the
benchmark smoke test.

Interpreters are found (not assumed): `python3.N` on PATH, pyenv's versions
(`pyenv root` / `pyenv versions --bare`, else $PYENV_ROOT or ~/.pyenv), and
uv's managed Pythons; each candidate is asked for its version, and one per
X.Y is kept (a standard build over a free-threaded one, then the newest
patch release).  SMARTASYNC_CI_PYTHONS, when set, replaces that search with
its own whitespace-separated list of interpreters ("" means none).

The main run's own Python gets its pure-Python runtime run too, in README's
.venv (the main run had the accelerator).

Then the runtime tests run once more on one of those versions (3.12 when
found; its accelerated run is this one, to keep CI short) with
SMARTASYNC_ASYNCIO_FALLBACKS=1: every asyncio internal that
smartasync uses gives way to its public-API fallback
(smartasync/_asyncio_internals.py), so the fallbacks, which a newer Python
may need, are tested on every CI run.  One version is enough: the fallbacks
are public API, and the internals themselves are covered by the other runs.

Every version runs even if an earlier one failed; the exit status is 1 if
any run (the main one too, given by --main-status) failed, else 0.  Stdlib
only, so that it runs before or without any virtual environment.
"""

from __future__ import annotations

import argparse
import os
import shlex
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# The files that need mypy, ruff or the type checkers (or, for the benchmark
# smoke test and the packaging check, which builds wheels and venvs, only
# repeat what the main run checks).  Every other test file
# runs, so a new runtime test file is picked up without editing this list.
NOT_RUNTIME = [
    "tests/test_mypy_plugin.py",
    "tests/test_stubgen.py",
    "tests/test_property_types.py",
    "tests/test_stubgen_properties.py",
    "tests/test_quality.py",
    "tests/test_benchmarks_quick.py",
    "tests/test_packaging.py",
    "tests/typing",
]
EXTRA = "runtime-test"
# The C accelerator's companion distribution, installed beside the extra; a
# failed build fails the install here (SPEEDUPS_REQUIRED) instead of leaving
# pure Python to be tested twice.
SPEEDUPS = "./speedups"
SPEEDUPS_REQUIRED = {"SMARTASYNC_SPEEDUPS_REQUIRED": "1"}
# Every runtime test run is repeated with the accelerator turned off, so that
# both implementations are tested on every Python (DESIGN §8).
PURE = {"SMARTASYNC_NO_EXTENSIONS": "1"}
# The extra run with the asyncio fallbacks forced: its variable, and the
# version it prefers (any other one found runs it if that one is absent).
FALLBACKS_ENV = "SMARTASYNC_ASYNCIO_FALLBACKS"
FALLBACKS_ON = (3, 12)
# Versions named in the output when absent; any newer one found also runs.
OLDEST, NEWEST_NAMED = (3, 11), (3, 14)

# Valid on any Python, so that an old interpreter just answers "too old".
PROBE = (
    "import sys, sysconfig; sys.stdout.write('%s %d %d %d %d %s' % ("
    "sys.implementation.name, sys.version_info[0], sys.version_info[1], "
    "sys.version_info[2], bool(sysconfig.get_config_var('Py_GIL_DISABLED')), "
    "sys.executable))"
)


@dataclass(frozen=True)
class Interpreter:
    version: tuple[int, int]
    micro: int
    free_threaded: bool
    executable: str

    @property
    def name(self) -> str:
        return f"{self.version[0]}.{self.version[1]}"


def candidates() -> list[str]:
    override = os.environ.get("SMARTASYNC_CI_PYTHONS")
    if override is not None:
        return shlex.split(override)
    found = ["python3", *(f"python3.{minor}" for minor in range(OLDEST[1], NEWEST_NAMED[1] + 1))]
    roots = [Path(os.environ.get("PYENV_ROOT", "~/.pyenv")).expanduser()]
    if (pyenv := shutil.which("pyenv")) and (pyenv_root := _output([pyenv, "root"])):
        roots.insert(0, Path(pyenv_root))
        for name in (_output([pyenv, "versions", "--bare"]) or "").split():
            found.append(str(Path(pyenv_root, "versions", name, "bin", "python3")))
    for root in roots:
        found += map(str, sorted(root.glob("versions/*/bin/python3")))
    uv = Path(os.environ.get("XDG_DATA_HOME", "~/.local/share")).expanduser() / "uv" / "python"
    found += map(str, sorted(uv.glob("cpython-*/bin/python3")))
    return list(dict.fromkeys(found))


def _output(command: list[str]) -> str | None:
    try:
        done = subprocess.run(
            command,
            capture_output=True,
            text=True,
            timeout=60,
            stdin=subprocess.DEVNULL,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def probe(command: str) -> Interpreter | None:
    """What `command` runs, if it is a CPython >= 3.11 (a pyenv shim for a
    version that is not selected fails here and is ignored)."""
    exe = command if os.sep in command else shutil.which(command)
    answer = _output([exe, "-c", PROBE]) if exe else None
    if not answer:
        return None
    impl, major, minor, micro, free_threaded, executable = answer.split(" ", 5)
    version = (int(major), int(minor))
    if impl != "cpython" or version < OLDEST:
        return None
    return Interpreter(version, int(micro), free_threaded == "True", executable)


def discover() -> dict[tuple[int, int], Interpreter]:
    best: dict[tuple[int, int], Interpreter] = {}
    for command in candidates():
        found = probe(command)
        if found is None:
            if "SMARTASYNC_CI_PYTHONS" in os.environ:
                print(f"{command}: not a runnable CPython >= 3.11, ignored", flush=True)
            continue
        held = best.get(found.version)
        if held is None or (not found.free_threaded, found.micro) > (
            not held.free_threaded,
            held.micro,
        ):
            best[found.version] = found
    return best


def step(
    label: str, command: list[str], extra_env: dict[str, str] | None = None
) -> tuple[int, float]:
    print(f"$ {label}", flush=True)
    start = time.monotonic()
    env = {**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1", "PIP_ROOT_USER_ACTION": "ignore"}
    env.update(extra_env or {})
    status = subprocess.run(command, cwd=ROOT, env=env, stdin=subprocess.DEVNULL).returncode
    return status, time.monotonic() - start


def run(interp: Interpreter) -> tuple[bool, str, bool]:
    """Install into .venv-X.Y and run the runtime tests: (passed, summary,
    installed)."""
    venv = f".venv-{interp.name}"
    python = str(ROOT / venv / "bin" / "python")
    print(f"\n=== {interp.name}: runtime tests with {interp.executable}", flush=True)
    status, made = step(
        f"{interp.executable} -m venv {venv}", [interp.executable, "-m", "venv", venv]
    )
    if status == 0:
        status, installed = step(
            f"{venv}/bin/python -m pip install -q -e '.[{EXTRA}]' {SPEEDUPS}",
            [python, "-m", "pip", "install", "-q", "-e", f".[{EXTRA}]", SPEEDUPS],
            SPEEDUPS_REQUIRED,
        )
        made += installed
    if status != 0:
        return False, f"FAILED to install (exit {status}, {made:.0f}s)", False
    # The accelerated run on FALLBACKS_ON is the one with the asyncio
    # fallbacks forced (see run_with_fallbacks), not a third run.
    passed, results = True, [f"install {made:.0f}s"]
    variants = [PURE] if interp.version == FALLBACKS_ON else [{}, PURE]
    for extra_env in variants:
        status, tested = runtime_tests(interp, extra_env)
        what = "pure Python" if extra_env else "accelerated"
        if status != 0:
            passed = False
            results.append(f"{what}: FAILED (pytest exit {status}; {tested:.0f}s)")
        else:
            results.append(f"{what}: passed ({tested:.0f}s)")
    return passed, "; ".join(results), True


def runtime_tests(
    interp: Interpreter, extra_env: dict[str, str] | None = None, venv: str | None = None
) -> tuple[int, float]:
    """Run the runtime tests in .venv-X.Y (made by `run`), or in `venv`:
    (exit status, seconds)."""
    venv = venv or f".venv-{interp.name}"
    python = str(ROOT / venv / "bin" / "python")
    ignores = [f"--ignore={path}" for path in NOT_RUNTIME]
    shown = "".join(f"{name}={value} " for name, value in (extra_env or {}).items())
    # Exit status 5 (no tests collected) counts as a failure like any non-zero.
    return step(
        f"{shown}{venv}/bin/python -m pytest {' '.join(ignores)}",
        [python, "-m", "pytest", *ignores],
        extra_env,
    )


def run_with_fallbacks(installed: dict[tuple[int, int], Interpreter]) -> tuple[bool, str]:
    """The runtime tests once more, with the asyncio fallbacks forced, on
    FALLBACKS_ON or else the oldest other version installed: (passed, summary)."""
    if not installed:
        return True, f"not run (no other Python installed), runtime tests with {FALLBACKS_ENV}=1"
    interp = installed.get(FALLBACKS_ON) or installed[min(installed)]
    print(f"\n=== {interp.name}: runtime tests with {FALLBACKS_ENV}=1", flush=True)
    status, tested = runtime_tests(interp, {FALLBACKS_ENV: "1"})
    what = f"runtime tests with {FALLBACKS_ENV}=1, {interp.executable}"
    if status != 0:
        return False, f"{interp.name}: FAILED (pytest exit {status}; tests {tested:.0f}s), {what}"
    return True, f"{interp.name}: passed (tests {tested:.0f}s), {what}"


def run_main_pure(here: tuple[int, int]) -> tuple[bool, str]:
    """The main run's Python once more, its runtime tests in README's .venv
    with the accelerator off (the main run had it on)."""
    label = f"{here[0]}.{here[1]}"
    what = "runtime tests, pure Python (SMARTASYNC_NO_EXTENSIONS=1), .venv"
    if not (ROOT / ".venv" / "bin" / "python").exists():
        return False, f"{label}: FAILED (no .venv from the main run), {what}"
    print(f"\n=== {label}: {what}", flush=True)
    interp = Interpreter(here, sys.version_info[2], False, sys.executable)
    status, tested = runtime_tests(interp, PURE, venv=".venv")
    if status != 0:
        return False, f"{label}: FAILED (pytest exit {status}; tests {tested:.0f}s), {what}"
    return True, f"{label}: passed (tests {tested:.0f}s), {what}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.partition("\n")[0])
    parser.add_argument(
        "--main-status",
        type=int,
        help="exit status of the main run (README's command), for the summary",
    )
    args = parser.parse_args()
    here = sys.version_info[:2]
    summary: list[str] = []
    ok = True
    if args.main_status is not None:
        ok = args.main_status == 0
        result = "passed" if ok else f"FAILED (exit {args.main_status})"
        summary.append(f"{here[0]}.{here[1]}: {result}, full suite (main run)")
        passed, result = run_main_pure(here)
        ok = ok and passed
        summary.append(result)
    found = discover()
    installed: dict[tuple[int, int], Interpreter] = {}
    newest = max([NEWEST_NAMED, *found])
    for minor in range(OLDEST[1], newest[1] + 1):
        version = (3, minor)
        if version == here:
            continue
        interp = found.get(version)
        if interp is None:
            line = f"3.{minor}: not found, skipped"
            print(line, flush=True)
            summary.append(line)
            continue
        passed, result, made = run(interp)
        ok = ok and passed
        if made:
            installed[version] = interp
        summary.append(f"{interp.name}: {result}, runtime tests, {interp.executable}")
    passed, result = run_with_fallbacks(installed)
    ok = ok and passed
    summary.append(result)
    print("\n=== Summary", *summary, sep="\n", flush=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
