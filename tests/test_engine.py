"""The engine (DESIGN.md section 3): one sync loop per process shared by every
thread, nested blocking calls, the hang warning, fork, exit, recovery,
sniffio, contextvars across threads, asyncio.run alongside, and cross-loop
errors explained.

Scenarios that fork, exit the interpreter or may block forever run in a fresh
interpreter with a timeout (and a faulthandler watchdog inside, so that a hang
prints every thread's stack instead of just failing).
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import multiprocessing
import os
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
import sniffio
import trio

from smartasync import SmartAsync, set_hang_warning

from .conftest import ROOT, Completed, Server, run_python

CLEAN_FLAGS = ("-X", "dev", "-W", "error::ResourceWarning")
WAIT = 10.0  # upper bound for every in-process wait on another thread

# Prepended to every fresh-interpreter script: a hang dumps all stacks and exits
# before run_python's own timeout; fork() with threads alive warns on 3.12+; and
# asyncio debug mode's "Executing <Task ...> took 0.113 seconds" (a lazy import
# inside a coroutine on a loaded machine) is not the noise the tests look for.
PRELUDE = """
import faulthandler, logging, warnings
faulthandler.dump_traceback_later({watchdog}, exit=True)
warnings.filterwarnings("ignore", category=DeprecationWarning, message=r".*fork")
logging.getLogger("asyncio").addFilter(
    lambda record: not record.getMessage().startswith("Executing ")
)
"""


def run_fresh(
    code: str,
    *args: str,
    timeout: float = 30,
    flags: tuple[str, ...] = (),
    env: dict[str, str] | None = None,
) -> Completed:
    """run_python with a watchdog inside the child, and a timeout turned into
    a test failure that shows what the child printed."""
    script = PRELUDE.format(watchdog=max(timeout - 5, 1)) + code
    try:
        return run_python(script, *args, timeout=timeout, flags=flags, env=env)
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"the fresh interpreter hung: stdout={exc.stdout!r} stderr={exc.stderr!r}")


def assert_ok(result: Completed, marker: str) -> None:
    assert result.returncode == 0, f"exit {result.returncode}\n{result.stdout}\n{result.stderr}"
    assert marker in result.stdout, result.stdout + result.stderr


# -- shared objects -----------------------------------------------------------------------

var: contextvars.ContextVar[str] = contextvars.ContextVar("engine_var", default="unset")


@dataclass
class Step:
    """Where one level of a nested call ran."""

    depth: int
    thread: int
    loop: int


class Nest(SmartAsync):
    async def level(self, depth: int) -> list[Step]:
        await asyncio.sleep(0)
        here = Step(depth, threading.get_ident(), id(asyncio.get_running_loop()))
        if depth == 1:
            return [here]
        return [here, *descend(self, depth - 1)]


def descend(nest: Nest, depth: int) -> list[Step]:
    """A plain def helper making a bare sync call (from inside a coroutine)."""
    return nest.level(depth)


@dataclass
class Seen:
    """What a coroutine running on the sync loop observed."""

    loop: asyncio.AbstractEventLoop
    thread: threading.Thread
    before: str


class Res(SmartAsync):
    def __init__(self) -> None:
        self.event: asyncio.Event | None = None
        self.saved_loop: asyncio.AbstractEventLoop | None = None
        self.raised: BaseException | None = None
        self.held_on: Seen | None = None

    async def value(self, x: int) -> int:
        await asyncio.sleep(0)
        return x

    async def swap(self, new: str) -> Seen:
        """Read the context variable, set it, and say where this ran."""
        seen = Seen(asyncio.get_running_loop(), threading.current_thread(), var.get())
        await asyncio.sleep(0)
        var.set(new)
        return seen

    async def hold(self, started: threading.Event, release: threading.Event) -> None:
        """Occupy the sync loop (without blocking it) until `release` is set."""
        self.held_on = Seen(asyncio.get_running_loop(), threading.current_thread(), var.get())
        started.set()
        deadline = time.monotonic() + WAIT
        while not release.is_set():
            if time.monotonic() > deadline:
                raise TimeoutError("hold() was never released")
            await asyncio.sleep(0.002)

    async def stop_mid_call(self, x: int) -> int:
        asyncio.get_running_loop().stop()
        await asyncio.sleep(0.01)
        await asyncio.sleep(0)
        return x * 2

    async def wait(self) -> bool:
        assert self.event is not None
        try:
            return await self.event.wait()
        except RuntimeError as exc:
            self.raised = exc
            raise

    async def poke_saved_loop(self) -> None:
        assert self.saved_loop is not None
        try:
            self.saved_loop.call_soon(print)
        except RuntimeError as exc:
            self.raised = exc
            raise

    async def fail_plainly(self) -> None:
        await asyncio.sleep(0)
        raise RuntimeError("an ordinary failure")


@dataclass
class Held:
    """The sync loop occupied by a call from another thread."""

    res: Res
    thread: threading.Thread
    errors: list[BaseException] = field(default_factory=list)

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        assert self.res.held_on is not None
        return self.res.held_on.loop


@contextlib.contextmanager
def loop_held_by_another_thread() -> Iterator[Held]:
    """A thread is mid-sync-call for the whole block: its coroutine keeps the
    sync loop busy (awaiting, not blocking) until the block ends."""
    res = Res()
    started, release = threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def holder() -> None:
        try:
            res.hold(started, release)
        except BaseException as exc:
            errors.append(exc)
            started.set()

    thread = threading.Thread(target=holder, name="holder")
    thread.start()
    try:
        assert started.wait(WAIT), "the holder's call never started"
        assert not errors, errors
        yield Held(res, thread, errors)
    finally:
        release.set()
        thread.join(WAIT)
    assert not thread.is_alive(), "the holder's call did not finish"
    assert not errors, errors


def in_thread(fn: Callable[[], object], name: str = "worker") -> object:
    """Run `fn` in a new thread and return its result (or raise its exception)."""
    out: list[object] = []
    errors: list[BaseException] = []

    def target() -> None:
        try:
            out.append(fn())
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=target, name=name)
    thread.start()
    thread.join(WAIT)
    assert not thread.is_alive(), f"{name} did not finish"
    if errors:
        raise errors[0]
    return out[0]


# -- 1. nested blocking calls never fail (rule 4) ------------------------------------------


def assert_nested(steps: list[Step], caller_thread: int) -> None:
    assert [step.depth for step in steps] == [3, 2, 1]
    # Each level blocks its thread (and the loop that thread runs) while the
    # next one runs, so every level runs on its own thread and loop.
    assert len({step.thread for step in steps} | {caller_thread}) >= 3
    assert len({step.loop for step in steps}) == 3


def test_nested_blocking_calls_from_plain_sync_code() -> None:
    nest = Nest()
    assert_nested(nest.level(3), threading.get_ident())
    assert nest.level(1)[0].depth == 1  # and the engine is fine afterwards


def test_nested_blocking_calls_from_a_sync_helper_inside_asyncio_run() -> None:
    nest = Nest()

    async def main() -> list[Step]:
        return descend(nest, 3)

    assert_nested(asyncio.run(main()), threading.get_ident())
    assert_nested(asyncio.run(main()), threading.get_ident())


@pytest.mark.asyncio
async def test_nested_blocking_calls_from_a_sync_helper_inside_an_async_test() -> None:
    nest = Nest()
    assert_nested(descend(nest, 3), threading.get_ident())
    assert [step.depth for step in await nest.level(2)] == [2, 1]


def test_nested_blocking_calls_from_a_worker_thread() -> None:
    nest = Nest()
    steps = in_thread(lambda: nest.level(3))
    assert isinstance(steps, list)
    assert [step.depth for step in steps] == [3, 2, 1]


# -- 2. never a silent hang (rule 5) -------------------------------------------------------

HANG_CHILD = """
import asyncio, time, warnings
from smartasync import SmartAsync, set_hang_warning

warnings.simplefilter("always")
set_hang_warning(0.2)
_show = warnings.showwarning
start = 0.0

def show(message, category, filename, lineno, file=None, line=None):
    print(f"warned after {time.monotonic() - start:.2f} {category.__name__}", flush=True)
    _show(message, category, filename, lineno, file, line)

warnings.showwarning = show

class Res(SmartAsync):
    async def use(self, lock):
        # The lock is held by a task of the loop this call keeps blocked: it
        # can never be released while the call waits.  wait_for ends the call.
        await asyncio.wait_for(lock.acquire(), 1.5)

def helper(res, lock):
    global start
    start = time.monotonic()
    try:
        res.use(lock)
    except TimeoutError:
        print(f"call ended after {time.monotonic() - start:.2f}", flush=True)

async def main():
    lock = asyncio.Lock()
    held, release = asyncio.Event(), asyncio.Event()

    async def holder():
        async with lock:
            held.set()
            await release.wait()

    task = asyncio.create_task(holder())
    await held.wait()
    helper(Res(), lock)
    release.set()
    await task
    print("done", flush=True)

asyncio.run(main())
"""


def test_a_call_that_keeps_a_running_loop_blocked_warns_once_naming_it() -> None:
    result = run_fresh(HANG_CHILD, timeout=30)
    assert_ok(result, "done")
    warned = [line.split() for line in result.stdout.splitlines() if line.startswith("warned")]
    assert len(warned) == 1, result.stdout + result.stderr  # once, not once per interval
    assert warned[0][3] == "RuntimeWarning"
    assert 0.15 <= float(warned[0][2]) <= 1.0, warned  # soon after the 0.2 s threshold
    assert "call ended after" in result.stdout  # the TimeoutError came out of the call
    assert "Traceback" not in result.stderr, result.stderr
    assert "Res.use" in result.stderr  # the call,
    assert "MainThread" in result.stderr  # the blocked thread,
    assert "await" in result.stderr  # and the fix


NO_HANG_WARNING_CHILD = """
import asyncio, time, warnings
from smartasync import SmartAsync, set_hang_warning

warnings.simplefilter("always")
_show = warnings.showwarning

def show(message, category, filename, lineno, file=None, line=None):
    print(f"WARNED {category.__name__}: {message}", flush=True)
    _show(message, category, filename, lineno, file, line)

warnings.showwarning = show

class Res(SmartAsync):
    async def nap(self, seconds):
        await asyncio.sleep(seconds)
        return seconds

def helper(res, seconds):
    return res.nap(seconds)

async def main(phase, seconds):
    print("phase", phase, flush=True)
    assert helper(Res(), seconds) == seconds

res = Res()
asyncio.run(main("default", 0.6))        # the default threshold is far above this
set_hang_warning(0.5)
asyncio.run(main("quick", 0.05))         # finished before the threshold
set_hang_warning(0.2)
print("phase no-loop", flush=True)
assert res.nap(0.5) == 0.5               # no running loop was blocked
set_hang_warning(None)
asyncio.run(main("disabled", 0.6))
set_hang_warning(0.2)
asyncio.run(main("control", 0.6))        # the same call does warn when enabled
print("done", flush=True)
"""


def test_no_hang_warning_below_the_threshold_without_a_loop_or_when_disabled() -> None:
    result = run_fresh(NO_HANG_WARNING_CHILD, timeout=30)
    assert_ok(result, "done")
    before_control, _, control = result.stdout.partition("phase control")
    assert "WARNED" not in before_control, result.stdout
    assert control.count("WARNED RuntimeWarning") == 1, result.stdout


@pytest.fixture
def default_hang_warning() -> Iterator[None]:
    yield
    set_hang_warning(10.0)


@pytest.mark.usefixtures("default_hang_warning")
@pytest.mark.parametrize(
    ("value", "error"),
    [(-1.0, ValueError), (-0.001, ValueError), ("1", TypeError), ([1], TypeError)],
)
def test_set_hang_warning_rejects_invalid_values(value: Any, error: type[Exception]) -> None:
    with pytest.raises(error) as info:
        set_hang_warning(value)
    assert str(info.value)


@pytest.mark.usefixtures("default_hang_warning")
def test_set_hang_warning_accepts_numbers_and_none() -> None:
    set_hang_warning(2)
    set_hang_warning(0.5)
    set_hang_warning(None)
    set_hang_warning(10.0)


# -- 3. fork (rule 8) ----------------------------------------------------------------------

FORK_CHILD = """
import asyncio, os, signal, sys, threading, traceback
from smartasync import SmartAsync

class Svc(SmartAsync):
    async def where(self):
        await asyncio.sleep(0.001)
        return os.getpid()
    async def offload(self, x):
        return await asyncio.to_thread(pow, x, 2)

def helper(svc):
    return svc.where()

async def amain(svc):
    return helper(svc)          # a sync helper inside a running loop

svc = Svc()
me = os.getpid()
assert svc.where() == me and svc.offload(3) == 9
assert asyncio.run(amain(svc)) == me

go, ready = threading.Event(), threading.Event()
idle_results = []
def idler():
    idle_results.extend([svc.where(), svc.offload(4)])
    ready.set()
    go.wait(20)                 # idles while the other thread forks
    idle_results.extend([svc.where(), svc.offload(5)])
idle = threading.Thread(target=idler, name="idler")
idle.start()
assert ready.wait(20)

status = []
def forker():
    pid = os.fork()
    if pid == 0:
        signal.alarm(15)
        code = 1
        try:
            child = os.getpid()
            assert svc.where() == child
            assert svc.offload(6) == 36
            assert asyncio.run(amain(svc)) == child
            assert svc.offload(7) == 49
            print("child ok", flush=True)
            code = 0
        except BaseException:
            traceback.print_exc()
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code)
    status.append(os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]))
fork_thread = threading.Thread(target=forker, name="forker")
fork_thread.start()
fork_thread.join(20)
assert status == [0], status

assert svc.where() == me
assert svc.offload(8) == 64     # the parent's default executor still works
assert asyncio.run(amain(svc)) == me
go.set()
idle.join(20)
assert idle_results == [me, 16, me, 25], idle_results
print("parent ok", flush=True)
"""


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_fork_from_a_thread_child_and_parent_both_keep_working() -> None:
    result = run_fresh(FORK_CHILD, timeout=25)
    assert_ok(result, "parent ok")
    assert "child ok" in result.stdout


MP_MODULE = """
import asyncio, os
from smartasync import SmartAsync

class Worker(SmartAsync):
    async def square(self, x):
        await asyncio.sleep(0)
        return x * x
    async def offload(self, x):
        return await asyncio.to_thread(pow, x, 3)

WORKER = Worker()

def job(x):
    return WORKER.square(x), WORKER.offload(x), os.getpid()
"""

MP_CHILD = """
import asyncio, multiprocessing, os, sys
import engine_mp_work as work

method = sys.argv[1]

def helper():
    return work.WORKER.square(2)

async def amain():
    return helper()

assert work.WORKER.square(3) == 9 and work.WORKER.offload(3) == 27
assert asyncio.run(amain()) == 4          # a driver thread may exist now

ctx = multiprocessing.get_context(method)
with ctx.Pool(2) as pool:
    results = pool.map_async(work.job, range(6)).get(timeout=20)
assert [r[:2] for r in results] == [(x * x, x ** 3) for x in range(6)], results
assert os.getpid() not in {r[2] for r in results}

assert work.WORKER.square(5) == 25 and work.WORKER.offload(5) == 125
assert asyncio.run(amain()) == 4
print("pool ok", method, flush=True)
"""


@pytest.mark.parametrize(
    "method",
    [
        pytest.param(
            m,
            marks=pytest.mark.skipif(
                m not in multiprocessing.get_all_start_methods(),
                reason=f"no {m} start method here",
            ),
        )
        for m in ("fork", "spawn", "forkserver")
    ],
)
def test_multiprocessing_pool_workers_make_sync_calls(method: str, tmp_path: Path) -> None:
    (tmp_path / "engine_mp_work.py").write_text(MP_MODULE)
    result = run_fresh(
        MP_CHILD,
        method,
        timeout=45,
        env={"PYTHONPATH": os.pathsep.join([str(tmp_path), str(ROOT)])},
    )
    assert_ok(result, f"pool ok {method}")
    assert result.stderr == ""


# -- 4. exit (rule 9) ----------------------------------------------------------------------

EXIT_HEADER = """
import asyncio, sys, threading
from smartasync import SmartAsync

LOG = sys.argv[1]
PORT = sys.argv[2]

class Svc(SmartAsync):
    async def value(self, x):
        await asyncio.sleep(0)
        return x
    async def offload(self, x):
        a = await asyncio.to_thread(pow, x, 2)
        b = await asyncio.get_running_loop().run_in_executor(None, pow, x, 3)
        return a, b
    async def numbers(self, tag):
        try:
            for i in range(10):
                await asyncio.sleep(0)
                yield i
        finally:
            await asyncio.sleep(0)          # cleanup that needs the loop
            with open(LOG, "a") as log:
                log.write(f"finalised {tag}\\n")

svc = Svc()

def run_threads(fn, n=4):
    out = []
    threads = [threading.Thread(target=lambda i=i: out.append(fn(i))) for i in range(n)]
    for t in threads: t.start()
    for t in threads: t.join(20)
    return sorted(out)
"""

EXIT_SCENARIOS = {
    "threads": """
assert run_threads(svc.value) == [0, 1, 2, 3]
assert svc.value(7) == 7
async def amain():
    def helper():
        return svc.value.sync(8)   # explicit: -X dev warns about bare blocking calls
    return helper()
assert asyncio.run(amain()) == 8
assert run_threads(svc.value) == [0, 1, 2, 3]
""",
    "executor": """
assert svc.offload(2) == (4, 8)
assert run_threads(svc.offload) == [(0, 0), (1, 1), (4, 8), (9, 27)]
""",
    "httpx": """
import httpx

class Fetcher(SmartAsync):
    def __init__(self):
        self.client = httpx.AsyncClient()      # made outside any loop
    async def get(self, n):
        response = await self.client.get(f"http://localhost:{PORT}/echo?n={n}")
        response.raise_for_status()
        return response.json()["query"]["n"]
    async def aclose(self):
        await self.client.aclose()

fetcher = Fetcher()
assert fetcher.get(1) == "1"
assert fetcher.get(2) == "2"                   # the pool survives between calls
fetcher.aclose()
""",
    "asyncgen": """
main_iter = svc.numbers("main")
assert next(main_iter) == 0 and next(main_iter) == 1   # left suspended at exit

kept = []
def worker():
    it = svc.numbers("thread")
    next(it)
    kept.append(it)                                    # suspended after the thread ended
t = threading.Thread(target=worker)
t.start()
t.join(20)
assert svc.value(1) == 1
""",
}
EXIT_SCENARIOS["all"] = "".join(EXIT_SCENARIOS.values())


@pytest.mark.parametrize("scenario", list(EXIT_SCENARIOS))
def test_interpreter_exit_is_silent(scenario: str, tmp_path: Path, http_server: Server) -> None:
    log = tmp_path / "finalised.log"
    code = EXIT_HEADER + EXIT_SCENARIOS[scenario] + '\nprint("exiting", flush=True)\n'
    result = run_fresh(code, str(log), str(http_server.port), timeout=30, flags=CLEAN_FLAGS)
    assert result.stderr == ""
    assert_ok(result, "exiting")
    if scenario in ("asyncgen", "all"):
        finalised = log.read_text().splitlines() if log.exists() else []
        assert sorted(finalised) == ["finalised main", "finalised thread"]


# -- 5. recovery (rule 10) -------------------------------------------------------------------

RECOVERY_CHILD = """
import asyncio, threading
from smartasync import SmartAsync

class Res(SmartAsync):
    async def grab(self):
        await asyncio.sleep(0)
        return asyncio.get_running_loop()
    async def value(self, x):
        await asyncio.sleep(0)
        return x

res = Res()
first = res.grab()
assert res.value(0) == 0
first.close()                                  # user code closes the engine's loop
assert res.value(1) == 1
second = res.grab()
assert second is not first and not second.is_closed()

second.stop()                                  # stopped while idle: the next call still runs
assert res.value(2) == 2

res.grab().close()
out = []
t = threading.Thread(target=lambda: out.append(res.value(3)))
t.start()
t.join(20)
assert out == [3], out

res.grab().close()
async def amain():
    def helper():
        return res.value.sync(4)               # explicit: -X dev warns about bare ones
    return helper()
assert asyncio.run(amain()) == 4
assert res.value(5) == 5
print("recovered", flush=True)
"""


def test_a_loop_closed_by_user_code_is_replaced_on_the_next_call() -> None:
    result = run_fresh(RECOVERY_CHILD, timeout=30, flags=CLEAN_FLAGS)
    assert result.stderr == ""  # no "never awaited", no unclosed loop
    assert_ok(result, "recovered")


def test_a_coroutine_stopping_the_loop_mid_call_still_completes() -> None:
    res = Res()
    assert res.stop_mid_call(21) == 42
    assert res.value(1) == 1
    assert in_thread(lambda: res.stop_mid_call(5)) == 10
    assert res.value(2) == 2


STOP_CHILD = """
import asyncio, threading
from smartasync import SmartAsync

class Res(SmartAsync):
    async def stop_mid_call(self, x):
        asyncio.get_running_loop().stop()
        await asyncio.sleep(0.01)
        await asyncio.sleep(0)
        return x * 2
    async def value(self, x):
        await asyncio.sleep(0)
        return x

res = Res()

def helper(x):
    return res.stop_mid_call(x)

async def main():
    first, second = helper(3), helper(4)    # sync helper: the caller's loop is running
    return first, second, await res.value(5), helper(6)

assert asyncio.run(main()) == (6, 8, 5, 12)
assert res.value(1) == 1
assert asyncio.run(main()) == (6, 8, 5, 12)
print("completed", flush=True)
"""


def test_a_coroutine_stopping_the_loop_mid_call_inside_a_running_loop() -> None:
    # In a fresh interpreter: an engine that does not recover would break every
    # later test in this process.
    result = run_fresh(STOP_CHILD, timeout=30)
    assert result.stderr == ""
    assert_ok(result, "completed")


# -- 6. sniffio under trio (rule 11) -------------------------------------------------------


class Probe(SmartAsync):
    async def library(self) -> str:
        return sniffio.current_async_library()

    async def anyio_ops(self, url: str) -> tuple[str, int, str]:
        lib = sniffio.current_async_library()
        await anyio.sleep(0)
        async with httpx.AsyncClient() as client:
            response = await client.get(url)
        var.set("set-under-asyncio")
        return lib, response.status_code, sniffio.current_async_library()


def test_a_sync_call_under_trio_runs_on_asyncio(http_server: Server) -> None:
    probe = Probe()

    def helper() -> tuple[str, tuple[str, int, str]]:
        return probe.library(), probe.anyio_ops(http_server.url + "/echo")

    async def main() -> tuple[str, tuple[str, int, str], str, str]:
        assert sniffio.current_async_library() == "trio"
        lib, ops = helper()
        await trio.sleep(0)
        return lib, ops, sniffio.current_async_library(), var.get()

    def scenario() -> None:
        lib, ops, after, seen_var = trio.run(main)
        assert lib == "asyncio"
        assert ops == ("asyncio", 200, "asyncio")
        assert after == "trio"  # the coroutine's sniffio value did not flow back
        assert seen_var == "set-under-asyncio"  # but the user's variables did

    contextvars.copy_context().run(scenario)


# -- 7. contextvars across a thread handover (rule 11) ---------------------------------------


def test_contextvars_flow_both_ways_when_another_thread_drives_the_loop() -> None:
    with loop_held_by_another_thread() as held:

        def worker() -> tuple[Seen, str]:
            var.set("worker")
            seen = held.res.swap("from-coroutine")
            return seen, var.get()

        result = in_thread(worker)
        assert isinstance(result, tuple)
        seen, after = result
        assert seen.before == "worker"
        assert after == "from-coroutine"
        # The call was handed over: it ran on the one sync loop, which the
        # worker could not drive because another thread's call was using it.
        assert seen.loop is held.loop
        assert seen.thread.name != "worker"
    assert var.get() == "unset"


def test_contextvars_flow_both_ways_for_a_sync_helper_inside_asyncio_run() -> None:
    res = Res()

    def helper() -> Seen:
        return res.swap("from-coroutine")

    async def main() -> tuple[Seen, str, asyncio.AbstractEventLoop]:
        var.set("in-asyncio-run")
        seen = helper()
        return seen, var.get(), asyncio.get_running_loop()

    def scenario() -> None:
        with loop_held_by_another_thread() as held:
            seen, after, user_loop = asyncio.run(main())
            assert seen.before == "in-asyncio-run"
            assert after == "from-coroutine"
            assert seen.loop is held.loop and seen.loop is not user_loop
        seen, after, _ = asyncio.run(main())  # and with nobody else on the sync loop
        assert (seen.before, after) == ("in-asyncio-run", "from-coroutine")

    contextvars.copy_context().run(scenario)


@pytest.mark.asyncio
async def test_contextvars_flow_both_ways_for_a_sync_helper_in_an_async_test() -> None:
    res = Res()

    def helper() -> Seen:
        return res.swap("from-coroutine")

    var.set("async-test")
    with loop_held_by_another_thread() as held:
        seen = helper()
        assert seen.before == "async-test"
        assert var.get() == "from-coroutine"
        assert seen.loop is held.loop
    var.set("again")
    assert helper().before == "again"
    assert var.get() == "from-coroutine"


# -- 8. asyncio.run alongside sync calls (rule 12) --------------------------------------------


def asyncio_run_around_sync_calls() -> list[int]:
    res = Res()

    def helper(x: int) -> int:
        return res.value(x)

    async def main(x: int) -> int:
        awaited = await res.value(x)
        return awaited + helper(x)

    out = [asyncio.run(main(1))]  # before any sync call in this thread
    out.append(res.value(2))  # this thread may drive the sync loop itself
    out.append(asyncio.run(main(3)))  # after
    with loop_held_by_another_thread():  # another thread mid-sync-call
        out.append(asyncio.run(main(4)))
        out.append(res.value(5))  # handed over to the loop the holder uses
        out.append(asyncio.run(main(6)))
    out.append(asyncio.run(main(7)))
    return out


EXPECTED_RUN = [2, 2, 6, 8, 5, 12, 14]


def test_asyncio_run_in_the_main_thread_around_sync_calls() -> None:
    assert asyncio_run_around_sync_calls() == EXPECTED_RUN


def test_asyncio_run_in_a_worker_thread_around_sync_calls() -> None:
    assert in_thread(asyncio_run_around_sync_calls) == EXPECTED_RUN


@pytest.mark.asyncio
async def test_asyncio_run_in_a_worker_thread_while_the_test_loop_runs() -> None:
    assert await asyncio.to_thread(asyncio_run_around_sync_calls) == EXPECTED_RUN


# -- 9. cross-loop errors explained (rule 6) --------------------------------------------------


def notes_of(exc: BaseException) -> str:
    return "\n".join(getattr(exc, "__notes__", []))


async def bind_event_to_this_loop(res: Res) -> None:
    res.event = asyncio.Event()
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(res.event.wait(), 0.01)  # the event binds to this loop


def test_an_event_bound_to_an_ended_asyncio_run_gets_an_explaining_note() -> None:
    res = Res()
    asyncio.run(bind_event_to_this_loop(res))
    with pytest.raises(RuntimeError, match="different event loop") as info:
        res.wait()
    assert info.value is res.raised  # the same exception object, with a note added
    note = notes_of(info.value)
    assert "smartasync" in note.lower()
    assert "Res.wait" in note


@pytest.mark.asyncio
async def test_an_event_of_the_blocked_loop_gets_an_explaining_note() -> None:
    res = Res()
    await bind_event_to_this_loop(res)

    def helper() -> bool:
        return res.wait()

    with pytest.raises(RuntimeError, match="different event loop") as info:
        helper()
    assert info.value is res.raised
    note = notes_of(info.value)
    assert "smartasync" in note.lower()
    assert "Res.wait" in note


def test_a_closed_loop_error_gets_an_explaining_note() -> None:
    res = Res()

    async def keep_loop() -> None:
        res.saved_loop = asyncio.get_running_loop()

    asyncio.run(keep_loop())
    with pytest.raises(RuntimeError, match="Event loop is closed") as info:
        res.poke_saved_loop()
    assert info.value is res.raised
    note = notes_of(info.value)
    assert "smartasync" in note.lower()
    assert "Res.poke_saved_loop" in note


def test_an_unrelated_runtime_error_gets_no_note() -> None:
    with pytest.raises(RuntimeError, match="an ordinary failure") as info:
        Res().fail_plainly()
    assert "smartasync" not in notes_of(info.value).lower()


# -- rule 2: one sync loop shared by every thread ----------------------------------------------


def test_what_one_sync_call_makes_works_in_later_sync_calls_from_other_threads() -> None:
    waiting = threading.Event()

    class Shared(SmartAsync):
        async def open(self) -> None:
            self.future: asyncio.Future[int] = asyncio.get_running_loop().create_future()

        async def wait(self) -> int:
            waiting.set()
            return await asyncio.wait_for(self.future, WAIT)

        async def resolve(self, x: int) -> None:
            self.future.set_result(x)

    shared = Shared()
    shared.open()  # the future belongs to the loop this call ran on
    outcome: list[object] = []

    def consume() -> None:
        try:
            outcome.append(shared.wait())  # waits on the future, in a third thread
        except BaseException as exc:
            outcome.append(exc)

    consumer = threading.Thread(target=consume, name="consumer")
    consumer.start()
    assert waiting.wait(WAIT)
    in_thread(lambda: shared.resolve(7), name="producer")
    consumer.join(WAIT)
    assert not consumer.is_alive()
    if isinstance(outcome[0], BaseException):
        raise outcome[0]
    assert outcome == [7]
