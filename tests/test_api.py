"""The public surface: names, and clear errors for bad input."""

from __future__ import annotations

import asyncio
import contextlib
import inspect
from typing import Any

import pytest

import smartasync
from smartasync import SmartAsync, async_only, get_mode, set_mode


def test_all_lists_exactly_the_public_names() -> None:
    public = {name for name in vars(smartasync) if not name.startswith("_")}
    public -= {"annotations"}  # from __future__
    # submodules imported as a side effect are not API
    public = {name for name in public if not inspect.ismodule(getattr(smartasync, name))}
    assert set(smartasync.__all__) == public
    for name in ("smartasync", "SmartAsync", "async_only", "set_mode", "get_mode", "Mode"):
        assert name in smartasync.__all__


def test_mode_is_the_literal_of_three_modes() -> None:
    from typing import get_args

    assert set(get_args(smartasync.Mode)) == {"auto", "sync", "async"}


# -- smartasync on the wrong thing ------------------------------------------------------


def plain_function(x: int) -> int:
    return x


@pytest.mark.parametrize(
    ("target", "named"),
    [
        (plain_function, "plain_function"),
        (lambda: 1, "lambda"),
        (object(), "instance of object"),
        (42, "instance of int"),
        (print, "print"),
    ],
)
def test_smartasync_rejects_what_is_not_async(target: Any, named: str) -> None:
    with pytest.raises(TypeError) as info:
        smartasync.smartasync(target)
    message = str(info.value)
    assert named in message
    assert "async def" in message and "class" in message


def test_smartasync_with_mode_rejects_what_is_not_async_when_applied() -> None:
    decorator = smartasync.smartasync(mode="sync")
    with pytest.raises(TypeError, match="plain_function"):
        decorator(plain_function)  # type: ignore[arg-type]  # deliberately wrong


@pytest.mark.parametrize("mode", ["fast", "SYNC", "", None, 1])
def test_unknown_modes_are_rejected_with_the_valid_list(mode: Any) -> None:
    if mode is None:
        return  # None means "no mode" for smartasync(); set_mode rejects it below
    with pytest.raises(ValueError, match="'auto', 'sync' and 'async'"):
        smartasync.smartasync(mode=mode)
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


def test_set_mode_on_a_slotted_instance_says_what_to_add() -> None:
    class Slotted(SmartAsync):
        __slots__ = ("value",)

        async def get(self) -> int:
            return 1

    with pytest.raises(TypeError, match="_smartasync_mode"):
        set_mode(Slotted(), "sync")

    class Roomy(SmartAsync):
        __slots__ = ("_smartasync_mode", "value")

        async def get(self) -> int:
            return 1

    roomy = Roomy()
    assert roomy.get() == 1  # the empty slot falls back to the class mode
    set_mode(roomy, "async")
    coro = roomy.get()
    assert inspect.iscoroutine(coro)
    coro.close()
    assert get_mode(roomy) == "async" and get_mode(Roomy()) == "auto"


def test_get_mode_rejects_unrelated_objects() -> None:
    with pytest.raises(TypeError, match="smart"):
        get_mode(object())
    with pytest.raises(TypeError, match="smart"):
        get_mode(int)


def test_get_mode_on_functions_and_bound_methods() -> None:
    @smartasync.smartasync(mode="sync")
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


def test_async_only_rejects_what_is_not_async() -> None:
    with pytest.raises(TypeError, match="async def"):
        async_only(plain_function)

    @smartasync.smartasync
    async def dual() -> None:
        pass

    with pytest.raises(TypeError, match="already"):
        async_only(dual)


def test_decorating_twice_is_harmless_and_can_change_the_mode() -> None:
    @smartasync.smartasync
    async def f() -> int:
        return 1

    assert smartasync.smartasync(f) is f
    forced = smartasync.smartasync(mode="async")(f)
    coro = forced()
    assert inspect.iscoroutine(coro)
    assert asyncio.run(coro) == 1


def test_static_and_class_methods_in_either_decorator_order() -> None:
    class Plain:
        @smartasync.smartasync
        @staticmethod
        async def s1() -> int:
            return 1

        @staticmethod
        @smartasync.smartasync
        async def s2() -> int:
            return 2

        @smartasync.smartasync
        @classmethod
        async def c1(cls) -> str:
            return cls.__name__

    assert Plain.s1() == 1 and Plain().s2() == 2
    assert Plain.c1() == "Plain" and Plain().c1.sync() == "Plain"


@pytest.mark.asyncio
async def test_static_and_class_methods_from_async_code() -> None:
    class Plain:
        @smartasync.smartasync
        @staticmethod
        async def s1() -> int:
            return 1

        @smartasync.smartasync
        @classmethod
        async def c1(cls) -> str:
            return cls.__name__

    assert await Plain.s1() == 1
    assert await Plain.c1() == "Plain"


def test_async_context_manager_functions_are_accepted() -> None:
    @smartasync.smartasync
    @contextlib.asynccontextmanager
    async def opened(name: str) -> Any:
        yield name.upper()

    with opened("a") as value:
        assert value == "A"
