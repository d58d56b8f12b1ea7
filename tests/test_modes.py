"""Modes: the three names and their validation, `set_mode` and `get_mode`,
which mode wins (explicit form, then instance, then method, then class), and
what a `sync`-mode call does wherever it is made, nested calls included.

Modes are run-time only: a type checker types a bare call by the auto rule,
so results that a mode changes are read through `Any` or an ignore."""

from __future__ import annotations

import asyncio
import inspect
import threading
from typing import Any, get_args

import pytest

import smartasync as package
from smartasync import SmartAsync, get_mode, set_mode, smartasync
from smartasync._engine import sync_loop


class Scaler(SmartAsync):
    def __init__(self, factor: int = 2) -> None:
        self.factor = factor

    async def scale(self, x: int) -> int:
        await asyncio.sleep(0)
        return x * self.factor


@smartasync
class Decorated:
    async def hello(self, name: str) -> str:
        return f"hello {name}"


class Slotted(SmartAsync):
    __slots__ = ("value",)

    async def get(self) -> int:
        return 1


class Roomy(SmartAsync):
    """Slotted, with the slot a mode needs."""

    __slots__ = ("_smartasync_mode", "value")

    async def get(self) -> int:
        return 1


# -- the names and their validation ---------------------------------------------------


def test_mode_is_the_literal_of_three_modes() -> None:
    assert set(get_args(package.Mode)) == {"auto", "sync", "async"}


@pytest.mark.parametrize("mode", ["fast", "SYNC", "", None, 1])
def test_unknown_modes_are_rejected_with_the_valid_list(mode: Any) -> None:
    if mode is None:
        return  # None means "no mode" for smartasync(); set_mode rejects it below
    with pytest.raises(ValueError, match="'auto', 'sync' and 'async'"):
        smartasync(mode=mode)
    with pytest.raises(ValueError, match="'auto', 'sync' and 'async'"):

        class Tool(SmartAsync, mode=mode):
            pass


def test_set_mode_rejects_unknown_modes() -> None:
    class Tool(SmartAsync):
        pass

    for bad in ("fast", None, 3):
        with pytest.raises(ValueError, match="valid modes"):
            set_mode(Tool(), bad)  # type: ignore[arg-type]


def test_set_mode_on_a_non_smart_object_says_how_to_make_it_smart() -> None:
    class Plain:
        pass

    with pytest.raises(TypeError) as info:
        set_mode(Plain(), "sync")
    assert "SmartAsync" in str(info.value) and "@smartasync" in str(info.value)


def test_set_mode_on_a_class_says_where_class_modes_go() -> None:
    class Tool(SmartAsync):
        pass

    with pytest.raises(TypeError, match=r"mode='sync'"):
        set_mode(Tool, "sync")


def test_get_mode_rejects_unrelated_objects() -> None:
    with pytest.raises(TypeError, match="smart"):
        get_mode(object())
    with pytest.raises(TypeError, match="smart"):
        get_mode(int)


def test_get_mode_on_functions_and_bound_methods() -> None:
    @smartasync(mode="sync")
    async def f() -> None:
        pass

    class Tool(SmartAsync, mode="async"):
        async def run(self) -> None:
            pass

    assert get_mode(f) == "sync"
    tool = Tool()
    assert get_mode(tool.run) == "async"
    set_mode(tool, "sync")
    assert get_mode(tool.run) == "sync"


@pytest.mark.asyncio
async def test_set_mode_and_get_mode_from_async_code() -> None:
    @smartasync(mode="sync")
    async def f() -> None:
        pass

    tool = Scaler()
    assert get_mode(f) == "sync" and get_mode(tool) == "auto"
    set_mode(tool, "async")
    assert get_mode(tool) == "async" and get_mode(tool.scale) == "async"
    with pytest.raises(ValueError, match="valid modes"):
        set_mode(tool, "fast")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"mode='sync'"):
        set_mode(Scaler, "sync")
    with pytest.raises(TypeError, match="smart"):
        get_mode(object())


def test_set_mode_on_a_slotted_instance_says_what_to_add() -> None:
    with pytest.raises(TypeError, match="_smartasync_mode"):
        set_mode(Slotted(), "sync")

    roomy = Roomy()
    assert roomy.get() == 1  # the empty slot falls back to the class mode
    set_mode(roomy, "async")
    coro = roomy.get()
    assert inspect.iscoroutine(coro)
    coro.close()
    assert get_mode(roomy) == "async" and get_mode(Roomy()) == "auto"


@pytest.mark.asyncio
async def test_a_slotted_instance_with_a_mode_slot_from_async_code() -> None:
    with pytest.raises(TypeError, match="_smartasync_mode"):
        set_mode(Slotted(), "sync")

    roomy: Any = Roomy()
    assert await roomy.get() == 1  # the empty slot falls back to the class mode
    set_mode(roomy, "sync")
    assert roomy.get() == 1
    assert get_mode(roomy) == "sync" and get_mode(Roomy()) == "auto"


# -- decorating and subclassing with a mode ---------------------------------------------


def test_decorating_twice_is_harmless_and_can_change_the_mode() -> None:
    @smartasync
    async def f() -> int:
        return 1

    assert smartasync(f) is f
    forced = smartasync(mode="async")(f)
    coro = forced()
    assert inspect.iscoroutine(coro)
    assert asyncio.run(coro) == 1


@pytest.mark.asyncio
async def test_decorating_again_with_a_mode_from_async_code() -> None:
    @smartasync
    async def f() -> int:
        return 1

    assert smartasync(f) is f
    forced: Any = smartasync(mode="sync")(f)
    assert forced() == 1
    assert await f() == 1  # the first decoration keeps its own mode


def test_decorator_mode_on_a_class() -> None:
    @smartasync(mode="async")
    class Tool:
        async def run(self) -> int:
            return 3

    coro = Tool().run()
    assert inspect.iscoroutine(coro)
    assert asyncio.run(coro) == 3
    assert Tool().run.sync() == 3


@pytest.mark.asyncio
async def test_decorator_mode_on_a_class_from_async_code() -> None:
    @smartasync(mode="sync")
    class Tool:
        async def run(self) -> int:
            return 3

    tool: Any = Tool()
    assert tool.run() == 3
    assert await tool.run.aio() == 3


def test_subclass_can_set_its_own_mode_in_the_decorator_form() -> None:
    class Forced(Decorated, mode="async"):
        pass

    coro = Forced().hello("x")
    assert inspect.iscoroutine(coro)
    coro.close()
    assert get_mode(Forced) == "async"


@pytest.mark.asyncio
async def test_subclass_mode_in_the_decorator_form_from_async_code() -> None:
    class Forced(Decorated, mode="sync"):
        pass

    forced: Any = Forced()
    assert forced.hello("x") == "hello x"
    assert await Decorated().hello("y") == "hello y"  # the base keeps auto
    assert get_mode(Forced) == "sync"


def test_a_per_method_decorator_in_a_plain_class_works_without_modes() -> None:
    class Plain:
        @smartasync
        async def value(self) -> int:
            return 1

    assert Plain().value() == 1
    with pytest.raises(TypeError, match="not a smart class"):
        set_mode(Plain(), "sync")


@pytest.mark.asyncio
async def test_a_per_method_decorator_in_a_plain_class_from_async_code() -> None:
    class Plain:
        @smartasync
        async def value(self) -> int:
            return 1

    assert await Plain().value() == 1
    with pytest.raises(TypeError, match="not a smart class"):
        set_mode(Plain(), "async")


# -- which mode wins ------------------------------------------------------------------------


def test_two_instances_with_different_modes() -> None:
    a, b = Scaler(), Scaler()
    set_mode(a, "async")
    coro = a.scale(1)
    assert inspect.iscoroutine(coro)
    assert asyncio.run(coro) == 2
    assert b.scale(1) == 2
    assert get_mode(a) == "async" and get_mode(b) == "auto"


@pytest.mark.asyncio
async def test_sync_mode_instance_runs_to_completion_from_async_code() -> None:
    a, b = Scaler(), Scaler()
    set_mode(a, "sync")
    assert a.scale(2) == 4  # type: ignore[comparison-overlap]  # blocks, on the background loop
    assert await b.scale(2) == 4


def test_class_mode_and_method_mode() -> None:
    class Tool(SmartAsync, mode="async"):
        async def run(self) -> int:
            return 1

        @smartasync(mode="sync")
        async def always_sync(self) -> int:
            return 2

    tool = Tool()
    coro = tool.run()
    assert inspect.iscoroutine(coro)
    coro.close()
    assert tool.always_sync() == 2
    set_mode(tool, "auto")  # the instance mode wins over the method and class mode
    assert tool.run() == 1
    assert tool.always_sync() == 2  # auto from sync code: runs


@pytest.mark.asyncio
async def test_method_mode_sync_blocks_even_from_async_code() -> None:
    class Tool(SmartAsync):
        @smartasync(mode="sync")
        async def always_sync(self) -> int:
            return 2

    assert Tool().always_sync() == 2  # type: ignore[comparison-overlap]  # mode is run-time only


@pytest.mark.asyncio
async def test_class_mode_and_method_mode_from_async_code() -> None:
    class Tool(SmartAsync, mode="sync"):
        async def run(self) -> int:
            return 1

        @smartasync(mode="async")
        async def always_async(self) -> int:
            return 2

    tool: Any = Tool()
    assert tool.run() == 1  # the class mode
    assert await tool.always_async() == 2  # the method mode over the class mode
    set_mode(tool, "auto")  # the instance mode wins over the method and class mode
    assert await tool.run() == 1
    assert await tool.always_async() == 2


def test_a_call_through_the_class_reads_the_receivers_mode_from_sync_code() -> None:
    class Tool(SmartAsync, mode="async"):
        async def run(self, x: int) -> int:
            return x + 1

    tool = Tool()
    coro: Any = Tool.run(tool, 1)  # async mode, even from sync code
    assert inspect.iscoroutine(coro)
    assert asyncio.run(coro) == 2
    set_mode(tool, "auto")
    assert Tool.run(tool, 2) == 3


@pytest.mark.asyncio
async def test_a_call_through_the_class_reads_the_receivers_mode() -> None:
    class Tool(SmartAsync, mode="sync"):
        async def run(self, x: int) -> int:
            return x + 1

    tool = Tool()
    assert Tool.run(tool, 1) == 2  # type: ignore[comparison-overlap]  # sync mode, even from async code
    set_mode(tool, "auto")
    assert await Tool.run(tool, 2) == 3


def test_explicit_forms_ignore_every_mode_from_sync_code() -> None:
    obj = Scaler()
    set_mode(obj, "sync")
    assert asyncio.run(obj.scale.aio(2)) == 4
    set_mode(obj, "async")
    assert obj.scale.sync(2) == 4


@pytest.mark.asyncio
async def test_explicit_forms_ignore_every_mode() -> None:
    obj = Scaler()
    set_mode(obj, "async")
    assert obj.scale.sync(2) == 4
    set_mode(obj, "sync")
    assert await obj.scale.aio(2) == 4


def test_modes_are_per_instance_across_threads() -> None:
    a = Scaler()
    set_mode(a, "async")
    results: list[Any] = []

    def worker() -> None:
        b = Scaler()
        results.append(b.scale(1))
        coro = a.scale(1)
        results.append(inspect.iscoroutine(coro))
        coro.close()  # type: ignore[attr-defined]  # async mode: types follow the auto rule

    thread = threading.Thread(target=worker)
    thread.start()
    thread.join()
    assert results == [2, True]


@pytest.mark.asyncio
async def test_modes_are_per_instance_across_threads_from_async_code() -> None:
    a: Any = Scaler()
    set_mode(a, "sync")

    def worker() -> tuple[int, int]:
        return a.scale(1), Scaler().scale(2)

    assert await asyncio.to_thread(worker) == (2, 4)
    assert a.scale(3) == 6  # sync mode here too
    assert await Scaler().scale(3) == 6  # other instances keep auto


# -- sync mode inside a sync call: nested blocking calls ------------------------------------


@pytest.mark.asyncio
async def test_a_nested_blocking_call_inside_a_loop_runs_on_a_secondary_loop() -> None:
    class Tool(SmartAsync, mode="sync"):
        async def inner(self) -> asyncio.AbstractEventLoop:
            return asyncio.get_running_loop()

        async def outer(self) -> tuple[asyncio.AbstractEventLoop, asyncio.AbstractEventLoop]:
            # Forced sync from inside the sync loop: the sync loop is blocked
            # by this very call, so the inner one runs on a secondary loop.
            inner = self.inner()
            return asyncio.get_running_loop(), inner  # type: ignore[return-value]

    result: Any = Tool().outer()  # mode is run-time only: a value, in async code
    outer_loop, inner_loop = result
    assert outer_loop is sync_loop()
    assert inner_loop is not outer_loop
    assert inner_loop is not asyncio.get_running_loop()


def test_forced_sync_inside_a_sync_call_still_works() -> None:
    class Tool(SmartAsync, mode="sync"):
        async def inner(self) -> int:
            return 2

        async def outer(self) -> int:
            value = self.inner()  # forced sync from inside this thread's loop
            return value + 1  # type: ignore[operator]  # mode is run-time only

    assert Tool().outer() == 3
