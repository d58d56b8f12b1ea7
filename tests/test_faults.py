"""Faults: Ctrl-C, thread end, interpreter exit and fork.  Each fault
scenario runs in a fresh interpreter with a timeout, so that a hang fails the
test instead of the suite."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
import time
from typing import Any

import pytest

from smartasync import smartasync

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


def test_sigint_state_is_untouched_by_worker_threads() -> None:
    @smartasync
    async def add(a: int, b: int) -> int:
        await asyncio.sleep(0)
        return a + b

    seen: list[Any] = []

    def worker() -> None:
        seen.append(add(1, 1))
        seen.append(signal.getsignal(signal.SIGINT) is signal.default_int_handler)

    thread = threading.Thread(target=worker)
    thread.start()
    thread.join()
    assert seen == [2, True]


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
