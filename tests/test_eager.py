"""A sync call runs its task without `run_forever` (see `_eager`): its
first step at once, inside a real Task (Python 3.12+), then one loop
iteration at a time while it is suspended; asyncio's promises inside a task
hold all the same.

Each behaviour is checked from sync code (the inline path: main thread and a
worker thread) and from async code (a sync helper called inside a running
loop, which goes to the sync loop's driver thread: the ordinary path, with
`run_forever`), so the ordinary path pins the semantics the inline one must
keep.
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

from smartasync import SmartAsync, _asyncio_internals

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

    async def echo_over_tcp(self, payload: bytes) -> bytes:
        """A real server on 127.0.0.1 and a client talking to it: the call
        waits for I/O (select with no timeout) and for a timer."""

        async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            data = await reader.readline()
            await asyncio.sleep(0.01)
            writer.write(data.upper())
            await writer.drain()
            writer.close()

        server = await asyncio.start_server(serve, "127.0.0.1", 0)
        async with server:
            port = server.sockets[0].getsockname()[1]
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(payload + b"\n")
            await writer.drain()
            answer = await reader.readline()
            writer.close()
            await writer.wait_closed()
        return answer.strip()

    async def stop_the_loop(self) -> str:
        """User code stopping the running loop mid-call: the call goes on to
        its end (a stop neither ends it early nor leaks into the next one)."""
        asyncio.get_running_loop().stop()
        await asyncio.sleep(0)
        asyncio.get_running_loop().call_soon(asyncio.get_running_loop().stop)
        await asyncio.sleep(0.005)
        return "finished"

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


def test_real_io_and_timers_in_sync_code() -> None:
    probe = Probe()
    assert probe.echo_over_tcp(b"ping") == b"PING"
    assert _in_worker(lambda: probe.echo_over_tcp(b"pong")) == b"PONG"


@pytest.mark.asyncio
async def test_real_io_and_timers_in_async_code() -> None:
    probe = Probe()
    assert await probe.echo_over_tcp(b"ping") == b"PING"

    def helper() -> bytes:
        return probe.echo_over_tcp(b"pong")

    assert helper() == b"PONG"


def test_a_stop_from_user_code_does_not_end_a_sync_call() -> None:
    probe = Probe()
    assert probe.stop_the_loop() == "finished"
    assert _in_worker(probe.stop_the_loop) == "finished"
    assert probe.suspend() == 2  # and the next call is not cut short


@pytest.mark.asyncio
async def test_a_stop_from_user_code_in_async_code() -> None:
    probe = Probe()

    def helper() -> tuple[str, int]:
        return probe.stop_the_loop(), probe.suspend()

    assert helper() == ("finished", 2)


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
    # Debug mode (-X dev) takes the ordinary path, as does every call where
    # asyncio's internals are not used (SMARTASYNC_ASYNCIO_FALLBACKS=1, which
    # the child inherits).
    expected = 1 if dev or not _asyncio_internals.INLINE else 0
    assert f"run_forever calls: {expected}" in result.stdout, result.stdout


@pytest.mark.parametrize("suspends", [False, True])
def test_run_forever_is_not_entered_by_a_sync_call(suspends: bool) -> None:
    script = _SCRIPT.replace("obj.leave()", "")
    if suspends:
        script = script.replace("return 5", "await asyncio.sleep(0.001)\n        return 5")
    result = subprocess.run(
        [sys.executable, "-W", "error", "-c", script],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    # On 3.11 the task's first step waits for one iteration of the loop,
    # which the leader runs itself (see _eager), as it runs every later one.
    # With asyncio's internals not used (the fallbacks forced, inherited by
    # the child), the call takes the ordinary path: run_forever, once.
    expected = 0 if _asyncio_internals.INLINE else 1
    assert f"run_forever calls: {expected}" in result.stdout, result.stdout


_EXTENDED_LOOP = textwrap.dedent(
    """
    import asyncio, sys
    import smartasync
    from smartasync import SmartAsync

    runs = []

    class Extended(asyncio.SelectorEventLoop):
        def {method}(self, *args):
            runs.append(1)
            return super().{method}(*args)

    smartasync.set_loop_factory(Extended)

    class Probe(SmartAsync):
        async def value(self):
            await asyncio.sleep(0)
            return 7

    assert Probe().value() == 7
    print("extended runs:", len(runs))
    """
)


@pytest.mark.parametrize("method", ["run_forever", "_run_forever_setup"])
def test_a_loop_class_that_extends_run_forever_is_run_by_it(method: str) -> None:
    """A loop class of the user's that extends what run_forever does (3.13
    split out its setup for such subclasses) is not driven inline: its own
    code runs, as for any other loop of the user's."""
    if not hasattr(asyncio.BaseEventLoop, method):
        pytest.skip(f"asyncio has no BaseEventLoop.{method} on this Python")
    script = _EXTENDED_LOOP.replace("{method}", method)
    result = subprocess.run(
        [sys.executable, "-W", "error", "-c", script], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    runs = int(result.stdout.split("extended runs:")[1])
    assert runs >= 1, result.stdout


@pytest.mark.asyncio
async def test_an_extended_loop_class_from_async_code() -> None:
    """From async code the sync helper's call goes to the driver thread, which
    always runs the loop with run_forever: the same extended loop works."""
    script = _EXTENDED_LOOP.replace("{method}", "run_forever").replace(
        "assert Probe().value() == 7",
        "def helper():\n    return Probe().value()\n"
        "async def main():\n    return helper()\n"
        "assert asyncio.run(main()) == 7",
    )
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-W",
        "error",
        "-c",
        script,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 0, err.decode()
    assert int(out.decode().split("extended runs:")[1]) >= 1
