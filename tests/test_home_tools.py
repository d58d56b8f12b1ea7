"""Homes (DESIGN section 3, rule 3; issue 11) exercised through the real tools
the issue names, each in a fresh interpreter with a timeout:

- pytest + pytest-asyncio: a test project written to a temporary directory and
  run with `python -m pytest -W error::ResourceWarning`.  Sync fixtures enter a
  dual aiosqlite store and a dual httpx client with `with` (home: the sync
  loop) and async tests await them, each on its own loop, then sync tests use
  them; an async fixture enters the store with `async with` (home: the test's
  loop), where a plain `def` helper's sync call must raise `RuntimeError`
  saying to `await` (issue 11, point 2) and worker threads are handed to the
  home.
- Jupyter: notebooks executed by nbclient on a real ipykernel (a kernel spec
  written to a temporary JUPYTER_PATH that runs this interpreter).  A client
  entered in a cell is used from later cells with and without `await`.

Everything Jupyter is imported only in the subprocess (its packages emit
DeprecationWarnings on import, and this suite turns warnings into errors).
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import os
import re
import subprocess
import sys
import textwrap
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from .conftest import ROOT

PYTEST_TIMEOUT = 120.0  # seconds for one generated pytest run, exit included
NOTEBOOK_TIMEOUT = 150.0  # seconds for the nbclient driver (two kernels)

# What a loop mismatch looks like (DESIGN section 3, rule 6): none may appear.
CROSS_LOOP_SIGNS = (
    "Event loop is closed",
    "Non-thread-safe",
    "different event loop",
    "attached to a different loop",
)

# -- the generated pytest project ----------------------------------------------

HOMERES = '''
"""Dual resources for the generated tests: an aiosqlite store, an httpx client."""

from __future__ import annotations

import asyncio
from typing import Any

import aiosqlite
import httpx

from smartasync import SmartAsync


class Db(SmartAsync):
    """An aiosqlite connection opened in __aenter__ and closed in __aexit__
    (its worker thread is not a daemon: left open, the interpreter cannot
    exit), and an asyncio.Lock that serialises multi-statement writes (it is
    bound to the loop where it is first contended)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.conn: aiosqlite.Connection | None = None
        self.write_lock = asyncio.Lock()
        self.entered_on: asyncio.AbstractEventLoop | None = None

    async def __aenter__(self) -> Db:
        self.entered_on = asyncio.get_running_loop()
        self.conn = await aiosqlite.connect(self.path)
        await self.conn.execute("CREATE TABLE IF NOT EXISTS kv (k TEXT, v INTEGER)")
        await self.conn.commit()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        assert self.conn is not None
        async with self.write_lock:
            await self.conn.close()
        self.conn = None

    async def put_many(self, key: str, values: list[int]) -> int:
        assert self.conn is not None
        async with self.write_lock:
            for value in values:
                await self.conn.execute("INSERT INTO kv VALUES (?, ?)", (key, value))
            await self.conn.commit()
        return len(values)

    async def query(self, sql: str, *params: object) -> list[tuple[Any, ...]]:
        assert self.conn is not None
        async with self.conn.execute(sql, params) as cursor:
            return list(await cursor.fetchall())

    async def running_loop(self) -> asyncio.AbstractEventLoop:
        return asyncio.get_running_loop()


class Client(SmartAsync, httpx.AsyncClient):
    """httpx's async client, made dual by inheritance (its __aenter__ and
    __aexit__ are inherited from a non-smart base)."""
'''

CONFTEST = '''
from __future__ import annotations

import faulthandler
import socket
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from homeres import Db


def pytest_unconfigure(config: pytest.Config) -> None:
    # A hang at exit (a non-daemon thread, such as aiosqlite's worker, left
    # running) dumps every thread's stack after 20 s and exits non-zero.
    faulthandler.dump_traceback_later(20, exit=True, file=sys.__stderr__)


async def number(request: Request) -> JSONResponse:
    return JSONResponse({"i": request.query_params.get("i")})


@pytest.fixture(scope="session")
def server_url() -> Iterator[str]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    app = Starlette(routes=[Route("/n", number)])
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "server did not start"
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(15)


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Db]:
    """A SYNC function-scoped fixture: `with` makes the sync loop its home."""
    with Db(str(tmp_path / "function.db")) as entered:
        yield entered
    assert entered.conn is None
'''

# Sync fixtures (home: the sync loop) used by async tests and by sync tests.
TEST_SYNC_FIXTURES = '''
from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from homeres import Client, Db

TEST_LOOPS: list[asyncio.AbstractEventLoop] = []


@pytest.mark.asyncio
async def test_function_sync_fixture_in_an_async_test(db: Db) -> None:
    loop = asyncio.get_running_loop()
    assert db.entered_on is not None and db.entered_on is not loop
    # Four writers contend for the write lock: it binds to the home loop.
    counts = await asyncio.gather(*(db.put_many(k, [1, 2, 3]) for k in "abcd"))
    assert counts == [3, 3, 3, 3]
    assert await db.query("SELECT count(*) FROM kv") == [(12,)]
    assert await db.query.aio("SELECT sum(v) FROM kv WHERE k = ?", "a") == [(6,)]
    # Every call ran on the home (the sync loop), not on this test's loop.
    assert await db.running_loop() is db.entered_on
    assert await db.running_loop.aio() is db.entered_on


def test_function_sync_fixture_in_a_sync_test(db: Db) -> None:
    assert db.put_many("a", [1, 2]) == 2
    assert db.put_many.sync("b", [3]) == 1
    assert db.query("SELECT count(*) FROM kv") == [(3,)]
    assert db.running_loop() is db.entered_on


@pytest.fixture(scope="module")
def mdb(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Db]:
    """A MODULE-scoped sync fixture: outlives the loops of the async tests."""
    path: Path = tmp_path_factory.mktemp("module") / "module.db"
    with Db(str(path)) as entered:
        yield entered
    assert entered.conn is None


@pytest.fixture(scope="module")
def mclient(server_url: str) -> Iterator[Client]:
    """A MODULE-scoped sync fixture entering a dual httpx client."""
    with Client(base_url=server_url) as client:
        yield client
    assert client.is_closed


@pytest.mark.asyncio
async def test_module_sync_fixtures_in_a_first_async_test(mdb: Db, mclient: Client) -> None:
    TEST_LOOPS.append(asyncio.get_running_loop())
    await asyncio.gather(*(mdb.put_many("first", [i, i]) for i in range(4)))
    responses = await asyncio.gather(*(mclient.get("/n", params={"i": str(i)}) for i in range(4)))
    assert [r.json() for r in responses] == [{"i": str(i)} for i in range(4)]
    assert await mdb.running_loop() is mdb.entered_on is not asyncio.get_running_loop()


@pytest.mark.asyncio
async def test_module_sync_fixtures_in_a_second_async_test(mdb: Db, mclient: Client) -> None:
    TEST_LOOPS.append(asyncio.get_running_loop())
    assert TEST_LOOPS[0] is not TEST_LOOPS[1]  # each async test has its own loop
    assert TEST_LOOPS[0].is_closed()
    await asyncio.gather(*(mdb.put_many("second", [i]) for i in range(4)))
    responses = await asyncio.gather(*(mclient.get("/n", params={"i": str(i)}) for i in range(4)))
    assert [r.status_code for r in responses] == [200] * 4
    assert await mdb.query("SELECT count(*) FROM kv") == [(12,)]
    assert await mdb.running_loop() is mdb.entered_on


def test_module_sync_fixtures_in_a_sync_test_after_them(mdb: Db, mclient: Client) -> None:
    assert mdb.put_many("sync", [1, 2, 3]) == 3
    assert mdb.query("SELECT count(*) FROM kv") == [(15,)]
    assert mclient.get("/n", params={"i": "s"}).json() == {"i": "s"}
    assert mclient.get.sync("/n").status_code == 200
    assert mdb.running_loop() is mdb.entered_on
'''

# The reverse: an async fixture (home: the test's loop).
TEST_ASYNC_FIXTURE = '''
from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from homeres import Db


@pytest_asyncio.fixture
async def adb(tmp_path: Path) -> AsyncIterator[Db]:
    async with Db(str(tmp_path / "async.db")) as entered:
        yield entered
    assert entered.conn is None


def count_with_sync(db: Db) -> Any:
    """A plain `def` helper making an explicit sync call."""
    return db.query.sync("SELECT count(*) FROM kv")


def count_bare(db: Db) -> Any:
    """A plain `def` helper making a bare call (sync caller: a sync call)."""
    return db.query("SELECT count(*) FROM kv")


@pytest.mark.asyncio
async def test_sync_helper_inside_the_home_loop_raises_saying_to_await(adb: Db) -> None:
    loop = asyncio.get_running_loop()
    assert adb.entered_on is loop
    await adb.put_many("a", [1, 2])
    for helper in (count_with_sync, count_bare):
        started = time.monotonic()
        with pytest.raises(RuntimeError, match="await") as info:
            helper(adb)
        assert time.monotonic() - started < 5, "the RuntimeError must come quickly"
        assert "query" in str(info.value), f"the message must name the call: {info.value}"
    # Nothing ran elsewhere against the object's resources, and it still works.
    assert await adb.query("SELECT count(*) FROM kv") == [(2,)]
    assert await adb.running_loop() is loop


@pytest.mark.asyncio
async def test_worker_threads_are_handed_to_the_home_loop(adb: Db) -> None:
    loop = asyncio.get_running_loop()
    counts = await asyncio.gather(
        *(asyncio.to_thread(adb.put_many.sync, k, [1, 2]) for k in "abc"),
        loop.run_in_executor(None, lambda: adb.put_many("d", [3])),
    )
    assert counts == [2, 2, 2, 1]
    assert await asyncio.to_thread(lambda: adb.query("SELECT count(*) FROM kv")) == [(7,)]
    assert await asyncio.to_thread(adb.running_loop.sync) is loop
    assert await loop.run_in_executor(None, adb.running_loop.sync) is loop


@pytest.mark.asyncio
async def test_birth_home_after_async_exit(tmp_path: Path) -> None:
    loop = asyncio.get_running_loop()
    async with Db(str(tmp_path / "b.db")) as entered:
        assert await asyncio.to_thread(entered.running_loop.sync) is loop
    # Made in this test's coroutine: it lives on this loop after the exit too.
    assert await entered.running_loop() is loop
    assert await asyncio.to_thread(entered.running_loop.sync) is loop


@pytest.mark.asyncio
async def test_no_home_after_async_exit_when_made_in_sync_code(tmp_path: Path) -> None:
    loop = asyncio.get_running_loop()
    async with made_in_sync_code(str(tmp_path / "b.db")) as entered:
        assert await asyncio.to_thread(entered.running_loop.sync) is loop
    # Made in sync code: back on the sync loop after the exit, for both call styles.
    sync_loop = await asyncio.to_thread(entered.running_loop.sync)
    assert sync_loop is not loop
    assert await entered.running_loop() is sync_loop


def made_in_sync_code(path: str) -> Db:
    return Db(path)


@pytest.mark.asyncio
async def test_sync_entry_homes_on_the_sync_loop_until_exit(tmp_path: Path) -> None:
    loop = asyncio.get_running_loop()
    db = Db(str(tmp_path / "c.db"))
    await asyncio.to_thread(db.__enter__)  # `with` from a worker thread
    try:
        home = await db.running_loop()
        assert home is db.entered_on is not loop
        assert await db.put_many("x", [1]) == 1
    finally:
        await asyncio.to_thread(db.__exit__, None, None, None)
    assert db.conn is None
    assert await db.running_loop() is loop  # after the exit: its birth home, this loop
'''

SYNC_FIXTURE_TESTS = 5
ASYNC_FIXTURE_TESTS = 5

PYTEST_INI = """
[pytest]
addopts = --strict-markers --strict-config
asyncio_mode = strict
asyncio_default_fixture_loop_scope = function
filterwarnings = error
"""


def write_project(directory: Path) -> Path:
    project = directory / "project"
    project.mkdir()
    files = {
        "pytest.ini": PYTEST_INI,
        "homeres.py": HOMERES,
        "conftest.py": CONFTEST,
        "test_sync_fixtures.py": TEST_SYNC_FIXTURES,
        "test_async_fixture.py": TEST_ASYNC_FIXTURE,
    }
    for name, text in files.items():
        (project / name).write_text(textwrap.dedent(text).lstrip())
    return project


def pytest_command(project: Path, test_file: str) -> list[str]:
    return [
        sys.executable,
        "-W",
        "error::ResourceWarning",  # the interpreter's too: leaks at exit are printed
        "-m",
        "pytest",
        "-q",
        "-p",
        "no:cacheprovider",
        "-W",
        "error::ResourceWarning",
        "-o",
        "asyncio_mode=strict",
        "-o",
        "faulthandler_timeout=60",
        # A hung test fails with its traceback and the run goes on to report
        # every test; a hang at exit is caught by the caller's timeout.
        "--timeout=40",
        f"--basetemp={project.parent / 'basetemp'}",
        f"--rootdir={project}",
        str(project / test_file),
    ]


def child_env(*extra_path: Path) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("PYTHONASYNCIODEBUG", "PYTEST_ADDOPTS", "PYTEST_CURRENT_TEST")
    }
    env["PYTHONPATH"] = os.pathsep.join(str(p) for p in (ROOT, *extra_path))
    env["PYTHONUNBUFFERED"] = "1"  # on a hang, everything printed so far is seen
    return env


def decoded(output: str | bytes | None) -> str:
    if isinstance(output, bytes):
        return output.decode(errors="replace")
    return output or ""


def check_pytest_run(returncode: int, stdout: str, stderr: str, expected_passed: int) -> None:
    """Exactly `expected_passed` tests passed, nothing else happened, and
    nothing about loops, leaks or unraisable exceptions was printed."""
    output = f"{stdout}\n--- stderr ---\n{stderr}"
    summaries = [line for line in stdout.splitlines() if re.search(r" in [\d.]+s\b", line)]
    summary = summaries[-1].strip("= ") if summaries else ""
    assert re.fullmatch(rf"{expected_passed} passed in [\d.]+s( \([\d:]+\))?", summary), (
        f"expected exactly {expected_passed} passed and nothing else; "
        f"summary {summary!r}, exit {returncode}\n{output}"
    )
    assert returncode == 0, output
    for sign in (*CROSS_LOOP_SIGNS, "Exception ignored", "was never awaited", "Traceback"):
        assert sign not in output, f"{sign!r} in the output:\n{output}"


@pytest.mark.timeout(PYTEST_TIMEOUT + 60)
def test_pytest_sync_fixtures_serve_async_and_sync_tests(tmp_path: Path) -> None:
    project = write_project(tmp_path)
    started = time.monotonic()
    try:
        proc = subprocess.run(
            pytest_command(project, "test_sync_fixtures.py"),
            capture_output=True,
            text=True,
            timeout=PYTEST_TIMEOUT,
            cwd=project,
            env=child_env(project),
        )
    except subprocess.TimeoutExpired as exc:
        pytest.fail(
            f"pytest did not finish within {PYTEST_TIMEOUT} s (a hang, at exit under "
            f"-W error::ResourceWarning if every test already passed):\n"
            f"{decoded(exc.stdout)}\n{decoded(exc.stderr)}"
        )
    check_pytest_run(proc.returncode, proc.stdout, proc.stderr, SYNC_FIXTURE_TESTS)
    assert time.monotonic() - started < PYTEST_TIMEOUT


@pytest.mark.asyncio
@pytest.mark.timeout(PYTEST_TIMEOUT + 60)
async def test_pytest_async_fixture_sync_helper_raises_and_threads_are_handed_over(
    tmp_path: Path,
) -> None:
    project = write_project(tmp_path)
    proc = await asyncio.create_subprocess_exec(
        *pytest_command(project, "test_async_fixture.py"),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        cwd=project,
        env=child_env(project),
    )
    try:
        stdout, stderr = await asyncio.wait_for(proc.communicate(), PYTEST_TIMEOUT)
    except TimeoutError:
        proc.kill()
        stdout, stderr = await proc.communicate()
        pytest.fail(
            f"pytest did not finish within {PYTEST_TIMEOUT} s (a hang, at exit under "
            f"-W error::ResourceWarning if every test already passed):\n"
            f"{decoded(stdout)}\n{decoded(stderr)}"
        )
    assert proc.returncode is not None
    check_pytest_run(proc.returncode, decoded(stdout), decoded(stderr), ASYNC_FIXTURE_TESTS)


# -- Jupyter: nbclient + ipykernel ---------------------------------------------

NB_SETUP = '''
import asyncio
import socket
import time

from smartasync import SmartAsync


class Pipe(SmartAsync):
    """Two asyncio streams over a socketpair: a line written at one end is read
    at the other.  Both streams belong to the loop that opened them."""

    def __init__(self):
        self.streams = None
        self.opened_on = None

    async def open(self):
        self.opened_on = asyncio.get_running_loop()
        left, right = socket.socketpair()
        _, writer = await asyncio.open_connection(sock=left)
        reader, peer = await asyncio.open_connection(sock=right)
        self.streams = (writer, reader, peer)
        return self

    async def close(self):
        writer, _, peer = self.streams
        self.streams = None
        for stream in (writer, peer):
            stream.close()
            await stream.wait_closed()

    async def __aenter__(self):
        return await self.open()

    async def __aexit__(self, *exc_info):
        await self.close()

    async def echo(self, n):
        writer, reader, _ = self.streams
        writer.write(b"%d\\n" % n)
        await writer.drain()
        return int(await reader.readline()), asyncio.get_running_loop()

    async def where(self):
        return asyncio.get_running_loop()


def show(key, n_loop, home):
    n, loop = n_loop
    print(key, n, "home" if loop is home else "kernel" if loop is kernel_loop else "other")


def attempt(key, call):
    started = time.monotonic()
    try:
        result = call()
    except Exception as exc:
        print(key, type(exc).__name__, "fast" if time.monotonic() - started < 5 else "slow")
        print(key, "message:", exc)
        for note in getattr(exc, "__notes__", ()):
            print(key, "note:", note)
    else:
        print(key, "returned", result)


kernel_loop = asyncio.get_running_loop()
print("setup ok")
'''

# Entered with `with` (its sync twin, called in a cell): home is the sync loop.
NB_WITH = [
    ("setup", NB_SETUP),
    (
        "A1",
        "c = Pipe()\nentered = c.__enter__()\n"
        "print('A1 entered', 'kernel' if c.opened_on is kernel_loop else 'not-kernel')",
    ),
    ("A2", "show('A2', await c.echo(1), c.opened_on)"),
    ("A3", "show('A3', c.echo(2), c.opened_on)"),
    ("A4", "show('A4', await c.echo.aio(3), c.opened_on)"),
    ("A5", "show('A5', c.echo.sync(4), c.opened_on)"),
    ("A6", "show('A6', await asyncio.to_thread(c.echo.sync, 5), c.opened_on)"),
    ("A7", "show('A7', await c.echo(6), c.opened_on)"),
    ("A8", "c.__exit__(None, None, None)\nprint('A8 exited', c.streams is None)"),
    ("A9", "print('A9 after exit', 'kernel' if await c.where() is kernel_loop else 'other')"),
]

# Entered with `await cm.__aenter__()`: home is the kernel's loop.
NB_ASYNC_WITH = [
    ("setup", NB_SETUP),
    (
        "B1",
        "cm = Pipe()\nawait cm.__aenter__()\n"
        "print('B1 entered', 'kernel' if cm.opened_on is kernel_loop else 'not-kernel')",
    ),
    ("B2", "show('B2', await cm.echo(1), kernel_loop)"),
    ("B3", "attempt('B3', lambda: cm.echo.sync(2))"),
    ("B4", "attempt('B4', lambda: cm.echo(3))"),
    ("B5", "show('B5', await asyncio.to_thread(cm.echo.sync, 4), kernel_loop)"),
    ("B6", "show('B6', await cm.echo(5), kernel_loop)"),
    ("B7", "await cm.__aexit__(None, None, None)\nprint('B7 exited', cm.streams is None)"),
    (
        "B8",
        "print('B8 after exit', 'kernel' if await asyncio.to_thread(cm.where.sync) is kernel_loop"
        " else 'not-kernel')",
    ),
    # Never entered: rules 1-2, no home.  Informational, except the note that
    # every cross-loop error out of a sync call must carry (rule 6).
    ("C1", "u = Pipe()\nu.open()\nprint('C1 opened without await')"),
    (
        "C2",
        "try:\n    show('C2', await u.echo(1), u.opened_on)\nexcept Exception as e:\n"
        "    print('C2', type(e).__name__, e)",
    ),
    ("C3", "attempt('C3', lambda: u.echo(2))"),
    ("C4", "attempt('C4', lambda: u.close())"),
    ("C5", "v = Pipe()\nawait v.open()\nprint('C5 opened with await')"),
    ("C6", "attempt('C6', lambda: v.echo(1))"),
    (
        "C7",
        "try:\n    show('C7', await v.echo(2), v.opened_on)\nexcept Exception as e:\n"
        "    print('C7', type(e).__name__, e)",
    ),
    (
        "C8",
        "try:\n    await v.close()\n    print('C8 closed')\nexcept Exception as e:\n"
        "    print('C8', type(e).__name__, e)",
    ),
]

NB_DRIVER = """
import json
import re
import sys
import warnings

warnings.simplefilter("ignore", DeprecationWarning)

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellTimeoutError, DeadKernelError

ANSI = re.compile(r"\\x1b\\[[0-9;]*m")
kernel_name, workdir, *paths = sys.argv[1:]
report = []
for path in paths:
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb, timeout=60, kernel_name=kernel_name, allow_errors=True,
        resources={"metadata": {"path": workdir}},
    )
    status = "ok"
    try:
        client.execute()
    except (CellTimeoutError, DeadKernelError) as exc:
        status = f"{type(exc).__name__}: {exc}"
    cells = []
    for cell in nb.cells:
        text = []
        for out in cell.get("outputs", []):
            if out.output_type == "stream":
                text.append(out.text)
            elif out.output_type == "error":
                text.append(ANSI.sub("", "\\n".join(out.traceback)) + "\\n")
            elif "data" in out:
                text.append(out.data.get("text/plain", "") + "\\n")
        cells.append({"key": cell.metadata.get("key"), "text": "".join(text)})
    report.append({"path": path, "status": status, "cells": cells})
print("REPORT " + json.dumps(report))
"""


@dataclass
class Notebook:
    status: str
    cells: dict[str, str]


def write_notebook(path: Path, cells: list[tuple[str, str]]) -> None:
    notebook = {
        "nbformat": 4,
        "nbformat_minor": 5,
        "metadata": {"kernelspec": {"name": "smartasync-home", "display_name": "smartasync"}},
        "cells": [
            {
                "cell_type": "code",
                "id": f"cell-{index}",
                "metadata": {"key": key},
                "execution_count": None,
                "outputs": [],
                "source": textwrap.dedent(source).strip(),
            }
            for index, (key, source) in enumerate(cells)
        ],
    }
    path.write_text(json.dumps(notebook))


def run_notebooks(tmp_path: Path, *notebooks: list[tuple[str, str]]) -> list[Notebook]:
    """Execute each notebook on its own real ipykernel; return every cell's text."""
    jupyter = tmp_path / "jupyter"
    spec_dir = jupyter / "kernels" / "smartasync-home"
    spec_dir.mkdir(parents=True)
    kernel_env = {"PYTHONPATH": str(ROOT), "PYDEVD_DISABLE_FILE_VALIDATION": "1"}
    spec = {
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "smartasync (tests)",
        "language": "python",
        "env": kernel_env,
    }
    (spec_dir / "kernel.json").write_text(json.dumps(spec))
    (tmp_path / "driver.py").write_text(textwrap.dedent(NB_DRIVER))
    paths = []
    for index, cells in enumerate(notebooks):
        path = tmp_path / f"notebook{index}.ipynb"
        write_notebook(path, cells)
        paths.append(str(path))
    env = child_env()
    env.update(kernel_env)
    env.update(
        {
            "JUPYTER_PATH": str(jupyter),
            "JUPYTER_DATA_DIR": str(tmp_path / "jupyter-data"),
            "JUPYTER_CONFIG_DIR": str(tmp_path / "jupyter-config"),
            "JUPYTER_RUNTIME_DIR": str(tmp_path / "jupyter-runtime"),
            "IPYTHONDIR": str(tmp_path / "ipython"),
            "JUPYTER_PLATFORM_DIRS": "1",
        }
    )
    command = [sys.executable, str(tmp_path / "driver.py"), "smartasync-home", str(tmp_path)]
    try:
        proc = subprocess.run(
            [*command, *paths],
            capture_output=True,
            text=True,
            timeout=NOTEBOOK_TIMEOUT,
            cwd=tmp_path,
            env=env,
        )
    except subprocess.TimeoutExpired as exc:
        pytest.fail(
            f"nbclient did not finish within {NOTEBOOK_TIMEOUT} s:\n"
            f"{decoded(exc.stdout)}\n{decoded(exc.stderr)}"
        )
    reports = [line for line in proc.stdout.splitlines() if line.startswith("REPORT ")]
    assert proc.returncode == 0 and reports, f"the driver failed:\n{proc.stdout}\n{proc.stderr}"
    parsed: list[dict[str, Any]] = json.loads(reports[-1].removeprefix("REPORT "))
    return [
        Notebook(item["status"], {cell["key"]: cell["text"] for cell in item["cells"]})
        for item in parsed
    ]


def lines_of(notebook: Notebook) -> str:
    return "\n".join(f"[{key}] {text.rstrip()}" for key, text in notebook.cells.items())


@pytest.mark.timeout(NOTEBOOK_TIMEOUT + 60)
def test_jupyter_client_entered_in_a_cell_serves_cells_with_and_without_await(
    tmp_path: Path,
) -> None:
    missing = [
        name
        for name in ("nbclient", "nbformat", "ipykernel")
        if importlib.util.find_spec(name) is None
    ]
    if missing:
        pytest.skip(f"needs {', '.join(missing)} (the `test` extra installs them)")
    with_nb, async_with_nb = run_notebooks(tmp_path, NB_WITH, NB_ASYNC_WITH)
    # Printed for the record (shown with -s or -rP): what each cell did.
    print("-- entered with `with` (home: the sync loop)\n" + lines_of(with_nb))
    print("-- entered with `async with` (home: the kernel loop); C: never entered")
    print(lines_of(async_with_nb))

    # `c.__enter__()` in a cell: home is the sync loop; later cells with and
    # without await all run there and read their own line back.
    cells = with_nb.cells
    assert with_nb.status == "ok", lines_of(with_nb)
    expected = {
        "setup": "setup ok",
        "A1": "A1 entered not-kernel",
        "A2": "A2 1 home",
        "A3": "A3 2 home",
        "A4": "A4 3 home",
        "A5": "A5 4 home",
        "A6": "A6 5 home",
        "A7": "A7 6 home",
        "A8": "A8 exited True",
        "A9": "A9 after exit other",  # made in a cell without await: the sync loop
    }
    assert {key: cells[key].strip() for key in expected} == expected, lines_of(with_nb)

    # `await cm.__aenter__()`: home is the kernel loop.  Awaited calls and
    # worker threads work; a sync call in a cell raises at once, saying to
    # `await` (it never ran: the next echo reads its own line).
    cells = async_with_nb.cells
    assert async_with_nb.status == "ok", lines_of(async_with_nb)
    expected = {
        "B1": "B1 entered kernel",
        "B2": "B2 1 home",
        "B5": "B5 4 home",
        "B6": "B6 5 home",
        "B7": "B7 exited True",
        "B8": "B8 after exit not-kernel",
    }
    assert {key: cells[key].strip() for key in expected} == expected, lines_of(async_with_nb)
    for key in ("B3", "B4"):
        first, *rest = cells[key].splitlines()
        assert first == f"{key} RuntimeError fast", lines_of(async_with_nb)
        message = " ".join(rest)
        assert "await" in message and "echo" in message, lines_of(async_with_nb)

    # Never entered, opened with await, then called without: the sync call runs
    # on the sync loop against kernel-loop streams; the error explains itself.
    c6 = cells["C6"]
    if any(sign in c6 for sign in CROSS_LOOP_SIGNS):
        assert "note: smartasync" in c6, lines_of(async_with_nb)
