"""Misuse messages say what to do: `set_mode` on a method, `@async_only`
outside a class, and awaiting what a `sync`-mode object gave."""

from __future__ import annotations

import inspect
import sys
from typing import Any

import pytest

from smartasync import SmartAsync, async_only, set_mode, smartasync
from smartasync._rule import sync_result


class Tool(SmartAsync):
    async def run(self) -> int:
        return 1


class SyncTool(SmartAsync, mode="sync"):
    async def run(self) -> int:
        return 2

    @property
    async def size(self) -> int:
        return 3


async def module_level() -> None:
    pass


# -- set_mode on a method ------------------------------------------------------------


@pytest.mark.parametrize("mode", ["sync", "async", "auto"])
def test_set_mode_on_a_bound_dual_method_shows_the_spellings(mode: Any) -> None:
    with pytest.raises(TypeError) as caught:
        set_mode(Tool().run, mode)
    text = str(caught.value)
    assert "got the method Tool.run" in text
    assert f"set_mode(obj, {mode!r})` with the Tool instance itself" in text
    assert f"@smartasync(mode={mode!r})` over `async def run`" in text
    assert "class run(SmartAsync)" not in text
    spelling = {"sync": "obj.run.sync(...)", "async": "obj.run.aio(...)", "auto": "obj.run(...)"}
    assert spelling[mode] in text


def test_set_mode_on_the_function_or_a_plain_method_says_the_same() -> None:
    with pytest.raises(TypeError, match=r"got the method Tool\.run\. A mode belongs"):
        set_mode(Tool.run, "sync")

    class Plain:
        def go(self) -> None:
            pass

    with pytest.raises(TypeError, match=r"got the method .*Plain\.go\..*obj\.go\.sync"):
        set_mode(Plain().go, "sync")


@pytest.mark.asyncio
async def test_set_mode_on_a_method_from_async_code() -> None:
    with pytest.raises(TypeError, match=r"obj\.run\.aio\(\.\.\.\)"):
        set_mode(Tool().run, "async")


# -- @async_only outside a class -----------------------------------------------------


def test_async_only_on_a_module_level_function_is_an_error() -> None:
    with pytest.raises(TypeError, match="only matters on a method in the body of a smart class"):
        async_only(module_level)
    assert not hasattr(module_level, "__smartasync_async_only__")


def test_async_only_on_a_nested_function_is_an_error() -> None:
    async def helper() -> None:
        pass

    with pytest.raises(TypeError, match=r"remove @async_only, or move the function"):
        async_only(helper)


def test_async_only_in_a_class_body_still_works_also_inside_a_function() -> None:
    class Local(SmartAsync):
        @async_only
        async def raw(self) -> int:
            return 1

        @staticmethod
        @async_only
        async def raw_static() -> int:
            return 2

    coro = Local().raw()
    assert coro.__class__.__name__ == "coroutine"
    coro.close()
    static = Local.raw_static()
    assert static.__class__.__name__ == "coroutine"
    static.close()


@pytest.mark.asyncio
async def test_async_only_outside_a_class_from_async_code() -> None:
    async def helper() -> None:
        pass

    with pytest.raises(TypeError, match="not defined in a class"):
        async_only(helper)


# -- awaiting what a sync-mode object gave ---------------------------------------------


def _checked(value: Any) -> Any:
    """A call that hands its caller `value`, checked as a sync-mode result."""
    return sync_result(value, sys._getframe(1), "Tool.run")


def test_sync_code_gets_the_value_unchecked() -> None:
    assert _checked(5) == 5
    assert SyncTool().run() == 2 and SyncTool().size == 3


@pytest.mark.asyncio
async def test_awaiting_a_value_names_the_aio_spelling() -> None:
    with pytest.raises(TypeError) as caught:
        await _checked(5)
    text = str(caught.value)
    assert text.startswith("object int can't be used in 'await' expression: Tool.run ran")
    assert "'sync' mode" in text and "`await obj.run.aio(...)`" in text


@pytest.mark.asyncio
async def test_not_awaited_or_awaitable_results_pass() -> None:
    assert _checked(5) == 5  # a value kept, not awaited
    values = [_checked(i) for i in range(2)]
    assert values == [0, 1]

    async def inner() -> int:
        return 7

    assert await _checked(inner()) == 7  # an awaitable result may be awaited


@pytest.mark.asyncio
async def test_awaiting_a_sync_mode_property_names_the_aio_spelling() -> None:
    tool: Any = SyncTool()
    assert tool.size == 3
    with pytest.raises(
        TypeError, match=r"SyncTool\.size ran .* `await SyncTool\.size\.aio\(obj\)`"
    ):
        await tool.size


@pytest.mark.asyncio
async def test_awaiting_a_sync_mode_method_names_the_aio_spelling() -> None:
    tool: Any = SyncTool()
    with pytest.raises(TypeError, match=r"`await obj\.run\.aio\(\.\.\.\)`"):
        await tool.run()


@pytest.mark.asyncio
async def test_a_sync_mode_method_called_without_await_still_runs() -> None:
    tool: Any = SyncTool()
    assert tool.run() == 2
    assert await tool.run.aio() == 2


# A function marked as a coroutine function (3.12+) that returns another
# awaitable: the sync loop runs it as any other (it crashed on 3.12 and hung
# on 3.13: the inline path's half-made task reached cleanup), and gives the
# same answer on the inline path and the ordinary one (CI's fallback run).
needs_marker = pytest.mark.skipif(
    not hasattr(inspect, "markcoroutinefunction"), reason="inspect.markcoroutinefunction is 3.12+"
)


class _Awaitable:
    def __await__(self) -> Any:
        if False:
            yield
        return 7


def _marked_not_coroutine() -> Any:
    def make() -> Any:
        return _Awaitable()

    return smartasync(inspect.markcoroutinefunction(make))  # type: ignore[attr-defined,unused-ignore]


@needs_marker
def test_a_marked_function_returning_another_awaitable_runs_in_sync_code() -> None:
    fake = _marked_not_coroutine()
    for _ in range(6):  # generic, then specialised
        assert fake() == 7

    @smartasync
    async def real() -> int:
        return 1

    assert real() == 1  # the sync loop still runs

    def none() -> None:
        return None

    not_awaitable = smartasync(inspect.markcoroutinefunction(none))  # type: ignore[attr-defined,unused-ignore]
    with pytest.raises(TypeError):
        not_awaitable()
    assert real() == 1


@needs_marker
@pytest.mark.asyncio
async def test_a_marked_function_returning_another_awaitable_is_awaited_in_async_code() -> None:
    fake = _marked_not_coroutine()
    for _ in range(6):
        assert await fake() == 7
