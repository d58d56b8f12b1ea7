"""Homes at birth (DESIGN §3 rule 3): an object whose class holds async
resources lives on the loop of the code that made it, and no home ever hangs.

What a user does first, without `with`: one client made at module level (or
in a plain function, a sync fixture, a notebook cell without `await`) used by
sync code and by async code on other loops, in either order; one made in an
`async def` used there.  And the hang cases of homes: a home loop nobody
runs (a pytest-asyncio session loop between tests), a call handed over to a
loop whose driver then left, `.aio()` under `asyncio.run`, `fork()`.

Real components only: httpx against a uvicorn server on 127.0.0.1, asyncio
streams over a socketpair; fresh interpreters for fork, exit and servers.
"""

from __future__ import annotations

import asyncio
import copy
import dataclasses
import inspect
import os
import pickle
import re
import socket
import subprocess
import textwrap
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Self

import httpx
import pytest

from smartasync import SmartAsync, _engine, get_mode, set_mode, smartasync
from smartasync._home import home_of
from smartasync._modes import SYNC_BORN, SYNC_LOOP

from .conftest import Server, free_port, run_python

DEADLINE = 20.0


class Client(SmartAsync, httpx.AsyncClient):
    """The user's first attempt: a smart subclass of a real async client."""


class Pipe(SmartAsync):
    """Asyncio streams over a socketpair, opened on first use: they belong to
    the loop that opened them."""

    def __init__(self) -> None:
        self.streams: tuple[Any, Any] | None = None
        self.opened_on: asyncio.AbstractEventLoop | None = None

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def echo(self, n: int) -> int:
        if self.streams is None:
            self.opened_on = asyncio.get_running_loop()
            left, right = socket.socketpair()
            _, writer = await asyncio.open_connection(sock=left)
            reader, _peer = await asyncio.open_connection(sock=right)
            self.streams = (writer, reader)
            self._peer = _peer
        writer, reader = self.streams
        writer.write(b"%d\n" % n)
        await writer.drain()
        return int(await reader.readline())

    async def close(self) -> None:
        if self.streams is not None:
            writer, _ = self.streams
            self.streams = None
            for stream in (writer, self._peer):
                stream.close()
                await stream.wait_closed()

    async def where(self) -> asyncio.AbstractEventLoop:
        return asyncio.get_running_loop()


class Repo(SmartAsync, loop_bound=True):
    """Not a context manager: a birth home only because the class says so."""

    async def where(self) -> asyncio.AbstractEventLoop:
        return asyncio.get_running_loop()


class Plain(SmartAsync):
    """No resources: no home, and the zero-cost paths."""

    async def where(self) -> asyncio.AbstractEventLoop:
        return asyncio.get_running_loop()


def make_pipe() -> Pipe:
    return Pipe()  # sync code: a birth home on the sync loop


# -- where an object lives -----------------------------------------------------------


def test_made_in_sync_code_lives_on_the_sync_loop() -> None:
    pipe = Pipe()
    assert home_of(pipe) is SYNC_BORN
    assert pipe.echo(1) == 1
    home = _engine.sync_loop()
    assert pipe.opened_on is home

    async def main() -> tuple[int, bool]:
        n = await pipe.echo(2)  # carried to the sync loop, where its streams live
        return n, await pipe.where() is asyncio.get_running_loop()

    for _ in range(3):  # each asyncio.run is a new loop
        assert asyncio.run(main()) == (2, False)
        assert pipe.echo(3) == 3
    assert pipe.where() is home
    pipe.close()


@pytest.mark.asyncio
async def test_made_in_async_code_lives_on_that_loop() -> None:
    loop = asyncio.get_running_loop()
    pipe = Pipe()
    home = home_of(pipe)
    assert home is not None and home.loop is loop and home.depth == 0
    assert await pipe.echo(1) == 1
    assert pipe.opened_on is loop
    # Worker threads are handed to this loop and wait (it is free meanwhile).
    assert await asyncio.to_thread(pipe.echo, 2) == 2
    assert await asyncio.to_thread(pipe.where) is loop
    await pipe.close()


@pytest.mark.asyncio
async def test_made_by_a_sync_helper_in_async_code_lives_on_the_sync_loop() -> None:
    pipe = make_pipe()
    assert home_of(pipe) is SYNC_BORN
    assert await pipe.echo(1) == 1  # carried to the sync loop
    assert pipe.opened_on is _engine.sync_loop()
    assert pipe.opened_on is not asyncio.get_running_loop()
    assert await pipe.echo(2) == 2
    await pipe.close()


def test_sync_then_async_then_sync_on_one_real_http_client(http_server: Server) -> None:
    client = Client(base_url=http_server.url)
    assert client.get("/echo").json()["path"] == "/echo"

    async def main() -> list[int]:
        responses = await asyncio.gather(*(client.get("/echo", params={"i": i}) for i in range(5)))
        return [int(r.json()["query"]["i"]) for r in responses]

    assert asyncio.run(main()) == [0, 1, 2, 3, 4]
    assert asyncio.run(main()) == [0, 1, 2, 3, 4]
    assert client.get("/echo").status_code == 200
    client.aclose()


def test_loop_bound_keyword_on_and_off() -> None:
    repo = Repo()
    assert home_of(repo) is SYNC_BORN
    assert repo.where() is _engine.sync_loop()
    assert home_of(Plain()) is None

    @smartasync(loop_bound=False)
    class Loose(SmartAsync):
        async def __aenter__(self) -> Self:
            return self

        async def __aexit__(self, *exc_info: object) -> None:
            return None

    assert home_of(Loose()) is None

    class Sub(Loose):  # the keyword is inherited
        pass

    assert home_of(Sub()) is None

    class Again(Loose, loop_bound=True):
        pass

    assert home_of(Again()) is SYNC_BORN

    with pytest.raises(TypeError, match="loop_bound must be True or False"):

        class Bad(SmartAsync, loop_bound="yes"):  # type: ignore[arg-type]
            pass

    with pytest.raises(TypeError, match="is for a class"):
        smartasync(loop_bound=True)(Pipe.echo)


def test_a_subclass_init_decides_once() -> None:
    made: list[str] = []

    class Base(SmartAsync, loop_bound=True):
        def __init__(self, x: int) -> None:
            made.append("base")
            self.x = x

    class Child(Base):
        def __init__(self) -> None:
            made.append("child")
            super().__init__(5)

    async def in_async() -> Child:
        return Child()

    child = asyncio.run(in_async())
    assert made == ["child", "base"] and child.x == 5
    home = home_of(child)
    assert home is not None and home.loop is not SYNC_LOOP  # the async caller decided
    import inspect

    assert list(inspect.signature(Base).parameters) == ["x"]


@pytest.mark.asyncio
async def test_set_mode_on_a_born_object_is_its_own() -> None:
    first: Any = make_pipe()  # (Any: the plugin does not read an instance's mode)
    second = make_pipe()
    set_mode(first, "sync")
    assert get_mode(first) == "sync" and get_mode(second) == "auto"
    assert home_of(second) is SYNC_BORN
    assert first.echo(4) == 4  # sync mode: the value, even here
    assert await second.echo(5) == 5
    first.close()
    await second.close()


# -- copies ----------------------------------------------------------------------------


def test_copies_of_a_homed_object_have_no_home() -> None:
    repo = Repo()
    set_mode(repo, "sync")
    with Pipe() as pipe:
        for twin in (copy.copy(pipe), copy.deepcopy(pipe), pickle.loads(pickle.dumps(pipe))):
            assert home_of(twin) is None and type(twin) is Pipe
        assert home_of(pipe) is not None
    for twin in (copy.copy(repo), copy.deepcopy(repo), pickle.loads(pickle.dumps(repo))):
        assert home_of(twin) is None
        assert get_mode(twin) == "sync"  # the instance's own mode is kept
    assert home_of(repo) is not None


@pytest.mark.asyncio
async def test_copies_of_an_object_born_here_have_no_home() -> None:
    repo = Repo()
    assert home_of(repo) is not None
    for twin in (copy.copy(repo), copy.deepcopy(repo), pickle.loads(pickle.dumps(repo))):
        assert home_of(twin) is None
        assert await twin.where() is asyncio.get_running_loop()


def test_a_class_that_cannot_be_pickled_still_says_so() -> None:
    client = Client()
    with pytest.raises((TypeError, pickle.PicklingError)):
        pickle.dumps(client)
    client.aclose()


# -- no home ever hangs ---------------------------------------------------------------


def idle_loop_with(factory: Any) -> tuple[asyncio.AbstractEventLoop, Any]:
    """An object made in an `async def` on a loop that then stays open and idle."""
    loop = asyncio.new_event_loop()

    async def make() -> Any:
        return factory()

    return loop, loop.run_until_complete(make())


def test_a_sync_call_on_an_idle_home_loop_is_served() -> None:
    loop, pipe = idle_loop_with(Pipe)
    try:
        assert pipe.echo(1) == 1
        assert pipe.opened_on is loop
        assert pipe.where() is loop
        pipe.close()
    finally:
        loop.close()


def test_a_call_handed_over_while_another_thread_drives_is_finished() -> None:
    """Thread A's sync call drives the idle home loop; B's call made meanwhile
    is handed over; A's call ends first: B's must still finish."""
    started = threading.Event()

    async def slow(self: Pipe) -> str:
        started.set()
        await asyncio.sleep(0.3)
        return "a"

    async def later(self: Pipe) -> str:
        await asyncio.sleep(0.6)  # still running when A's call has ended
        return "b"

    class Slow(Pipe):
        a = slow
        b = later

    loop, obj = idle_loop_with(Slow)
    try:
        with ThreadPoolExecutor(2) as pool:
            first = pool.submit(obj.a)
            assert started.wait(DEADLINE)
            second = pool.submit(obj.b)
            assert first.result(DEADLINE) == "a"
            assert second.result(DEADLINE) == "b"
        assert obj.a() == "a"
    finally:
        loop.close()


def test_an_idle_home_loop_awaited_from_another_loop_is_served() -> None:
    loop, pipe = idle_loop_with(Pipe)

    async def main() -> tuple[int, bool]:
        async with asyncio.timeout(DEADLINE):
            n = await pipe.echo(7)
            return n, await pipe.where() is loop

    try:
        assert asyncio.run(main()) == (7, True)
        assert asyncio.run(main()) == (7, True)
        assert pipe.opened_on is loop
        pipe.close()
    finally:
        loop.close()


@pytest.mark.asyncio
async def test_an_idle_home_loop_awaited_from_this_loop_is_served() -> None:
    loop, pipe = await asyncio.to_thread(idle_loop_with, Pipe)
    try:
        async with asyncio.timeout(DEADLINE):
            assert await pipe.echo(3) == 3
            assert await pipe.where() is loop
            assert list(await asyncio.gather(pipe.where(), pipe.where())) == [loop, loop]
            await pipe.close()
    finally:
        loop.close()


class Guarded(SmartAsync):
    def __init__(self) -> None:
        self.lock: asyncio.Lock | None = None
        self.held = threading.Event()
        self.release = threading.Event()

    async def __aenter__(self) -> Self:
        self.lock = asyncio.Lock()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        return None

    async def hold(self) -> None:
        assert self.lock is not None
        async with self.lock:
            self.held.set()
            while not self.release.is_set():
                await asyncio.sleep(0.01)

    async def take(self) -> asyncio.AbstractEventLoop:
        assert self.lock is not None
        async with self.lock:
            return asyncio.get_running_loop()


def test_aio_under_asyncio_run_runs_on_the_home_while_a_worker_holds_its_lock() -> None:
    with Guarded() as guarded:
        with ThreadPoolExecutor(1) as pool:
            holding = pool.submit(guarded.hold)
            assert guarded.held.wait(DEADLINE)
            threading.Timer(0.3, guarded.release.set).start()

            async def main() -> asyncio.AbstractEventLoop:
                async with asyncio.timeout(DEADLINE):
                    return await guarded.take.aio()

            ran_on = asyncio.run(main())
            holding.result(DEADLINE)
        assert ran_on is _engine.sync_loop()
        assert asyncio.run(guarded.take.aio()) is ran_on  # awaited directly by asyncio.run


@pytest.mark.asyncio
async def test_aio_of_an_object_born_here_is_awaitable_on_another_loop() -> None:
    loop = asyncio.get_running_loop()
    repo = Repo()

    def elsewhere() -> asyncio.AbstractEventLoop:
        return asyncio.run(repo.where.aio())

    assert await asyncio.to_thread(elsewhere) is loop


# -- wrong advice never -------------------------------------------------------------


@pytest.mark.asyncio
async def test_a_sync_helper_on_the_home_loop_is_told_to_await() -> None:
    pipe = Pipe()  # born here

    def helper() -> int:
        return pipe.echo(1)

    with pytest.raises(RuntimeError) as caught:
        helper()
    message = str(caught.value)
    assert "await obj.echo(...)" in message and ".aio(" in message
    assert "worker thread would not help" in message
    assert "asyncio.to_thread" not in message


def test_a_nested_sync_call_on_a_sync_born_object_is_told_to_await() -> None:
    pipe = Pipe()

    class Outer(SmartAsync):
        async def run(self) -> int:
            return helper()

    def helper() -> int:
        return pipe.echo(1)  # sync code running on the sync loop: its home

    with pytest.raises(RuntimeError, match=r"await obj\.echo"):
        Outer().run()
    assert pipe.echo(2) == 2  # the object is fine
    pipe.close()


# -- in fresh interpreters -------------------------------------------------------------

SCRIPT = """
import asyncio, sys
import httpx
from smartasync import SmartAsync

class Client(SmartAsync, httpx.AsyncClient):
    pass

client = Client(base_url=sys.argv[1])   # module level, never entered

async def round(i):
    r = await client.get("/echo", params={"i": i})
    rs = await asyncio.gather(*(client.get("/echo") for _ in range(3)))
    return int(r.json()["query"]["i"]) + len(rs)

order = sys.argv[2]
results = []
for i in range(3):
    if order == "sync-first":
        results.append(client.get("/echo").status_code)
        results.append(asyncio.run(round(i)))
    else:
        results.append(asyncio.run(round(i)))
        results.append(client.get("/echo").status_code)
client.aclose()
print("RESULTS", results)
"""


@pytest.mark.timeout(90)
@pytest.mark.parametrize("order", ["sync-first", "async-first"])
def test_a_script_mixes_bare_calls_and_asyncio_run_rounds(http_server: Server, order: str) -> None:
    result = run_python(
        SCRIPT, http_server.url, order, timeout=60, flags=("-X", "dev", "-W", "error")
    )
    assert result.returncode == 0, result.stderr
    expected = [200, 3, 200, 4, 200, 5] if order == "sync-first" else [3, 200, 4, 200, 5, 200]
    assert f"RESULTS {expected}" in result.stdout, result.stdout + result.stderr
    assert quiet(result.stderr) == "", result.stderr


@pytest.mark.asyncio
@pytest.mark.timeout(90)
async def test_a_script_from_async_code_mixes_orders(http_server: Server) -> None:
    result = await asyncio.to_thread(
        run_python, SCRIPT, http_server.url, "async-first", timeout=60, flags=("-X", "dev")
    )
    assert result.returncode == 0, result.stderr
    assert quiet(result.stderr) == "", result.stderr


DEAD_BIRTH_LOOP = """
import asyncio
from tests.test_birth_homes import Pipe

async def make():
    pipe = Pipe()          # born on this asyncio.run loop
    assert await pipe.echo(1) == 1
    return pipe

pipe = asyncio.run(make())   # its loop, and the streams on it, are gone
try:
    pipe.echo(2)
except Exception as exc:
    notes = getattr(exc, "__notes__", [])
    print("NOTE" if any("made in async code" in n and "make" in n for n in notes) else "NONOTE")
    print(type(exc).__name__, exc, notes)
else:
    print("NOERROR")
print("WHERE", pipe.where() is __import__("smartasync")._engine.sync_loop())
"""


@pytest.mark.timeout(60)
def test_a_dead_birth_loop_moves_to_the_sync_loop_and_errors_say_where_it_was_made() -> None:
    result = run_python(DEAD_BIRTH_LOOP, timeout=30)
    assert result.returncode == 0, result.stderr
    assert "NOTE" in result.stdout.split(), result.stdout
    assert "WHERE True" in result.stdout, result.stdout


FORK = """
import asyncio, os, sys
from tests.test_birth_homes import Pipe, Repo

born = Repo()
with Pipe() as pipe:
    assert pipe.echo(1) == 1
    for round in range(3):
        pid = os.fork()
        if pid == 0:
            try:
                # The child: the parent's loops are not touched; its own sync loop serves.
                assert pipe.where() is not None
                assert born.where() is pipe.where()
                async def main():
                    return await born.where()
                assert asyncio.run(main()) is born.where()
                os._exit(0)
            except BaseException as exc:
                print("CHILD", type(exc).__name__, exc, flush=True)
                os._exit(1)
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0, status
        assert pipe.echo(round + 2) == round + 2   # the parent goes on
print("OK")
"""


@pytest.mark.timeout(90)
@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_fork_inside_with_keeps_parent_and_child_working() -> None:
    result = run_python(FORK, timeout=60, flags=("-W", "ignore::DeprecationWarning"))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "OK" in result.stdout, result.stdout + result.stderr


# -- a real web app: uvicorn + Starlette, module-level client, no lifespan ---------------

APP = """
import asyncio, sys, threading, time
from concurrent.futures import ThreadPoolExecutor
import httpx, uvicorn
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route
from smartasync import SmartAsync

class Client(SmartAsync, httpx.AsyncClient):
    pass

backend_url, port, order = sys.argv[1], int(sys.argv[2]), sys.argv[3]
client = Client(base_url=backend_url)      # module level, never entered

def sync_endpoint(request):                 # Starlette runs it in its thread pool
    return JSONResponse({"kind": "def", "path": client.get("/echo").json()["path"]})

async def async_endpoint(request):          # on uvicorn's loop
    r = await client.get("/echo")
    return JSONResponse({"kind": "async", "path": r.json()["path"]})

app = Starlette(routes=[Route("/s", sync_endpoint), Route("/a", async_endpoint)])
server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error"))
thread = threading.Thread(target=server.run, daemon=True)
thread.start()
deadline = time.monotonic() + 15
while not server.started:
    assert time.monotonic() < deadline and thread.is_alive()
    time.sleep(0.02)

base = f"http://127.0.0.1:{port}"
first = ["/s", "/a"] if order == "def-first" else ["/a", "/s"]
codes = [httpx.get(base + path, timeout=20).status_code for path in first]
with ThreadPoolExecutor(8) as pool:
    codes += list(pool.map(lambda i: httpx.get(base + ("/s", "/a")[i % 2], timeout=20).status_code,
                           range(60)))
print("CODES", sorted(set(codes)), len(codes))
server.should_exit = True
thread.join(15)
client.aclose()
print("OK")
"""


@pytest.mark.timeout(120)
@pytest.mark.parametrize("order", ["def-first", "async-first"])
def test_starlette_module_level_client_serves_def_and_async_endpoints(
    http_server: Server, order: str
) -> None:
    result = run_python(
        APP,
        http_server.url,
        str(free_port()),
        order,
        timeout=90,
        flags=("-X", "dev", "-W", "error::ResourceWarning"),
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "CODES [200] 62" in result.stdout, result.stdout + result.stderr
    assert quiet(result.stderr) == "", result.stderr


def quiet(stderr: str) -> str:
    """`stderr` without asyncio debug mode's slow-callback lines ("Executing
    <Task ...> took 0.108 seconds"): a first request imports and sets up
    things on a shared, noisy machine; timing, not a fault."""
    return "".join(
        line
        for line in stderr.splitlines(keepends=True)
        if not re.fullmatch(r"Executing <.*> took [\d.]+ seconds\n?", line)
    )


# -- pytest-asyncio: a session-scoped async fixture, function-scoped test loops ----------

SESSION_CONFTEST = """
import asyncio
import pytest_asyncio
from tests.test_birth_homes import Pipe

@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def pipe():
    async with Pipe() as p:        # entered (and made) on the session loop
        yield p
"""

SESSION_TESTS = """
import asyncio
import pytest

@pytest.mark.asyncio
async def test_first(pipe):
    async with asyncio.timeout(20):
        assert await pipe.echo(1) == 1

def test_sync_between(pipe):
    assert pipe.echo(2) == 2

@pytest.mark.asyncio
async def test_second(pipe):
    async with asyncio.timeout(20):
        assert await pipe.echo(3) == 3
        assert len(set(await asyncio.gather(pipe.where(), pipe.where()))) == 1

@pytest.mark.asyncio
async def test_worker_thread(pipe):
    async with asyncio.timeout(20):
        assert await asyncio.to_thread(pipe.echo, 4) == 4
"""


def run_session_project(tmp_path: Path) -> subprocess.CompletedProcess[str]:
    project = tmp_path / "project"
    project.mkdir()
    (project / "pytest.ini").write_text(
        textwrap.dedent(
            """
            [pytest]
            asyncio_mode = strict
            asyncio_default_fixture_loop_scope = session
            filterwarnings = error
            """
        )
    )
    (project / "conftest.py").write_text(textwrap.dedent(SESSION_CONFTEST))
    (project / "test_session.py").write_text(textwrap.dedent(SESSION_TESTS))
    # The project's runner of a pytest project in a subprocess (with
    # ResourceWarnings as errors, a per-test timeout, this checkout first).
    from .test_home_tools import child_env, pytest_command

    return subprocess.run(
        pytest_command(project, "test_session.py"),
        capture_output=True,
        text=True,
        timeout=120,
        cwd=project,
        env=child_env(),
    )


@pytest.mark.timeout(180)
def test_pytest_session_async_fixture_with_function_loops(tmp_path: Path) -> None:
    from .test_home_tools import check_pytest_run

    result = run_session_project(tmp_path)
    # Exactly 4 passed; no cross-loop error, "Exception ignored", "never
    # awaited" or traceback anywhere in the output.
    check_pytest_run(result.returncode, result.stdout, result.stderr, 4)


@pytest.mark.asyncio
@pytest.mark.timeout(180)
async def test_pytest_session_async_fixture_from_an_async_test(tmp_path: Path) -> None:
    result = await asyncio.to_thread(run_session_project, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "4 passed" in result.stdout, result.stdout


# -- uvloop as the loop factory: a clean exit -------------------------------------------

UVLOOP_EXIT = """
import asyncio, sys
import uvloop
import smartasync
from tests.test_birth_homes import Pipe

smartasync.set_loop_factory(uvloop.new_event_loop)
pipe = Pipe()                        # lives on the sync loop, a uvloop loop

class Tool(smartasync.SmartAsync):
    async def offload(self):
        return await asyncio.to_thread(lambda: 7)   # the loop's default executor

assert Tool().offload() == 7
assert pipe.echo(1) == 1

async def main():
    return await pipe.echo(2) + await Tool().offload()

assert asyncio.run(main()) == 9
pipe.close()
print("OK", type(smartasync._engine.sync_loop()).__module__)
"""


@pytest.mark.timeout(60)
def test_uvloop_sync_loop_exits_clean() -> None:
    pytest.importorskip("uvloop")
    result = run_python(UVLOOP_EXIT, timeout=30, flags=("-W", "error::ResourceWarning"))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "OK uvloop" in result.stdout, result.stdout
    assert result.stderr == "", result.stderr


@pytest.mark.asyncio
@pytest.mark.timeout(60)
async def test_uvloop_sync_loop_exits_clean_from_an_async_test() -> None:
    pytest.importorskip("uvloop")
    result = await asyncio.to_thread(run_python, UVLOOP_EXIT, timeout=30)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stderr == "", result.stderr


# -- iterators dropped where they cannot be closed --------------------------------------


class Feed(SmartAsync):
    def __init__(self) -> None:
        self.closed = threading.Event()

    async def items(self) -> Any:
        try:
            for i in range(5):
                await asyncio.sleep(0)
                yield i
        finally:
            await asyncio.sleep(0)
            self.closed.set()


def first_item(feed: Feed) -> int:
    for item in feed.items():  # a sync helper: the sync face, a plain iterator
        return int(item)
    raise AssertionError("empty")


@pytest.mark.asyncio
async def test_an_iterator_dropped_inside_a_running_loop_is_closed_promptly() -> None:
    feed = Feed()
    assert first_item(feed) == 0  # dropped here, in this loop's thread
    # Closed by the engine at once, not at the next sync call or at exit.
    assert await asyncio.to_thread(feed.closed.wait, DEADLINE)


def test_an_iterator_dropped_in_another_thread_is_closed_promptly() -> None:
    feed = Feed()
    iterator = feed.items()
    assert next(iterator) == 0
    box: list[Any] = [iterator]
    del iterator
    thread = threading.Thread(target=box.clear)  # the last reference goes there
    thread.start()
    thread.join()
    assert feed.closed.wait(DEADLINE)


ITER_CHILD = """
import asyncio, gc, sys
from tests.test_birth_homes import Feed, first_item

feed = Feed()
async def main():
    assert first_item(feed) == 0
    await asyncio.sleep(0.2)

asyncio.run(main())
assert feed.closed.is_set(), "the generator's finally did not run"

# A started iterator freed by the garbage collector from a reference cycle: closed once.
gc.disable()
for _ in range(20):
    other = Feed()
    iterator = other.items()
    next(iterator)
    cycle = [iterator]
    cycle.append(cycle)
    del iterator, cycle
    gc.collect()
    assert other.closed.wait(5), "not closed"
print("OK")
"""


@pytest.mark.timeout(60)
@pytest.mark.parametrize("flags", [(), ("-X", "dev")])
def test_dropped_iterators_close_once_and_print_nothing(flags: tuple[str, ...]) -> None:
    result = run_python(ITER_CHILD, timeout=30, flags=(*flags, "-W", "error::ResourceWarning"))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "OK" in result.stdout
    assert quiet(result.stderr) == "", result.stderr


# -- a real notebook: nbclient + ipykernel, no `with` anywhere ---------------------------

NB_BIRTH = [
    ("setup", "from tests.test_home_tools import *  # noqa\n" + "exec(NB_SETUP_SOURCE)"),
    # Made in a cell without `await`: it lives on the sync loop.
    (
        "D1",
        "c = Pipe()\nc.open()\nprint('D1 opened', 'kernel' if c.opened_on is kernel_loop else 'sync')",
    ),
    ("D2", "show('D2', c.echo(1), c.opened_on)"),
    ("D3", "show('D3', await c.echo(2), c.opened_on)"),
    ("D4", "print('D4', len({id(x) for x in await asyncio.gather(c.where(), c.where())}))"),
    ("D5", "show('D5', c.echo(4), c.opened_on)"),
    ("D6", "show('D6', await c.echo.aio(5), c.opened_on)"),
    # Made in a cell with `await`: it lives on the kernel's loop.
    # Made in a statement with `await`: it lives on the kernel's loop.  (IPython
    # runs each statement of a cell on its own: a statement without `await`
    # is sync code, even in a cell that awaits elsewhere; D1 shows it.)
    (
        "E1",
        "k = await Pipe().open()\nprint('E1 opened', 'kernel' if k.opened_on is kernel_loop else 'sync')",
    ),
    ("E2", "show('E2', await k.echo(1), kernel_loop)"),
    ("E3", "attempt('E3', lambda: k.echo(2))"),
    ("E4", "show('E4', await asyncio.to_thread(k.echo, 3), kernel_loop)"),
    ("E5", "await k.close()\nc.close()\nprint('E5 closed')"),
]


@pytest.mark.timeout(240)
def test_jupyter_cells_with_and_without_await_on_one_client_never_entered(tmp_path: Path) -> None:
    from . import test_home_tools as tools

    for name in ("nbclient", "nbformat", "ipykernel"):
        pytest.importorskip(name)
    cells = [
        ("setup", tools.NB_SETUP.replace('print("setup ok")', "") + "\nprint('setup ok')"),
        *NB_BIRTH[1:],
    ]
    (notebook,) = tools.run_notebooks(tmp_path, cells)
    text = tools.lines_of(notebook)
    assert notebook.status == "ok", text
    got = {key: value.strip() for key, value in notebook.cells.items()}
    expected = {
        "setup": "setup ok",
        "D1": "D1 opened sync",
        "D2": "D2 1 home",
        "D3": "D3 2 home",
        "D4": "D4 1",
        "D5": "D5 4 home",
        "D6": "D6 5 home",
        "E1": "E1 opened kernel",
        "E2": "E2 1 home",
        "E4": "E4 3 home",
        "E5": "E5 closed",
    }
    assert {key: got[key] for key in expected} == expected, text
    first, *rest = got["E3"].splitlines()
    assert first == "E3 RuntimeError fast", text
    assert "await" in " ".join(rest), text


# -- awaits carried to another loop: the hang warning and the cross-loop note ----------


class Slowpoke(SmartAsync, loop_bound=True):
    async def nap(self, seconds: float) -> str:
        await asyncio.sleep(seconds)
        return "awake"


HANG_CHILD = """
import asyncio, sys, warnings
import smartasync
from tests.test_birth_homes import Slowpoke, idle_loop_with

smartasync.set_hang_warning(0.2)
where = sys.argv[1]
if where == "sync":
    slow = Slowpoke()                      # lives on the sync loop
else:
    loop, slow = idle_loop_with(Slowpoke)  # lives on an idle loop of its own

async def main():
    return await slow.nap(0.6)

with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    assert asyncio.run(main()) == "awake"
    assert asyncio.run(main()) == "awake"
messages = [str(w.message) for w in caught if w.category is RuntimeWarning]
print("WARNED", len(messages), all("Slowpoke.nap() has waited 0.2 s" in m for m in messages))
print("LINES", sorted({w.lineno for w in caught}))
"""


@pytest.mark.timeout(60)
@pytest.mark.parametrize("where", ["sync", "idle"])
def test_a_carried_await_that_takes_too_long_warns_once(where: str) -> None:
    result = run_python(HANG_CHILD, where, timeout=30)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "WARNED 2 True" in result.stdout, result.stdout + result.stderr
    # At the user's await (`return await slow.nap(0.6)`, line 14 of the script).
    assert "LINES [14]" in result.stdout, result.stdout + result.stderr


@pytest.mark.asyncio
async def test_a_carried_await_that_fails_across_loops_is_explained() -> None:
    pipe = await asyncio.to_thread(make_pipe)  # lives on the sync loop
    other = asyncio.new_event_loop()
    try:
        # Its streams opened on a third loop, behind smartasync's back.
        opened = await asyncio.to_thread(other.run_until_complete, Pipe.echo.__wrapped__(pipe, 1))
        assert opened == 1
        with pytest.raises(RuntimeError) as caught:
            await pipe.echo(2)  # carried to the sync loop, where those streams do not work
        notes = getattr(caught.value, "__notes__", [])
        assert any(note.startswith("smartasync: Pipe.echo() was awaited") for note in notes), notes
    finally:  # closed where they were opened
        await asyncio.to_thread(other.run_until_complete, Pipe.close.__wrapped__(pipe))
        other.close()


# -- edges found in review: factories, closed homes, nested calls, finalisers -----------


@smartasync
async def make_repo() -> Repo:
    return Repo()  # made in a coroutine that the sync loop runs


def test_an_async_factory_called_from_sync_code_makes_a_sync_born_object() -> None:
    repo = make_repo()
    assert home_of(repo) is SYNC_BORN  # the sync loop, recorded as such: not a "foreign" loop
    errors: list[BaseException] = []

    def hammer(call: Any) -> None:
        try:
            for _ in range(200):
                call()
        except BaseException as exc:
            errors.append(exc)

    threads = [
        threading.Thread(target=hammer, args=(repo.where,)),
        threading.Thread(target=hammer, args=(lambda: make_pipe().where(),)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(DEADLINE)
    assert not errors and not any(thread.is_alive() for thread in threads)


CLOSED_UNDER_A_CALL = """
import asyncio, threading, time
from tests.test_birth_homes import Slowpoke

loop = asyncio.new_event_loop()
async def make():
    return Slowpoke()
slow = loop.run_until_complete(make())          # lives on `loop`
result = []
def caller():
    try:
        result.append(slow.nap(0.05))
    except BaseException as exc:
        result.append(exc)
async def owner_work():
    threading.Thread(target=caller, daemon=True).start()
    time.sleep(0.3)   # the owner is busy: the call is handed over, then the loop closes
loop.run_until_complete(owner_work())
loop.close()
deadline = time.monotonic() + 10
while not result and time.monotonic() < deadline:
    time.sleep(0.05)
print("GOT", type(result[0]).__name__ if result else "NOTHING", result)
"""


@pytest.mark.timeout(60)
def test_a_call_handed_to_a_home_loop_that_then_closes_fails_instead_of_hanging() -> None:
    result = run_python(CLOSED_UNDER_A_CALL, timeout=30)
    assert result.returncode == 0, result.stderr
    assert "GOT RuntimeError" in result.stdout and "closed" in result.stdout, result.stdout
    assert result.stderr == "", result.stderr


@smartasync
async def where_is(repo: Repo) -> asyncio.AbstractEventLoop:
    return await repo.where()


@smartasync
async def through_a_nested_call(repo: Repo) -> asyncio.AbstractEventLoop:
    def helper() -> asyncio.AbstractEventLoop:
        return where_is(repo)  # a nested blocking call: runs on a secondary loop

    return helper()


def test_a_nested_call_awaiting_a_sync_born_object_runs_in_place() -> None:
    repo = Repo()  # lives on the sync loop
    # Carried to the sync loop, which waits for this very call, it would hang;
    # it runs in place, on the secondary loop (rule 4).
    ran_on = through_a_nested_call(repo)
    assert ran_on is not _engine.sync_loop()
    assert repo.where() is _engine.sync_loop()


DROPPED_UNDER_THE_ENGINE_LOCK = """
import faulthandler, threading, time
faulthandler.dump_traceback_later(10, exit=True)
from smartasync import _engine
from tests.test_birth_homes import Feed, Slowpoke

feed = Feed()
it = feed.items()
next(it)                       # started
# Another thread drives the sync loop meanwhile: a sync call here would be
# handed over, under the engine's lock.
busy = threading.Thread(target=lambda: Slowpoke().nap(1.0))
busy.start()
time.sleep(0.3)
# What the garbage collector does when it frees `it` at an allocation inside
# the engine's locked code, in this thread: engine code (compiled under the
# engine's file name) holding the engine's lock drops the last reference.
scope = {"lock": _engine._lock}
exec(compile("def drop(box):\\n    with lock:\\n        box.clear()\\n", _engine.__file__, "exec"), scope)
box = [it]
del it
scope["drop"](box)
assert feed.closed.wait(5)
busy.join()
print("OK")
"""


@pytest.mark.timeout(60)
def test_an_iterator_freed_inside_the_engines_locked_code_does_not_deadlock() -> None:
    result = run_python(DROPPED_UNDER_THE_ENGINE_LOCK, timeout=30)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "OK" in result.stdout


@pytest.mark.asyncio
async def test_objects_made_by_one_line_share_a_home_but_not_their_modes() -> None:
    loop = asyncio.get_running_loop()
    pipes = [Pipe() for _ in range(3)]  # made by one line: one shared birth home
    assert home_of(pipes[0]) is home_of(pipes[1]) is home_of(pipes[2])
    first: Any = pipes[0]  # (Any: the plugin does not read an instance's mode)
    set_mode(first, "sync")
    async with pipes[1]:
        set_mode(pipes[1], "async")  # under a `with`: kept for after it, in force now
    assert [get_mode(pipe) for pipe in pipes] == ["sync", "async", "auto"]
    assert await pipes[2].where() is loop  # untouched: auto, at home
    assert await pipes[1].where() is loop
    with pytest.raises(RuntimeError, match="await"):
        first.where()  # sync mode, on its home loop's own thread: cannot wait for itself
    assert await asyncio.to_thread(first.where) is loop  # from a worker: handed over


def test_objects_made_in_sync_code_share_one_home_but_not_their_modes() -> None:
    first: Any = Repo()  # (Any: the plugin does not read an instance's mode)
    second = Repo()
    assert home_of(first) is home_of(second) is SYNC_BORN
    set_mode(first, "async")
    assert get_mode(second) == "auto" and home_of(second) is SYNC_BORN
    assert second.where() is _engine.sync_loop()
    assert asyncio.run(first.where()) is _engine.sync_loop()  # async mode: the awaitable


# -- classes: dataclasses, signatures -------------------------------------------------


@dataclasses.dataclass
class Settings(SmartAsync, loop_bound=True):
    """A dataclass whose `__init__` the decorator writes after the class is smart."""

    name: str
    retries: int = 3

    async def describe(self) -> str:
        await asyncio.sleep(0)
        return f"{self.name}/{self.retries}"


def test_a_loop_bound_dataclass_keeps_its_fields_and_gets_a_birth_home() -> None:
    settings = Settings("api", retries=5)
    assert (settings.name, settings.retries) == ("api", 5)
    assert home_of(settings) is SYNC_BORN
    assert settings.describe() == "api/5"
    assert str(inspect.signature(Settings)) == "(name: 'str', retries: 'int' = 3) -> None"
    assert str(inspect.signature(Repo)) == "()"  # no __init__ anywhere: none, as for a plain class
    assert "base_url" in inspect.signature(Client).parameters  # httpx's, inherited


@pytest.mark.asyncio
async def test_a_loop_bound_dataclass_made_in_async_code_lives_on_that_loop() -> None:
    settings = Settings("db")
    home = home_of(settings)
    assert home is not None and home.loop is asyncio.get_running_loop()
    assert await settings.describe() == "db/3"
    copied = copy.deepcopy(settings)
    assert home_of(copied) is None and copied == settings
