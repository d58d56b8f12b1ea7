"""A sync call's first step runs at once, inside a real Task (Python 3.12+,
see `_eager`), and asyncio's promises inside a task hold all the same.

Each behaviour is checked from sync code (the eager path: main thread and a
worker thread) and from async code (a sync helper called inside a running
loop, which goes to the sync loop's driver thread: the ordinary path).  On
3.11 the same tests run on the ordinary path, so they pin the semantics the
eager path must keep.
"""

from __future__ import annotations

import asyncio
import contextvars
import subprocess
import sys
import textwrap
import threading
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from smartasync import SmartAsync

request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")


class Probe(SmartAsync):
    """Coroutines that report what they see from inside their task."""

    def __init__(self) -> None:
        self.background_ran = False
        self.kept: list[AsyncIterator[int]] = []

    async def inside(self) -> dict[str, Any]:
        loop = asyncio.get_running_loop()
        task = asyncio.current_task()
        return {
            "task": task,
            "loop": loop,
            "running": loop.is_running(),
            "hooks": sys.get_asyncgen_hooks().firstiter == loop._asyncgen_firstiter_hook,  # type: ignore[attr-defined]
        }

    async def within_timeout(self) -> str:
        async with asyncio.timeout(5):
            return "quick"

    async def times_out(self) -> str:
        try:
            async with asyncio.timeout(0.01):
                await asyncio.sleep(5)
        except TimeoutError:
            return "timed out"
        return "not timed out"

    async def set_request(self, value: str) -> str:
        request_id.set(value)
        return request_id.get()

    async def fail(self) -> None:
        raise LookupError("no such thing")

    async def start_background(self) -> None:
        async def background() -> None:
            self.background_ran = True

        self._task = asyncio.get_running_loop().create_task(background())

    async def suspend(self) -> int:
        await asyncio.sleep(0)
        return 2

    async def leave_generator_suspended(self) -> int:
        async def numbers() -> AsyncIterator[int]:
            yield 1
            yield 2

        gen = numbers()
        self.kept.append(gen)
        return await gen.__anext__()

    async def cancel_self(self) -> str:
        task = asyncio.current_task()
        assert task is not None
        task.cancel()
        try:
            await asyncio.sleep(0)
        except asyncio.CancelledError:
            return "cancelled at the next await"
        return "not cancelled"


def _in_worker(fn: Callable[[], Any]) -> Any:
    box: list[Any] = []
    thread = threading.Thread(target=lambda: box.append(fn()))
    thread.start()
    thread.join()
    return box[0]


def _check_inside(seen: dict[str, Any]) -> None:
    assert isinstance(seen["task"], asyncio.Task)
    assert seen["running"] is True
    assert seen["hooks"] is True
    assert seen["task"].get_loop() is seen["loop"]


def test_a_task_runs_the_step_in_sync_code() -> None:
    probe = Probe()
    _check_inside(probe.inside())
    _check_inside(_in_worker(probe.inside))
    # Nothing is left marked running once the call is over.
    with pytest.raises(RuntimeError):
        asyncio.get_running_loop()
    assert not probe.inside()["loop"].is_running()


@pytest.mark.asyncio
async def test_a_task_runs_the_step_for_a_sync_helper_in_async_code() -> None:
    probe = Probe()

    def helper() -> dict[str, Any]:
        return probe.inside()

    seen = helper()
    _check_inside(seen)
    assert seen["loop"] is not asyncio.get_running_loop()  # the sync loop, not ours


def test_timeouts_work_in_sync_code() -> None:
    probe = Probe()
    assert probe.within_timeout() == "quick"
    assert probe.times_out() == "timed out"
    assert _in_worker(probe.times_out) == "timed out"


@pytest.mark.asyncio
async def test_timeouts_work_for_a_sync_helper_in_async_code() -> None:
    probe = Probe()

    def helper() -> tuple[str, str]:
        return probe.within_timeout(), probe.times_out()

    assert helper() == ("quick", "timed out")


def test_context_variables_flow_back_in_sync_code() -> None:
    probe = Probe()
    assert probe.set_request("r-1") == "r-1"
    assert request_id.get() == "r-1"
    request_id.set("-")


@pytest.mark.asyncio
async def test_context_variables_flow_back_for_a_sync_helper_in_async_code() -> None:
    probe = Probe()

    def helper() -> str:
        return probe.set_request("r-2")

    assert helper() == "r-2"
    assert request_id.get() == "r-2"


def test_exceptions_come_out_unchanged_and_the_next_call_works() -> None:
    probe = Probe()
    with pytest.raises(LookupError, match="no such thing"):
        probe.fail()
    assert probe.suspend() == 2


@pytest.mark.asyncio
async def test_exceptions_come_out_unchanged_in_async_code() -> None:
    probe = Probe()
    with pytest.raises(LookupError):
        await probe.fail()

    def helper() -> None:
        probe.fail()

    with pytest.raises(LookupError):
        helper()


def test_a_background_task_runs_when_the_loop_next_runs() -> None:
    probe = Probe()
    probe.start_background()  # ends in its first step: the loop never ran
    assert probe.suspend() == 2  # this call runs the loop
    assert probe.background_ran


@pytest.mark.asyncio
async def test_a_background_task_of_a_sync_helper_runs_in_async_code() -> None:
    probe = Probe()

    def helper() -> int:
        probe.start_background()
        return probe.suspend()

    assert helper() == 2
    assert probe.background_ran


def test_cancelling_the_current_task_in_the_first_step() -> None:
    probe = Probe()
    assert probe.cancel_self() == "cancelled at the next await"
    assert _in_worker(probe.cancel_self) == "cancelled at the next await"


@pytest.mark.asyncio
async def test_cancelling_the_current_task_in_async_code() -> None:
    probe = Probe()
    assert await probe.cancel_self() == "cancelled at the next await"


def test_async_generators_met_in_the_first_step_belong_to_the_loop() -> None:
    probe = Probe()
    assert probe.leave_generator_suspended() == 1
    loop = probe.inside()["loop"]
    # Registered by the loop's firstiter hook: shutdown_asyncgens closes it.
    assert probe.kept[0] in loop._asyncgens


@pytest.mark.asyncio
async def test_async_generators_of_a_sync_helper_belong_to_the_sync_loop() -> None:
    probe = Probe()

    def helper() -> int:
        return probe.leave_generator_suspended()

    assert helper() == 1
    assert probe.kept[0] not in asyncio.get_running_loop()._asyncgens  # type: ignore[attr-defined]


_SCRIPT = textwrap.dedent(
    """
    import asyncio, sys
    from smartasync import SmartAsync

    class Exits(SmartAsync):
        async def leave(self):
            sys.exit(3)

        async def value(self):
            return 5

    calls = []
    orig = asyncio.BaseEventLoop.run_forever
    def profile(frame, event, arg):
        if event == "call" and frame.f_code is orig.__code__:
            calls.append(1)
    sys.setprofile(profile)
    obj = Exits()
    assert obj.value() == 5
    sys.setprofile(None)
    print("run_forever calls:", len(calls))
    obj.leave()
    """
)


@pytest.mark.parametrize("dev", [False, True])
def test_system_exit_in_the_first_step_leaves_nothing_behind(dev: bool) -> None:
    flags = ["-X", "dev"] if dev else ["-X", "tracemalloc=5"]
    result = subprocess.run(
        [sys.executable, *flags, "-W", "error", "-c", _SCRIPT],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 3, result.stderr
    assert result.stderr == ""  # no "Task exception was never retrieved", no ResourceWarning
    # Debug mode (-X dev) takes the ordinary path even on 3.12+.
    expected = 0 if sys.version_info >= (3, 12) and not dev else 1
    assert f"run_forever calls: {expected}" in result.stdout, result.stdout


def test_the_loop_is_not_entered_for_a_call_that_does_not_suspend() -> None:
    script = _SCRIPT.replace("obj.leave()", "")
    result = subprocess.run(
        [sys.executable, "-W", "error", "-c", script],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    expected = 0 if sys.version_info >= (3, 12) else 1
    assert f"run_forever calls: {expected}" in result.stdout, result.stdout
