"""The public surface: names, and clear errors for bad input (for modes, see test_modes)."""

from __future__ import annotations

import contextlib
import inspect
from typing import Any

import pytest

import smartasync
from smartasync import async_only


def test_all_lists_exactly_the_public_names() -> None:
    public = {name for name in vars(smartasync) if not name.startswith("_")}
    public -= {"annotations"}  # from __future__
    # submodules imported as a side effect are not API
    public = {name for name in public if not inspect.ismodule(getattr(smartasync, name))}
    assert set(smartasync.__all__) == public
    for name in ("smartasync", "SmartAsync", "async_only", "set_mode", "get_mode", "Mode"):
        assert name in smartasync.__all__


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


def test_async_only_rejects_what_is_not_async() -> None:
    with pytest.raises(TypeError, match="async def"):
        async_only(plain_function)

    @smartasync.smartasync
    async def dual() -> None:
        pass

    with pytest.raises(TypeError, match="already"):
        async_only(dual)


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
