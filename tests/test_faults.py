"""Faults and load: Ctrl-C, thread and interpreter exit, fork, re-entrancy,
threads under load, exceptions of every kind.  Each fault scenario runs in a
fresh interpreter with a timeout, so that a hang fails the test instead of the
suite."""

from __future__ import annotations

import asyncio
import gc
import os
import signal
import subprocess
import sys
import threading
import time
from typing import Any

import pytest

from smartasync import SmartAsync, set_mode, smartasync

from .conftest import ROOT, run_python

CLEAN_FLAGS = ("-X", "dev", "-W", "error::ResourceWarning")


def assert_clean(stderr: str) -> None:
    for noise in (
        "Task was destroyed",
        "never awaited",
        "Event loop is closed",
        "unclosed event loop",
        "ResourceWarning",
        "Exception ignored",
        "Traceback",
        "ignored GeneratorExit",
    ):
        assert noise not in stderr, stderr


# -- Ctrl-C ------------------------------------------------------------------------------

SIGINT_CHILD = """
import asyncio, sys
from smartasync import SmartAsync

class Job(SmartAsync):
    def __init__(self):
        self.cleaned = False
    async def long(self):
        try:
            print("started", flush=True)
            await asyncio.sleep(30)
        finally:
            await asyncio.sleep(0.01)   # cleanup that awaits
            self.cleaned = True
    async def quick(self):
        return len(asyncio.all_tasks())

job = Job()
try:
    job.long()
except KeyboardInterrupt:
    print("caught KeyboardInterrupt", flush=True)
print("cleaned", job.cleaned, flush=True)
print("next call sees tasks:", job.quick(), flush=True)
"""


def _interrupt_child(code: str, flags: tuple[str, ...] = CLEAN_FLAGS) -> tuple[int, str, str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONASYNCIODEBUG"}
    env["PYTHONPATH"] = str(ROOT)
    proc = subprocess.Popen(
        [sys.executable, *flags, "-c", code],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert line.strip() == "started", line
    time.sleep(0.2)
    proc.send_signal(signal.SIGINT)
    try:
        out, err = proc.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        pytest.fail(f"the child hung after SIGINT: {out!r} {err!r}")
    return proc.returncode, line + out, err


def test_ctrl_c_cancels_the_call_runs_cleanup_and_raises_keyboard_interrupt() -> None:
    code, out, err = _interrupt_child(SIGINT_CHILD)
    assert code == 0, err
    assert "caught KeyboardInterrupt" in out
    assert "cleaned True" in out
    assert "next call sees tasks: 1" in out  # only the new call's own task: nothing left pending
    assert err == ""


def test_ctrl_c_during_a_blocking_call_inside_a_running_loop() -> None:
    child = """
import asyncio
from smartasync import SmartAsync

class Job(SmartAsync):
    cleaned = False
    async def long(self):
        try:
            print("started", flush=True)
            await asyncio.sleep(30)
        finally:
            await asyncio.sleep(0.01)
            Job.cleaned = True

async def main():
    def helper():
        return Job().long()   # sync caller inside a running loop: background loop
    try:
        helper()
    except KeyboardInterrupt:
        print("caught in the coroutine", flush=True)
    return Job.cleaned

print("cleaned", asyncio.run(main()), flush=True)
"""
    # Without -X dev: blocking a running loop on purpose is what this tests,
    # and debug mode rightly reports it.
    code, out, err = _interrupt_child(child, flags=("-W", "error::ResourceWarning"))
    assert code == 0, err
    assert "caught in the coroutine" in out and "cleaned True" in out
    assert err == ""


def test_ctrl_c_keeps_a_handler_the_user_installed() -> None:
    child = """
import asyncio, signal
from smartasync import smartasync
hits = []
signal.signal(signal.SIGINT, lambda *a: hits.append(1))

@smartasync
async def wait():
    print("started", flush=True)
    for _ in range(40):
        await asyncio.sleep(0.05)
        if hits:
            return "user handler ran"
    return "timeout"

print(wait(), flush=True)
print(signal.getsignal(signal.SIGINT).__name__, flush=True)
"""
    code, out, err = _interrupt_child(child)
    assert code == 0, err
    assert "user handler ran" in out and "<lambda>" in out


def test_sigint_handler_is_restored_after_each_call() -> None:
    @smartasync
    async def nothing() -> None:
        await asyncio.sleep(0)

    nothing()
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


# -- thread end, interpreter exit, fork ---------------------------------------------------


def test_threads_and_interpreter_exit_close_every_loop_cleanly() -> None:
    result = run_python(
        """
import asyncio, threading
from smartasync import SmartAsync
from smartasync._engine import sync_loop

class Stream(SmartAsync):
    async def numbers(self):
        try:
            for i in range(10):
                await asyncio.sleep(0)
                yield i
        finally:
            await asyncio.sleep(0)

    async def value(self):
        await asyncio.sleep(0)
        return 1

kept = []
def worker():
    s = Stream()
    s.value()
    it = s.numbers()
    next(it)
    kept.append(it)   # still suspended when the thread ends: its loop finalises it

threads = [threading.Thread(target=worker) for _ in range(4)]
for t in threads: t.start()
for t in threads: t.join()
loop = sync_loop()
print("one sync loop, open after threads ended:", loop is not None and not loop.is_closed())

main_stream = Stream()
main_stream.value()
suspended = main_stream.numbers()
next(suspended)   # left suspended at interpreter exit

async def amain():
    def helper():
        return Stream().value.sync()
    return helper()   # starts the driver thread
print("background", asyncio.run(amain()))
""",
        flags=CLEAN_FLAGS,
    )
    assert result.returncode == 0, result.stderr
    assert "one sync loop, open after threads ended: True" in result.stdout
    assert_clean(result.stderr)
    assert result.stderr == ""


def test_a_daemon_thread_still_calling_at_exit_is_left_to_run() -> None:
    result = run_python(
        """
import asyncio, threading, time
from smartasync import smartasync

@smartasync
async def tick():
    await asyncio.sleep(0.001)
    return 1

def forever():
    while True:
        tick()

threading.Thread(target=forever, daemon=True).start()
time.sleep(0.2)
print("main exits")
""",
        flags=CLEAN_FLAGS,
        timeout=30,
    )
    assert result.returncode == 0, result.stderr
    assert "main exits" in result.stdout
    assert_clean(result.stderr)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_fork_gives_the_child_a_fresh_loop_and_leaves_the_parent_alone() -> None:
    result = run_python(
        """
import asyncio, os
from smartasync import SmartAsync

class Who(SmartAsync):
    async def pid(self):
        await asyncio.sleep(0.01)
        return os.getpid()
    async def loop_id(self):
        return id(asyncio.get_running_loop())

w = Who()
parent_loop = w.loop_id()
assert w.pid() == os.getpid()
async def amain():
    return (lambda: w.pid.sync())()      # the driver thread is running in the parent
assert asyncio.run(amain()) == os.getpid()

r, wfd = os.pipe()
child = os.fork()
if child == 0:
    os.close(r)
    try:
        ok = w.pid() == os.getpid()
        async def camain():
            return (lambda: w.pid())()
        ok = ok and asyncio.run(camain()) == os.getpid()
        os.write(wfd, b"ok" if ok else b"bad")
    finally:
        os._exit(0)
os.close(wfd)
assert os.read(r, 10) == b"ok"
os.waitpid(child, 0)
assert w.pid() == os.getpid() and w.loop_id() == parent_loop
async def amain2():
    return (lambda: w.pid())()
assert asyncio.run(amain2()) == os.getpid()
print("fork ok")
""",
        flags=("-W", "ignore::DeprecationWarning"),  # 3.12+: fork() with threads warns
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "fork ok" in result.stdout


def test_the_driver_thread_is_a_daemon_and_does_not_block_exit() -> None:
    result = run_python(
        """
import asyncio, threading
from smartasync import SmartAsync
class Slow(SmartAsync):
    async def ping(self):
        return "pong"
async def main():
    return (lambda: Slow().ping.sync())()
print(asyncio.run(main()))
names = [t.name for t in threading.enumerate() if t.daemon]
print("daemon driver:", "smartasync-sync-loop" in names)
""",
        flags=CLEAN_FLAGS,
        timeout=30,
    )
    assert result.returncode == 0, result.stderr
    assert "pong" in result.stdout and "daemon driver: True" in result.stdout
    assert result.stderr == ""


# -- re-entrancy --------------------------------------------------------------------------


def test_reentrant_forced_sync_inside_asyncio_run_never_hangs() -> None:
    result = run_python(
        """
import asyncio
from smartasync import SmartAsync

class Tool(SmartAsync, mode="sync"):
    async def inner(self):
        return 1
    async def outer(self):
        return self.inner() + 1      # forced sync, from code running on the sync loop

async def main():
    return Tool().outer()            # forced sync, from inside asyncio.run

print(asyncio.run(main()))
""",
        timeout=20,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "2"


# -- the debug-mode warning ----------------------------------------------------------------

DEBUG_CHILD = """
import asyncio, warnings
from smartasync import SmartAsync
warnings.simplefilter("default")

class Svc(SmartAsync):
    async def get(self):
        return 1

svc = Svc()
def helper():
    return svc.get()          # one call site

async def main():
    for _ in range(3):
        helper()
    svc.get.sync()            # explicit: on purpose, no warning

asyncio.run(main())
"""


def test_debug_mode_warns_once_per_call_site_naming_the_method() -> None:
    result = run_python(DEBUG_CHILD, env={"PYTHONASYNCIODEBUG": "1"})
    assert result.returncode == 0, result.stderr
    assert result.stderr.count("RuntimeWarning") == 1, result.stderr
    assert "Svc.get() blocked the running event loop" in result.stderr
    assert "await" in result.stderr and ".sync()" in result.stderr


def test_no_warning_outside_debug_mode() -> None:
    result = run_python(DEBUG_CHILD)
    assert result.returncode == 0
    assert result.stderr == ""


# -- exceptions of every kind ---------------------------------------------------------------


class Raiser(SmartAsync):
    async def raise_it(self, exc: BaseException) -> None:
        await asyncio.sleep(0)
        raise exc


@pytest.mark.parametrize(
    "exc",
    [SystemExit(3), KeyboardInterrupt(), asyncio.CancelledError("inner"), GeneratorExit()],
    ids=["SystemExit", "KeyboardInterrupt", "CancelledError", "GeneratorExit"],
)
def test_base_exceptions_raised_inside_propagate_unchanged_from_sync_calls(
    exc: BaseException,
) -> None:
    with pytest.raises(type(exc)) as info:
        Raiser().raise_it(exc)
    assert info.value is exc
    assert Raiser().raise_it.sync is not None  # the engine is still usable
    assert asyncio.run(_ok()) == "ok"


async def _ok() -> str:
    return "ok"


@pytest.mark.asyncio
@pytest.mark.parametrize(
    "exc", [SystemExit(3), KeyboardInterrupt(), asyncio.CancelledError("inner")]
)
async def test_base_exceptions_raised_inside_propagate_unchanged_when_awaited(
    exc: BaseException,
) -> None:
    with pytest.raises(type(exc)) as info:
        await Raiser().raise_it(exc)
    assert info.value is exc


@pytest.mark.asyncio
@pytest.mark.parametrize("exc", [SystemExit(4), KeyboardInterrupt(), asyncio.CancelledError("x")])
async def test_base_exceptions_from_a_blocking_call_inside_a_loop(exc: BaseException) -> None:
    def helper() -> None:
        Raiser().raise_it(exc)

    with pytest.raises(type(exc)) as info:
        helper()
    assert info.value is exc


def test_cause_and_context_are_kept() -> None:
    @smartasync
    async def chained() -> None:
        try:
            raise KeyError("first")
        except KeyError:
            raise ValueError("second")  # noqa: B904  (implicit __context__)

    with pytest.raises(ValueError) as info:
        chained()
    assert isinstance(info.value.__context__, KeyError)

    async def main() -> None:
        await chained()

    with pytest.raises(ValueError) as info2:
        asyncio.run(main())
    assert isinstance(info2.value.__context__, KeyError)


# -- load -----------------------------------------------------------------------------------


class Counter(SmartAsync):
    async def add(self, a: int, b: int) -> int:
        await asyncio.sleep(0)
        return a + b


class ForcedCounter(Counter, mode="sync"):
    pass


def test_eight_threads_by_a_thousand_mixed_calls() -> None:
    gc.collect()  # loops of earlier tests' ended threads close now, not mid-test
    baseline_threads = threading.active_count()
    before = {t.name for t in threading.enumerate()}
    errors: list[BaseException] = []
    totals: list[int] = []

    def worker(seed: int) -> None:
        try:
            counter, forced = Counter(), ForcedCounter()
            total = 0
            for i in range(1000):
                kind = (seed + i) % 4
                if kind == 0:
                    total += counter.add(i, 1) - i  # sync call: +1
                elif kind == 1:
                    total += asyncio.run(counter.add.aio(i, 1)) - i
                elif kind == 2:

                    async def inside(i: int = i) -> int:
                        return forced.add(i, 1) - i  # type: ignore[operator]  # forced sync inside a running loop

                    total += asyncio.run(inside())
                else:

                    async def awaited(i: int = i) -> int:
                        return await counter.add(i, 1) - i

                    total += asyncio.run(awaited())
            totals.append(total)
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert not errors, errors
    assert totals == [1000] * 8
    # The workers shared the sync loop and left nothing behind; the driver
    # thread (started for the forced-sync calls made inside asyncio.run) is the
    # one thread that may stay.
    added = {t.name for t in threading.enumerate()} - before
    assert added <= {"smartasync-sync-loop"}
    assert threading.active_count() <= baseline_threads + 1


@pytest.mark.asyncio
async def test_concurrent_async_calls_on_one_instance() -> None:
    counter = Counter()
    results = await asyncio.gather(*(counter.add(i, i) for i in range(200)))
    assert results == [2 * i for i in range(200)]
    forced = Counter()
    set_mode(forced, "sync")
    assert forced.add(1, 2) == 3  # type: ignore[comparison-overlap]  # mode is run-time only


def test_sigint_state_is_untouched_by_worker_threads() -> None:
    seen: list[Any] = []

    def worker() -> None:
        seen.append(Counter().add(1, 1))
        seen.append(signal.getsignal(signal.SIGINT) is signal.default_int_handler)

    thread = threading.Thread(target=worker)
    thread.start()
    thread.join()
    assert seen == [2, True]


def test_the_warning_names_an_inherited_method_by_the_receivers_class() -> None:
    import warnings

    class Library:
        async def fetch(self) -> int:
            return 1

    class Client(SmartAsync, Library):
        pass

    async def main() -> list[str]:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            assert (lambda: Client().fetch())() == 1
        return [str(w.message) for w in caught]

    messages = asyncio.run(main(), debug=True)
    assert any("Client.fetch() blocked the running event loop" in m for m in messages), messages
    assert not any("Library.fetch" in m for m in messages), messages
