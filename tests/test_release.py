"""What a release must get right: a version above the predecessor's on PyPI,
the MIT licence pyproject declares, a wheel that ships the typing files and
nothing of the tests, and README code that at least compiles."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

import smartasync
from smartasync import SmartAsync

ROOT = Path(__file__).resolve().parent.parent

# PyPI's `smartasync` 0.5.0 is the predecessor, a different API under the same
# name: ours must sort above it, or `pip install -U` keeps theirs.
PREDECESSOR_ON_PYPI = "0.5.0"

# A README code block that is not meant to compile says so in its first lines.
NOT_RUN = re.compile(r"#\s*not-run:\s*\S")


def _release(text: str) -> tuple[int, ...]:
    """The release part only: "1.0.0a1" -> (1, 0, 0)."""
    match = re.match(r"\d+(\.\d+)*", text)
    assert match, f"{text!r} does not start with a release number"
    return tuple(int(part) for part in match.group().split("."))


def test_version_is_above_the_predecessor_on_pypi() -> None:
    ours, theirs = smartasync.__version__, PREDECESSOR_ON_PYPI
    try:
        from packaging.version import Version
    except ImportError:  # packaging is usually present (pip vendors its own copy)
        assert _release(ours) > _release(theirs)
    else:
        assert Version(ours) > Version(theirs)
    assert _release(ours) >= (1, 0, 0)  # README: tell them apart by __version__ >= 1.0


def test_license_is_mit_as_pyproject_says() -> None:
    license_text = (ROOT / "LICENSE").read_text()
    assert license_text.startswith("MIT License")
    assert "smartasync developers" in license_text
    assert "WITHOUT WARRANTY OF ANY KIND" in license_text
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert 'license = { text = "MIT" }' in pyproject
    assert "License :: OSI Approved :: MIT License" in pyproject


def _pip(*args: str, cwd: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "pip", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> zipfile.ZipFile:
    out = tmp_path_factory.mktemp("wheel")
    # pip fetches the build backend (flit_core) into an isolated environment,
    # as `pip install` from a checkout does.
    _pip("wheel", "--no-deps", "--quiet", "-w", str(out), str(ROOT), cwd=out)
    (built,) = out.glob("smartasync-*.whl")
    return zipfile.ZipFile(built)


def test_wheel_ships_the_typing_files(wheel: zipfile.ZipFile) -> None:
    names = set(wheel.namelist())
    assert "smartasync/py.typed" in names
    facades = sorted(f"smartasync/{p.name}" for p in (ROOT / "smartasync").glob("*.pyi"))
    assert facades, "smartasync/ has no .pyi facade files"
    assert set(facades) <= names, set(facades) - names
    assert "smartasync/mypy.py" in names  # the plugin users name in mypy.ini


def test_wheel_holds_no_tests_and_has_the_right_metadata(wheel: zipfile.ZipFile) -> None:
    names = wheel.namelist()
    assert not [n for n in names if n.startswith("tests/") or "/tests/" in n]
    assert not [n for n in names if n.startswith(("benchmarks/", "examples/", "stubs/"))]
    (metadata,) = (n for n in names if n.endswith(".dist-info/METADATA"))
    fields = wheel.read(metadata).decode()
    assert re.search(r"^Name: smartasync$", fields, re.M)
    assert re.search(rf"^Version: {re.escape(smartasync.__version__)}$", fields, re.M)
    assert any(".dist-info/" in n and n.endswith("/LICENSE") for n in names), names


def test_sdist_holds_the_license_and_the_typing_files(tmp_path: Path) -> None:
    # `python -m build` is not a test dependency: the backend's own sdist hook,
    # with flit_core fetched by pip into a throwaway directory.
    backend = tmp_path / "backend"
    _pip("install", "--quiet", "--target", str(backend), "flit_core >=3.9,<4", cwd=tmp_path)
    out = tmp_path / "dist"
    out.mkdir()
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, flit_core.buildapi as b; print(b.build_sdist(sys.argv[1]))",
            str(out),
        ],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(backend)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    name = done.stdout.strip().splitlines()[-1]
    with tarfile.open(out / name) as sdist:
        members = {m.name.split("/", 1)[1] for m in sdist.getmembers() if "/" in m.name}
    assert {"LICENSE", "README.md", "pyproject.toml", "smartasync/py.typed"} <= members
    assert f"smartasync-{smartasync.__version__}" in name


def _readme_python_blocks() -> list[tuple[int, str]]:
    text = (ROOT / "README.md").read_text()
    blocks = []
    for match in re.finditer(r"^```python\n(.*?)^```", text, re.S | re.M):
        line = text.count("\n", 0, match.start()) + 2  # the block's first code line
        blocks.append((line, match.group(1)))
    return blocks


def test_readme_python_blocks_compile() -> None:
    blocks = _readme_python_blocks()
    assert len(blocks) >= 3
    for line, code in blocks:
        if NOT_RUN.search(code):
            continue
        try:
            compile(code, f"README.md:{line}", "exec", dont_inherit=True)
        except SyntaxError as exc:
            pytest.fail(f"README.md, the ```python block at line {line}: {exc}")


class _Service(SmartAsync):
    async def bump(self, x: int) -> int:
        await asyncio.sleep(0)
        return x + 1


@pytest.mark.asyncio
async def test_readme_executor_advice_holds_in_debug_mode() -> None:
    # README (Troubleshooting): in asyncio debug mode (`-X dev`) asyncio refuses
    # a coroutine function in run_in_executor, and a dual method is one, so the
    # advice is `.sync`; asyncio.to_thread takes the bare method.
    loop = asyncio.get_running_loop()
    loop.set_debug(True)
    obj = _Service()
    try:
        assert await loop.run_in_executor(None, obj.bump.sync, 1) == 2
        assert await asyncio.to_thread(obj.bump, 1) == 2
        with pytest.raises(TypeError, match="run_in_executor"):
            await loop.run_in_executor(None, obj.bump, 1)
    finally:
        loop.set_debug(False)
