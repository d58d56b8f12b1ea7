"""The rule: the caller decides.  An `async def` caller gets the awaitable,
any other caller gets the result, whatever loop is or is not running."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import AsyncIterator, Awaitable, Iterable
from typing import Any

import anyio
import anyio.to_thread
import pytest
import sniffio
import trio

from smartasync import SmartAsync, smartasync


class Service(SmartAsync):
    async def double(self, x: int) -> int:
        await asyncio.sleep(0)
        return 2 * x


@smartasync
async def triple(x: int) -> int:
    await asyncio.sleep(0)
    return 3 * x


def collect(items: Iterable[Any]) -> list[Any]:
    return list(items)


# -- sync callers get the value --------------------------------------------


def test_plain_function_gets_the_value() -> None:
    assert Service().double(2) == 4
    assert triple(2) == 6


def test_lambda_gets_the_value() -> None:
    svc = Service()
    assert (lambda: svc.double(3))() == 6


def test_comprehensions_in_sync_code_get_values() -> None:
    svc = Service()
    assert [svc.double(i) for i in range(3)] == [0, 2, 4]
    assert {svc.double(i) for i in range(3)} == {0, 2, 4}
    assert {i: svc.double(i) for i in range(2)} == {0: 0, 1: 2}
    assert list(svc.double(i) for i in range(3)) == [0, 2, 4]  # noqa: C400


def test_class_body_gets_the_value() -> None:
    svc = Service()

    class Config:
        value = svc.double(5)

    assert Config.value == 10


def test_sync_generator_gets_the_value() -> None:
    svc = Service()

    def numbers() -> Iterable[int]:
        yield svc.double(1)
        yield triple(1)

    assert list(numbers()) == [2, 3]


def test_hand_driven_coroutine_gets_the_awaitable_without_any_loop() -> None:
    async def caller() -> Any:
        return triple(2)

    coro = caller()
    with pytest.raises(StopIteration) as stop:
        coro.send(None)
    awaitable = stop.value.value
    assert inspect.iscoroutine(awaitable)
    awaitable.close()


def test_types_coroutine_generator_counts_as_async() -> None:
    import types

    @types.coroutine
    def legacy() -> Any:
        return triple(2)
        yield  # makes it a generator

    gen = legacy()
    with pytest.raises(StopIteration) as stop:
        gen.send(None)
    assert inspect.iscoroutine(stop.value.value)
    stop.value.value.close()


def test_async_call_then_sync_call_still_returns_a_value() -> None:
    # The predecessor cached "async" per method after the first async call.
    svc = Service()
    assert asyncio.run(svc.double.aio(1)) == 2

    async def main() -> int:
        return await svc.double(2)

    assert asyncio.run(main()) == 4
    assert svc.double(3) == 6


def test_sync_worker_thread_of_an_async_program_gets_the_value() -> None:
    svc = Service()

    async def main() -> int:
        return await asyncio.to_thread(svc.double, 4)

    assert asyncio.run(main()) == 8


# -- async callers get the awaitable ---------------------------------------


@pytest.mark.asyncio
async def test_async_def_gets_the_awaitable() -> None:
    svc = Service()
    awaitable = svc.double(2)
    assert inspect.iscoroutine(awaitable)
    assert await awaitable == 4
    function_awaitable = triple(2)
    assert inspect.iscoroutine(function_awaitable)
    assert await function_awaitable == 6


@pytest.mark.asyncio
async def test_gather_over_a_generator_expression() -> None:
    svc = Service()
    assert await asyncio.gather(*(svc.double(i) for i in range(3))) == [0, 2, 4]


@pytest.mark.asyncio
async def test_comprehensions_inside_async_def_get_awaitables() -> None:
    svc = Service()
    listed = [svc.double(i) for i in range(3)]
    assert all(inspect.iscoroutine(c) for c in listed)
    assert await asyncio.gather(*listed) == [0, 2, 4]
    mapped = {i: triple(i) for i in range(2)}
    assert [await c for c in mapped.values()] == [0, 3]


@pytest.mark.asyncio
async def test_generator_expression_consumed_by_a_sync_helper_follows_where_it_is_written() -> None:
    # The generator expression stands in for this async def, even though a
    # sync function is the one iterating it (what a type checker sees too).
    svc = Service()
    awaitables = collect(svc.double(i) for i in range(3))
    assert all(inspect.iscoroutine(c) for c in awaitables)
    assert await asyncio.gather(*awaitables) == [0, 2, 4]


@pytest.mark.asyncio
async def test_async_generator_gets_the_awaitable() -> None:
    svc = Service()

    async def produce() -> Any:
        awaitable = svc.double(3)
        yield inspect.iscoroutine(awaitable)
        yield await awaitable

    assert [item async for item in produce()] == [True, 6]


@pytest.mark.asyncio
async def test_sync_helper_inside_a_running_loop_gets_the_value() -> None:
    svc = Service()

    def helper() -> int:
        return svc.double(4)

    assert helper() == 8
    assert (lambda: triple(2))() == 6


@pytest.mark.asyncio
async def test_each_call_is_decided_afresh() -> None:
    svc = Service()

    def sync_side() -> int:
        return svc.double(1)

    for _ in range(3):
        assert sync_side() == 2
        assert await svc.double(1) == 2


@pytest.mark.asyncio
async def test_asyncio_to_thread_returns_the_value() -> None:
    assert await asyncio.to_thread(Service().double, 3) == 6
    assert await asyncio.to_thread(triple, 3) == 9


@pytest.mark.asyncio
async def test_anyio_to_thread_returns_the_value() -> None:
    assert await anyio.to_thread.run_sync(Service().double, 3) == 6


# -- trio and anyio: the framework scheduling exception ---------------------
#
# A function handed to a framework that starts it as a task (trio.run,
# nursery.start_soon, anyio.run, a task group's start_soon) gets the
# awaitable, though the framework's code that calls it is sync.  Tally is
# written with anyio only and records which library ran each call.


class Tally(SmartAsync):
    def __init__(self) -> None:
        self.seen: list[tuple[int, str]] = []

    async def record(self, n: int) -> int:
        async with anyio.create_task_group() as tg:
            tg.start_soon(anyio.sleep, 0.001)
        with anyio.fail_after(5):
            await anyio.sleep(0)
        self.seen.append((n, sniffio.current_async_library()))
        return n * 2

    async def ticks(self, n: int) -> AsyncIterator[int]:
        for i in range(n):
            await anyio.sleep(0)
            yield i


def test_a_sync_call_of_an_anyio_method_runs_on_asyncio() -> None:
    tally = Tally()
    assert tally.record(1) == 2
    assert list(tally.ticks(3)) == [0, 1, 2]
    assert tally.seen == [(1, "asyncio")]


def test_awaited_inside_trio_run() -> None:
    tally = Tally()

    async def main() -> tuple[int, list[int]]:
        return await tally.record(2), [i async for i in tally.ticks(2)]

    assert trio.run(main) == (4, [0, 1])
    assert tally.seen == [(2, "trio")]


def test_passed_to_trio_nursery_start_soon() -> None:
    tally = Tally()

    async def main() -> None:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(tally.record, 3)
            nursery.start_soon(tally.record, 4)

    trio.run(main)
    assert sorted(tally.seen) == [(3, "trio"), (4, "trio")]


def test_passed_to_trio_run() -> None:
    tally = Tally()
    assert trio.run(tally.record, 5) == 10
    assert tally.seen == [(5, "trio")]


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_passed_to_anyio_run(backend: str) -> None:
    tally = Tally()
    assert anyio.run(tally.record, 6, backend=backend) == 12
    assert tally.seen == [(6, backend)]


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_passed_to_anyio_task_group_start_soon(backend: str) -> None:
    tally = Tally()

    async def main() -> int:
        async with anyio.create_task_group() as tg:
            tg.start_soon(tally.record, 7)
        return await tally.record(8)

    assert anyio.run(main, backend=backend) == 16
    assert tally.seen == [(7, backend), (8, backend)]


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_anyio_worker_thread_gets_the_value(backend: str) -> None:
    tally = Tally()

    async def main() -> int:
        # In a worker thread no loop runs: the call runs there (on asyncio).
        return await anyio.to_thread.run_sync(tally.record, 9)

    assert anyio.run(main, backend=backend) == 18
    assert tally.seen == [(9, "asyncio")]


def test_anyio_from_thread_run_sync_still_gets_the_value() -> None:
    # Only the task-spawning functions count as async callers, not all of anyio.
    svc = Service()

    def in_worker() -> int:
        return anyio.from_thread.run_sync(svc.double, 6)  # type: ignore[no-any-return]

    async def main() -> int:
        return await anyio.to_thread.run_sync(in_worker)

    assert anyio.run(main) == 12


@pytest.mark.asyncio
async def test_awaited_under_asyncio() -> None:
    tally = Tally()
    assert await tally.record(10) == 20
    assert [i async for i in tally.ticks(2)] == [0, 1]
    assert tally.seen == [(10, "asyncio")]


@pytest.mark.asyncio
async def test_passed_to_anyio_task_group_under_asyncio() -> None:
    tally = Tally()
    async with anyio.create_task_group() as tg:
        tg.start_soon(tally.record, 11)
        tg.start_soon(tally.record, 12)
        tg.start_soon(triple, 1)  # a module-level function too
    assert sorted(tally.seen) == [(11, "asyncio"), (12, "asyncio")]


@pytest.mark.asyncio
async def test_awaited_and_passed_to_a_nursery_inside_trio_from_async_code() -> None:
    # A trio program inside a worker thread of this asyncio test.
    tally = Tally()

    def run_trio() -> int:
        async def main() -> int:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(tally.record, 13)
            awaitable: Awaitable[int] = tally.record(14)
            return await awaitable

        return trio.run(main)

    assert await asyncio.to_thread(run_trio) == 28
    assert tally.seen == [(13, "trio"), (14, "trio")]


# -- generator expressions that outlive the function they are written in ------


async def _escaping(service: Service, xs: Iterable[int]) -> Iterable[Any]:
    return (service.double(i) for i in xs)


def _escaping_from_sync(service: Service, xs: Iterable[int]) -> Iterable[Any]:
    return (service.double(i) for i in xs)


def _close_all(items: Iterable[Any]) -> None:
    for item in items:
        if inspect.iscoroutine(item):
            item.close()


def _by_hand(coro: Any) -> Any:
    """The value of a coroutine that never suspends, driven without a loop."""
    try:
        coro.send(None)
    except StopIteration as stop:
        return stop.value
    raise AssertionError("it suspended")


def test_an_escaped_generator_expression_keeps_the_answer_of_where_it_is_written() -> None:
    # Written in an `async def`, consumed by sync code after that function
    # returned: the calls still belong to the async function (what a type
    # checker sees), the first time as every later time.
    service = Service()
    for _ in range(3):
        items = list(_by_hand(_escaping(service, [1, 2])))
        assert len(items) == 2 and all(inspect.iscoroutine(item) for item in items)
        _close_all(items)
    # Written in sync code: values, wherever it is consumed.
    assert list(_escaping_from_sync(service, [1, 2])) == [2, 4]


@pytest.mark.asyncio
async def test_an_escaped_generator_expression_in_async_code() -> None:
    service = Service()
    gen = await _escaping(service, [3])
    results = [await item for item in gen]
    assert results == [6]
    # A sync function's generator expression consumed by async code: values.
    assert list(_escaping_from_sync(service, [3])) == [6]


@pytest.mark.asyncio
async def test_a_generator_expression_in_async_code_is_answered_inline_after_the_first_call() -> (
    None
):
    from smartasync import _rule

    service = Service()

    async def run() -> list[int]:
        return await asyncio.gather(*(service.double(i) for i in range(3)))

    assert await run() == [0, 2, 4]
    genexpr = next(c for c in run.__code__.co_consts if inspect.iscode(c))
    assert (
        _rule.async_comprehensions.get(id(genexpr)) is genexpr
    )  # remembered: a property of its code
    assert await run() == [0, 2, 4]


def test_a_sync_functions_generator_expression_is_never_remembered_as_async() -> None:
    from smartasync import _rule

    service = Service()

    def run() -> list[int]:
        return list(service.double(i) for i in range(3))  # noqa: C400  (a generator expression on purpose)

    assert run() == [0, 2, 4]
    genexpr = next(c for c in run.__code__.co_consts if inspect.iscode(c))
    assert id(genexpr) not in _rule.async_comprehensions
