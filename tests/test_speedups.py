"""The optional C accelerator (speedups/, DESIGN §8).

CI runs every runtime test twice, with the accelerator and with
SMARTASYNC_NO_EXTENSIONS=1, so the behaviours below (and all the others) are
checked on both implementations; the tests here aim at what only the C path
could get wrong: calls that reach it without its vectorcall (a bound object
made by `object.__new__` or whose class was swapped in place), argument
vectors without a free slot in front, reference counts, cycles, and the
loading rules themselves."""

from __future__ import annotations

import asyncio
import functools
import gc
import importlib.metadata
import os
import subprocess
import sys
import weakref
from typing import Any

import pytest

from smartasync import SmartAsync, _dual, _speedups
from smartasync._dual import SPECIALISE_AT


class Many(SmartAsync):
    """Enough parameters that no call fits the C path's small stack."""

    async def total(
        self, a: int, b: int, c: int, d: int, e: int, f: int, g: int, h: int, i: int, *, k: int = 0
    ) -> int:
        await asyncio.sleep(0)
        return a + b + c + d + e + f + g + h + i + k

    async def plus(self, x: int) -> int:
        return x + 1

    @classmethod
    async def name(cls, suffix: str) -> str:
        return cls.__name__ + suffix

    async def broken(self, x: int) -> int:
        raise LookupError(x)


def specialise(obj: Any) -> None:
    for _ in range(SPECIALISE_AT):
        obj.plus(0)
        obj.total(1, 2, 3, 4, 5, 6, 7, 8, 9)
        obj.name("")
        with pytest.raises(LookupError):
            obj.broken(0)


ARGS = tuple(range(1, 10))  # 45


def test_an_installed_companion_is_loaded() -> None:
    """Installed but not loaded would test pure Python twice in CI, and give
    users none of the speed they installed it for: a build that failed
    quietly shows here."""
    try:
        importlib.metadata.distribution("smartasync-speedups")
    except importlib.metadata.PackageNotFoundError:
        pytest.skip("smartasync-speedups is not installed (pip install ./speedups)")
    if os.environ.get(_speedups.ENV, "") not in ("", "0"):
        assert not _speedups.ACTIVE
        assert _speedups.ENV in _speedups.WHY_NOT
    else:
        assert _speedups.ACTIVE, _speedups.WHY_NOT
        assert _speedups.WHY_NOT == ""


def test_the_environment_variable_turns_it_off() -> None:
    """SMARTASYNC_NO_EXTENSIONS=1 must give pure Python, whatever is installed."""
    probe = (
        "from smartasync import _dual, _speedups\n"
        "print(_speedups.ACTIVE, _speedups.WHY_NOT)\n"
        "print([c.__module__ for c in _dual.DualBound.__mro__])\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe],
        env={**os.environ, _speedups.ENV: "1"},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    active, mro = done.stdout.splitlines()
    assert active == f"False {_speedups.ENV} is set"
    assert "_smartasync_speedups" not in mro


def test_specialised_methods_use_it_when_active() -> None:
    """With the accelerator, a specialised method is bound and called in C;
    without it, by the generated Python code (the reference)."""
    obj = Many()
    specialise(obj)
    bound_type = type(obj.plus)
    called_in_c = "__call__" not in vars(bound_type)
    assert called_in_c == _speedups.ACTIVE
    assert isinstance(obj.plus, _dual.DualBound)
    assert obj.plus.__self__ is obj and obj.plus.__qualname__ == "Many.plus"


def test_sync_calls_with_many_arguments_and_no_free_slot() -> None:
    """partial() and map() call without room in front of the arguments."""
    obj = Many()
    specialise(obj)
    assert obj.total(*ARGS) == 45
    assert obj.total(*ARGS, k=10) == 55
    assert functools.partial(obj.total, 1, 2, 3, 4)(5, 6, 7, 8, 9, k=1) == 46
    assert list(map(obj.plus, [1, 2, 3])) == [2, 3, 4]


@pytest.mark.asyncio
async def test_async_calls_with_many_arguments_and_no_free_slot() -> None:
    """The same in async code: the caller gets the awaitable."""
    obj = Many()
    specialise(obj)
    assert await obj.total(*ARGS) == 45
    assert await obj.total(*ARGS, k=10) == 55
    assert await functools.partial(obj.total, 1, 2, 3, 4)(5, 6, 7, 8, 9, k=1) == 46
    # a comprehension written in async code is an async caller
    assert await asyncio.gather(*(obj.plus(i) for i in range(3))) == [1, 2, 3]


def test_rebound_and_swapped_bound_objects_sync() -> None:
    """WeakMethod rebinds with `type(m)(func, obj)` (made in Python, not by
    the C binding), and a bound object kept across specialisation changes
    class in place: both must still call right."""
    obj = Many()
    kept = obj.plus  # generic: becomes the generated type at SPECIALISE_AT
    assert [kept(i) for i in range(SPECIALISE_AT + 2)] == list(range(1, SPECIALISE_AT + 3))
    assert type(kept) is type(obj.plus)
    method = weakref.WeakMethod(obj.plus)
    again = method()
    assert again is not None and again(41) == 42 and again == obj.plus


@pytest.mark.asyncio
async def test_rebound_and_swapped_bound_objects_async() -> None:
    """The same in async code."""
    obj = Many()
    kept = obj.plus
    assert [await kept(i) for i in range(SPECIALISE_AT + 2)] == list(range(1, SPECIALISE_AT + 3))
    method = weakref.WeakMethod(obj.plus)
    again = method()
    assert again is not None and await again(41) == 42


def test_class_methods_sync() -> None:
    """A dual classmethod binds to the class, read through class or instance."""
    obj = Many()
    specialise(obj)
    assert Many.name("!") == "Many!" and obj.name("?") == "Many?"
    assert Many.name.__self__ is Many and obj.name.__self__ is Many


@pytest.mark.asyncio
async def test_class_methods_async() -> None:
    """The same in async code."""
    obj = Many()
    specialise(obj)
    assert await Many.name("!") == "Many!" and await obj.name("?") == "Many?"


def test_errors_keep_their_message_and_close_the_coroutine() -> None:
    """Argument errors name the method; a failing call leaves no coroutine
    unclosed (warnings are errors here: "never awaited" would fail)."""
    obj = Many()
    specialise(obj)
    wrong: Any = obj.plus  # (called wrongly on purpose)
    with pytest.raises(TypeError, match=r"^Many\.plus\(\) takes 2 positional arguments"):
        wrong(1, 2)
    with pytest.raises(TypeError, match=r"^Many\.plus\(\) got an unexpected keyword"):
        wrong(1, y=2)
    with pytest.raises(LookupError):
        obj.broken(3)
    gc.collect()


@pytest.mark.asyncio
async def test_errors_in_async_code() -> None:
    """The same in async code: argument errors at the call, others at the await."""
    obj = Many()
    specialise(obj)
    wrong: Any = obj.plus
    with pytest.raises(TypeError, match=r"^Many\.plus\(\) takes 2 positional arguments"):
        wrong(1, 2)
    with pytest.raises(LookupError):
        await obj.broken(3)


def _counts(obj: Any) -> tuple[int, int, int]:
    return (
        sys.getrefcount(obj),
        sys.getrefcount(vars(Many)["plus"]),
        sys.getrefcount(type(obj.plus)),
    )


def test_calls_leak_no_references_sync() -> None:
    """A reference kept per call would grow without bound in a long-lived
    service: counts before and after many calls of each kind are equal."""
    obj = Many()
    specialise(obj)
    wrong: Any = obj.plus
    before = _counts(obj)
    for i in range(2000):
        obj.plus(i)
        obj.total(*ARGS, k=i)
        functools.partial(obj.total, *ARGS)(k=1)
        try:
            obj.broken(i)
        except LookupError:
            pass
        try:
            wrong(1, 2)
        except TypeError:
            pass
    assert _counts(obj) == before


@pytest.mark.asyncio
async def test_calls_leak_no_references_async() -> None:
    """The same for awaited calls."""
    obj = Many()
    specialise(obj)
    before = _counts(obj)
    for i in range(2000):
        await obj.plus(i)
        await obj.total(*ARGS, k=i)
        try:
            await obj.broken(i)
        except LookupError:
            pass
    assert _counts(obj) == before


def test_a_bound_method_kept_on_its_object_is_collected() -> None:
    """`obj.cb = obj.m` is a cycle through the bound object: the collector
    must see it (the C type takes part in garbage collection)."""
    obj = Many()
    specialise(obj)
    obj.callback = obj.plus  # type: ignore[attr-defined]
    gone = weakref.ref(obj)
    del obj
    gc.collect()
    assert gone() is None
