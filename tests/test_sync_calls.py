"""What a sync call runs on and brings back: the one persistent sync loop
(what a call makes there keeps working in the next), context variables both
ways, the same exception object whatever its kind, many threads at once, and
a sync call made while a loop runs (it runs elsewhere; the debug-mode
warning); the loop factory."""

from __future__ import annotations

import asyncio
import contextvars
import gc
import threading
import traceback
from typing import Any

import pytest

from smartasync import SmartAsync, set_loop_factory, smartasync
from smartasync._engine import sync_loop
from tests.conftest import run_python

request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="none")


class Resource(SmartAsync):
    """Holds loop-bound objects made in one call and used in the next."""

    async def open(self) -> None:
        self.loop = asyncio.get_running_loop()
        self.lock = asyncio.Lock()
        self.queue: asyncio.Queue[int] = asyncio.Queue()
        self.future: asyncio.Future[int] = self.loop.create_future()

    async def put_and_get(self, value: int) -> int:
        async with self.lock:
            await self.queue.put(value)
            return await self.queue.get()

    async def resolve(self, value: int) -> None:
        self.future.set_result(value)

    async def wait(self) -> int:
        return await self.future

    async def current_loop(self) -> asyncio.AbstractEventLoop:
        return asyncio.get_running_loop()


class Context(SmartAsync):
    async def read(self) -> str:
        return request_id.get()

    async def write(self, value: str) -> str:
        before = request_id.get()
        request_id.set(value)
        await asyncio.sleep(0)
        return before


class Boom(Exception):
    pass


class Failing(SmartAsync):
    async def fail(self, message: str) -> None:
        await asyncio.sleep(0)
        raise Boom(message)

    async def fail_with_cause(self) -> None:
        try:
            raise KeyError("inner")
        except KeyError as exc:
            raise Boom("outer") from exc


# -- the persistent loop ------------------------------------------------------


def test_loop_bound_objects_survive_between_sync_calls() -> None:
    res = Resource()
    res.open()
    assert res.put_and_get(1) == 1
    assert res.put_and_get(2) == 2
    res.resolve(7)
    assert res.wait() == 7
    assert res.current_loop() is res.loop


def test_every_thread_shares_one_persistent_sync_loop() -> None:
    res = Resource()
    first = res.current_loop()
    assert res.current_loop() is first
    assert first is sync_loop()
    other: list[asyncio.AbstractEventLoop] = []
    worker = threading.Thread(target=lambda: other.append(res.current_loop()))
    worker.start()
    worker.join()
    assert other[0] is first


@pytest.mark.asyncio
async def test_loop_bound_objects_made_by_awaiting_work_when_awaited() -> None:
    res = Resource()
    await res.open()
    assert await res.put_and_get(3) == 3
    await res.resolve(4)
    assert await res.wait() == 4
    assert await res.current_loop() is asyncio.get_running_loop()


def test_asyncio_run_works_before_and_after_sync_calls() -> None:
    res = Resource()

    async def main() -> int:
        await res.open()
        return await res.put_and_get(5)

    assert asyncio.run(main()) == 5
    res.open()
    assert res.put_and_get(6) == 6
    assert asyncio.run(main()) == 5
    assert res.put_and_get(8) == 8  # the asyncio.run above made a new lock, on its own loop
    res.open()
    assert res.put_and_get(9) == 9


def test_the_coroutine_runs_in_a_task_of_the_sync_loop() -> None:
    @smartasync
    async def inspect_task() -> tuple[bool, bool]:
        task = asyncio.current_task()
        async with asyncio.timeout(5):
            await asyncio.sleep(0)
        return task is not None, asyncio.get_running_loop() is sync_loop()

    assert inspect_task() == (True, True)


# -- contextvars ----------------------------------------------------------------


def test_contextvars_flow_into_a_sync_call_and_back() -> None:
    ctx = Context()

    def scenario() -> None:
        request_id.set("outer")
        assert ctx.read() == "outer"
        assert ctx.write("inner") == "outer"
        assert request_id.get() == "inner"

    contextvars.copy_context().run(scenario)
    assert request_id.get() == "none"


@pytest.mark.asyncio
async def test_contextvars_flow_into_an_await_and_back() -> None:
    ctx = Context()
    request_id.set("outer")
    assert await ctx.read() == "outer"
    assert await ctx.write("inner") == "outer"
    assert request_id.get() == "inner"


def test_contextvars_written_before_an_exception_still_flow_back() -> None:
    @smartasync
    async def set_then_fail() -> None:
        request_id.set("before-failure")
        raise Boom("after setting")

    def scenario() -> None:
        with pytest.raises(Boom):
            set_then_fail()
        assert request_id.get() == "before-failure"

    contextvars.copy_context().run(scenario)


# -- exceptions -------------------------------------------------------------------


def _frames(exc: BaseException) -> list[str]:
    return [frame.name for frame in traceback.extract_tb(exc.__traceback__)]


def test_sync_call_raises_the_same_exception_object_with_user_frames() -> None:
    failing = Failing()
    captured: list[BaseException] = []

    @smartasync
    async def capture() -> None:
        try:
            await failing.fail("direct")
        except Boom as exc:
            captured.append(exc)
            raise

    with pytest.raises(Boom) as info:
        capture()
    assert info.value is captured[0]
    assert str(info.value) == "direct"
    assert "fail" in _frames(info.value)
    assert "test_sync_call_raises_the_same_exception_object_with_user_frames" in _frames(info.value)


@pytest.mark.asyncio
async def test_async_call_raises_the_same_exception_with_user_frames() -> None:
    with pytest.raises(Boom) as info:
        await Failing().fail("awaited")
    assert "fail" in _frames(info.value)


@pytest.mark.parametrize("via", ["sync", "blocking-in-loop"])
def test_exception_cause_is_kept(via: str) -> None:
    failing = Failing()
    if via == "sync":
        with pytest.raises(Boom) as info:
            failing.fail_with_cause()
    else:

        async def main() -> None:
            def helper() -> None:
                failing.fail_with_cause()

            helper()

        with pytest.raises(Boom) as info:
            asyncio.run(main())
    assert isinstance(info.value.__cause__, KeyError)


# Base exceptions too: nothing is wrapped, nothing is swallowed.
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


# -- threads ----------------------------------------------------------------------


def test_eight_threads_make_sync_calls_and_run_their_own_asyncio_run() -> None:
    res = Resource()
    results: dict[int, list[Any]] = {}
    errors: list[BaseException] = []

    def worker(index: int) -> None:
        try:
            mine = Resource()
            mine.open()
            values = [mine.put_and_get(index * 10 + i) for i in range(20)]

            async def main() -> int:
                await res.current_loop()
                return await Context().write(f"thread-{index}") == "none"

            values.append(asyncio.run(main()))
            values.append(mine.current_loop() is mine.loop)
            results[index] = values
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert not errors
    for index in range(8):
        assert results[index] == [index * 10 + i for i in range(20)] + [True, True]


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


# -- blocking while a loop runs -------------------------------------------------------


@pytest.mark.asyncio
async def test_a_blocking_call_inside_a_loop_runs_elsewhere_and_returns() -> None:
    res = Resource()

    def helper() -> asyncio.AbstractEventLoop:
        return res.current_loop()

    other = helper()
    assert other is not asyncio.get_running_loop()
    assert res.current_loop.sync() is other


@pytest.mark.asyncio
async def test_an_object_bound_to_the_blocked_loop_fails_clearly() -> None:
    res = Resource()
    await res.open()  # lock, queue and future belong to this test's loop
    await res.put_and_get(1)

    def helper() -> int:
        return res.wait()

    with pytest.raises(RuntimeError, match=r"different (event )?loop"):
        helper()


@pytest.mark.asyncio
async def test_queues_events_and_streams_of_the_blocked_loop_fail_clearly(
    http_server: Any,
) -> None:
    queue: asyncio.Queue[int] = asyncio.Queue()
    event = asyncio.Event()
    reader, writer = await asyncio.open_connection("127.0.0.1", http_server.port)

    @smartasync
    async def use_queue() -> int:
        return await queue.get()

    @smartasync
    async def use_event() -> bool:
        return await event.wait()

    @smartasync
    async def use_stream() -> bytes:
        return await reader.read(10)

    # Bind the queue and the event to this test's loop: asyncio binds them on
    # the first wait that has to suspend.
    getter = asyncio.ensure_future(queue.get())
    await asyncio.sleep(0)
    queue.put_nowait(1)
    assert await getter == 1
    waiter = asyncio.ensure_future(event.wait())
    await asyncio.sleep(0)
    for blocking_call in (use_queue.sync, use_event.sync, use_stream.sync):
        with pytest.raises(RuntimeError, match=r"different (event )?loop"):
            blocking_call()
    event.set()
    assert await waiter is True
    writer.close()
    await writer.wait_closed()


# In asyncio's debug mode a bare sync call that blocks a running loop warns, once
# per call site; `.sync()` says it is on purpose.

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


# -- the loop factory ----------------------------------------------------------------


def test_loop_factory_makes_the_sync_loop_and_the_secondary_loops() -> None:
    # A fresh interpreter: the factory applies to loops made after it is set,
    # and this process's sync loop exists already.
    result = run_python(
        """
import asyncio, threading
from smartasync import SmartAsync, set_loop_factory

made = []
def factory():
    loop = asyncio.new_event_loop()
    made.append(loop)
    return loop
set_loop_factory(factory)

class Res(SmartAsync):
    async def loop(self):
        return asyncio.get_running_loop()
    async def nested(self):
        return (lambda: self.loop())()     # a blocking call from the sync loop

seen = []
worker = threading.Thread(target=lambda: seen.append(Res().loop()))
worker.start(); worker.join()
inner = Res().nested()
print(seen[0] is made[0], inner is made[1], len(made))
"""
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["True", "True", "2"]


def test_loop_factory_rejects_a_non_callable() -> None:
    with pytest.raises(TypeError, match="callable"):
        set_loop_factory("uvloop")  # type: ignore[arg-type]
