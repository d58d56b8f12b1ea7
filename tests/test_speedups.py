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
import importlib.util
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


def _walked() -> type:
    """A class whose walk meets every shape the first loop sorts."""

    import contextlib

    from smartasync import async_only, smartasync

    async def shared(self: Any) -> int:
        return 1

    shared.marker = "kept"  # type: ignore[attr-defined]

    class Walked:
        async def coro(self) -> int:
            return 1

        async def agen(self) -> Any:
            yield 1

        @contextlib.asynccontextmanager
        async def acm(self) -> Any:
            yield 1

        @async_only
        async def only(self) -> int:
            return 1

        def plain(self) -> int:
            return 1

        async def __dunder__(self) -> int:
            return 1

        @staticmethod
        async def static() -> int:
            return 1

        attribute = shared
        number = 3

    return smartasync(Walked)


def test_the_class_walk_makes_the_same_dual_functions() -> None:
    """The C walk (decoration's common case) and `member_dual` (the Python
    one) must make equal objects: same function, kind, mode, context, uses,
    names and copied function attributes; the rest left alone."""
    cls: Any = _walked()
    for name in ("coro", "agen", "acm", "attribute"):
        assert isinstance(vars(cls)[name], _dual.DualFunction), name
    assert isinstance(vars(cls)["static"].__func__, _dual.DualFunction)
    for name in ("only", "plain", "__dunder__"):
        assert not isinstance(vars(cls)[name], _dual.DualFunction), name
    assert vars(cls)["number"] == 3
    for name in ("coro", "agen", "attribute"):
        made = vars(cls)[name]
        fn = made.__wrapped__
        reference = _dual.member_dual(fn, made._kind, fn.__dict__)
        assert type(made) is type(reference) is _dual.DualFunction
        for attribute in ("__wrapped__", "_kind", "_mode", "_smart", "_uses", "__qualname__"):
            assert getattr(made, attribute) == getattr(reference, attribute), attribute
        assert made.__dict__ == reference.__dict__ == fn.__dict__
    assert vars(cls)["attribute"].marker == "kept"


def test_walked_methods_work_sync() -> None:
    """The C-made dual functions call as the Python ones do."""
    obj = _walked()()
    for _ in range(SPECIALISE_AT + 1):
        assert obj.coro() == 1 and list(obj.agen()) == [1] and obj.attribute() == 1
        with obj.acm() as value:
            assert value == 1


@pytest.mark.asyncio
async def test_walked_methods_work_async() -> None:
    """The same in async code."""
    obj = _walked()()
    for _ in range(SPECIALISE_AT + 1):
        assert await obj.coro() == 1 and [x async for x in obj.agen()] == [1]
        assert await obj.attribute() == 1 and await obj.only() == 1
        async with obj.acm() as value:
            assert value == 1


def _function() -> Any:
    from smartasync import smartasync

    @smartasync
    async def add(a: int, b: int = 0, *rest: int, k: int = 0) -> int:
        await asyncio.sleep(0)
        return a + b + sum(rest) + k

    for _ in range(SPECIALISE_AT):  # specialised (from sync code)
        add(1)
    return add


def test_a_dual_function_is_called_in_c_when_active_sync() -> None:
    """A module-level dual function's own calls: C once specialised."""
    add = _function()
    assert isinstance(vars(type(add))["__call__"], type(object.__str__)) == _speedups.ACTIVE
    assert add(1, 2) == 3 and add(1, 2, 3, 4, 5, 6, 7, 8, 9, k=1) == 46
    assert functools.partial(add, 1)(2, k=3) == 6
    assert list(map(add, [1, 2])) == [1, 2]
    before = sys.getrefcount(add)
    for i in range(1000):
        add(i, k=i)
    assert sys.getrefcount(add) == before


@pytest.mark.asyncio
async def test_a_dual_function_is_called_in_c_when_active_async() -> None:
    """The same in async code."""
    add = _function()
    assert await add(1, 2) == 3 and await add(1, 2, 3, 4, 5, 6, 7, 8, 9, k=1) == 46
    assert await functools.partial(add, 1)(2, k=3) == 6
    wrong: Any = add
    with pytest.raises(TypeError, match=r"add\(\) got an unexpected keyword argument 'z'"):
        wrong(1, z=2)
    before = sys.getrefcount(add)
    for i in range(1000):
        await add(i, k=i)
    assert sys.getrefcount(add) == before


@pytest.mark.parametrize("off", [False, True])
def test_info_says_whether_it_is_in_use(off: bool) -> None:
    """`python -m smartasync info`, for bug reports, tells the truth."""
    env = {key: value for key, value in os.environ.items() if key != _speedups.ENV}
    if off:
        env[_speedups.ENV] = "1"
    done = subprocess.run(
        [sys.executable, "-m", "smartasync", "info"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    line = done.stdout.splitlines()[-1]
    if off:
        assert line == f"C accelerator: not in use ({_speedups.ENV} is set)"
    elif importlib.util.find_spec("_smartasync_speedups") is not None:
        assert line == "C accelerator: active"
    else:
        assert line.startswith("C accelerator: not in use (not installed")
    assert done.stdout.startswith("smartasync ")


def test_a_subinterpreter_runs_pure_python_beside_it() -> None:
    """A legacy subinterpreter (mod_wsgi gives each application one) shares
    the loaded C module, whose state serves one interpreter: the second one
    must run pure Python, and both must keep working."""
    _testcapi = pytest.importorskip("_testcapi")
    obj = Many()
    specialise(obj)
    result = os.path.join(os.environ.get("TMPDIR", "/tmp"), f"subinterp-{os.getpid()}.txt")
    code = (
        "import asyncio\n"
        "from smartasync import SmartAsync, _speedups\n"
        "class C(SmartAsync):\n"
        "    async def m(self, x):\n"
        "        return x + 1\n"
        "c = C()\n"
        "values = [c.m(i) for i in range(6)]\n"
        "async def main():\n"
        "    return [await c.m(i) for i in range(6)]\n"
        "values += asyncio.run(main())\n"
        f"open({result!r}, 'w').write(repr((_speedups.ACTIVE, _speedups.WHY_NOT, values)))\n"
    )
    try:
        assert _testcapi.run_in_subinterp(code) == 0
        with open(result) as file:
            active, why_not, values = eval(file.read())
    finally:
        if os.path.exists(result):
            os.remove(result)
    assert values == [1, 2, 3, 4, 5, 6] * 2
    if _speedups.ACTIVE:
        assert (active, why_not) == (False, "in use by another interpreter of this process")
    assert obj.plus(1) == 2  # this interpreter's C path still works


def test_the_walk_holds_what_user_code_could_free() -> None:
    """A mark whose truth test (user code) replaces the function's __dict__
    must not leave the walk reading a freed dict: the dual function gets the
    attributes the function had when the walk met it, as in pure Python."""
    from smartasync import SmartAsync as Smart

    junk: list[Any] = []

    class Falsy:
        def __bool__(self) -> bool:
            method.__dict__ = {}
            junk.extend({i: object(), f"x{i}": i} for i in range(1000))  # reuse freed memory
            return False

    async def method(self: Any) -> int:
        return 1

    method.__dict__ = {"__smartasync_async_only__": Falsy(), "tag": "t"}
    walked: Any = type("Walked", (Smart,), {"m": method})
    dual = vars(walked)["m"]
    assert isinstance(dual, _dual.DualFunction)
    assert sorted(vars(dual)) == ["__smartasync_async_only__", "tag"] and vars(dual)["tag"] == "t"
