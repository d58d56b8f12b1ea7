"""A bound dual method looks like a bound method to tools that inspect it
(issue 13, the first part): its attributes, weak references, docs, keyword
names and the names in its errors and tracebacks."""

from __future__ import annotations

import asyncio
import traceback
import weakref
from typing import Any

import pytest

from smartasync import SmartAsync, _speedups, smartasync

from .conftest import ROOT


def _marked(fn: Any) -> Any:
    fn.marker = "kept"  # as pytest.mark or a framework decorator leaves it
    return fn


class Service(SmartAsync):
    @_marked
    async def ping(self) -> str:
        """Answer with pong."""
        return "pong"

    async def fail(self) -> None:
        raise LookupError("missing")


@smartasync
async def keywords(**kw: Any) -> dict[str, Any]:
    return kw


def test_a_keyword_named_self_reaches_the_function_on_the_first_call() -> None:
    assert keywords(self=1) == {"self": 1}
    assert keywords.sync(self=2) == {"self": 2}
    assert asyncio.run(keywords.aio(self=3)) == {"self": 3}


@pytest.mark.asyncio
async def test_a_keyword_named_self_reaches_the_function_when_awaited() -> None:
    assert await keywords(self=4) == {"self": 4}


def test_bound_method_attributes_are_its_functions() -> None:
    bound: Any = Service().ping
    assert bound.__dict__["marker"] == "kept"
    assert vars(bound) is bound.__dict__
    assert bound.marker == "kept"  # read through, as a bound method reads its function's
    Service.__dict__["ping"].marker = "changed"
    try:
        fresh: Any = Service().ping
        assert fresh.marker == "changed"  # live, not a copy
    finally:
        Service.__dict__["ping"].marker = "kept"


def test_weak_method_round_trip_from_sync_code() -> None:
    service = Service()
    ref: Any = weakref.WeakMethod(service.ping)
    assert ref()() == "pong"
    del service
    assert ref() is None


@pytest.mark.asyncio
async def test_weak_method_round_trip_from_async_code() -> None:
    service = Service()
    ref: Any = weakref.WeakMethod(service.ping)
    assert await ref()() == "pong"


def test_sync_and_aio_carry_the_methods_doc() -> None:
    bound: Any = Service().ping
    assert bound.sync.__doc__ == bound.aio.__doc__ == "Answer with pong."


def test_argument_errors_name_the_method() -> None:
    bound: Any = Service().ping
    with pytest.raises(TypeError, match=r"^Service\.ping\(\) takes 1 positional argument"):
        bound(1, 2)
    with pytest.raises(TypeError, match=r"^Service\.ping(\.sync)?\(\) takes"):
        bound.sync(1, 2)


@pytest.mark.asyncio
async def test_argument_errors_name_the_method_in_async_code() -> None:
    bound: Any = Service().ping
    with pytest.raises(TypeError, match=r"^Service\.ping\(\) takes"):
        bound(1, 2)
    with pytest.raises(TypeError, match=r"^Service\.ping(\.aio)?\(\) takes"):
        bound.aio(1, 2)


def test_tracebacks_name_the_generated_code_by_its_method() -> None:
    from smartasync._dual import SPECIALISE_AT

    for use in range(SPECIALISE_AT + 1):
        with pytest.raises(LookupError) as info:
            Service().fail()
        frames = traceback.extract_tb(info.value.__traceback__)
        assert frames[0].name == "test_tracebacks_name_the_generated_code_by_its_method"
        assert frames[-1].name == "fail" and frames[-1].filename == __file__  # the user's coroutine
        # The first uses run generic code (see DualFunction.__get__); then the
        # one frame between caller and coroutine is the method's own, or none
        # when the C accelerator makes the call.
        if use >= SPECIALISE_AT:
            expected = (
                [] if _speedups.ACTIVE else [f"<smartasync generated {__name__}.Service.fail>"]
            )
            assert [frame.filename for frame in frames[1:-1]] == expected


def _module_with_client(name: str, source: str) -> Any:
    import types

    module = types.ModuleType(name)
    exec(compile(source, f"<{name}>", "exec"), module.__dict__)
    return module


def test_generated_code_of_same_named_methods_in_two_modules_keeps_its_own_lines() -> None:
    import linecache

    from smartasync._dual import SPECIALISE_AT

    # Two `Client.get` of different shapes (so, different generated source):
    # linecache keys each by module and name, so neither shows the other's.
    header = "import smartasync\nclass Client(smartasync.SmartAsync):\n"
    first = _module_with_client(
        "shop_a", header + "    async def get(self, x):\n        return x\n"
    )
    second = _module_with_client(
        "shop_b", header + "    async def get(self, x, *, y=1, z=2):\n        return x + y + z\n"
    )
    for _ in range(SPECIALISE_AT + 1):
        assert first.Client().get(1) == 1 and second.Client().get(1) == 4
    names = {}
    for module in (first, second):
        # (`.sync`: `__call__` is the C accelerator's when it is loaded)
        code = type(module.Client().get).sync.__code__
        names[module.__name__] = code.co_filename
        lines = "".join(linecache.getlines(code.co_filename))
        assert "def __call__" in lines
        assert ("y=" in lines) == (module is second), lines
    assert names == {
        "shop_a": "<smartasync generated shop_a.Client.get.sync>",
        "shop_b": "<smartasync generated shop_b.Client.get.sync>",
    }


def test_aio_is_a_coroutine_function() -> None:
    import inspect

    # On every Python: 3.12+ by the marker, 3.11 by a function-like `.aio`
    # whose __code__ is the async def's.  Before and after specialisation.
    service: Any = Service()
    for _ in range(6):
        bound = service.ping
        assert inspect.iscoroutinefunction(bound.aio)
        assert not inspect.iscoroutinefunction(bound.sync)
        assert inspect.iscoroutinefunction(Service.ping.aio)
        assert str(inspect.signature(bound.aio)) == str(inspect.signature(bound))
        bound.sync()


# -- inspect sees a method, with the method's signature on every face ----------


class Priced(SmartAsync):
    async def price(self, sku: str, qty: int = 1, *, currency: str = "EUR") -> float:
        """The price of `qty` items."""
        return 2.5 * qty

    @classmethod
    async def default(cls, sku: str) -> Priced:
        return cls()


@smartasync
async def fetch_rate(currency: str, /, *, fresh: bool = False) -> float:
    """The exchange rate."""
    return 1.25


# This module's annotations are strings (`from __future__ import annotations`).
_PRICE = "(sku: 'str', qty: 'int' = 1, *, currency: 'str' = 'EUR') -> 'float'"


def test_a_bound_dual_method_is_a_method_to_inspect() -> None:
    import inspect
    import types

    bound: Any = Priced().price
    assert inspect.ismethod(bound)
    assert type(bound) is not types.MethodType  # still the generated type underneath
    assert bound.__func__ is Priced.__dict__["price"]
    assert str(inspect.signature(bound)) == _PRICE
    assert inspect.iscoroutinefunction(bound)


@pytest.mark.asyncio
async def test_a_bound_dual_method_is_a_method_to_inspect_in_async_code() -> None:
    import inspect

    bound: Any = Priced().price
    assert inspect.ismethod(bound) and inspect.ismethod(Priced.default)
    assert await bound("x", 2) == 5.0


def test_sync_and_aio_have_the_methods_signature_and_annotations() -> None:
    import inspect

    bound: Any = Priced().price
    assert str(inspect.signature(bound.sync)) == _PRICE
    assert str(inspect.signature(bound.aio)) == _PRICE
    assert bound.sync("x", 2) == 5.0
    # A module-level dual function, before anything called it.
    assert (
        str(inspect.signature(fetch_rate.sync))
        == "(currency: 'str', /, *, fresh: 'bool' = False) -> 'float'"
    )
    assert str(inspect.signature(fetch_rate.aio)) == str(inspect.signature(fetch_rate))
    assert fetch_rate.sync.__doc__ == "The exchange rate."
    assert fetch_rate.sync("EUR") == 1.25


@pytest.mark.asyncio
async def test_sync_and_aio_signatures_in_async_code() -> None:
    import inspect

    cls_bound: Any = Priced.default
    assert str(inspect.signature(cls_bound.aio)) == "(sku: 'str') -> 'Priced'"
    assert isinstance(await cls_bound.aio("x"), Priced)
    assert await fetch_rate.aio("EUR", fresh=True) == 1.25


class Plain:
    def __init__(self) -> None:
        self.calls = 0

    async def hit(self, n: int) -> int:
        self.calls += n
        return self.calls

    @classmethod
    async def make(cls) -> Plain:
        return cls()


def test_decorating_a_bound_method_keeps_its_receiver() -> None:
    plain = Plain()
    hit: Any = smartasync(plain.hit)
    assert hit.__self__ is plain
    assert hit(2) == 2 and hit.sync(3) == 5 and plain.calls == 5
    make: Any = smartasync(Plain.make)
    assert make.__self__ is Plain
    assert isinstance(make(), Plain)


@pytest.mark.asyncio
async def test_decorating_a_bound_method_keeps_its_receiver_in_async_code() -> None:
    plain = Plain()
    hit: Any = smartasync(plain.hit)
    assert hit.__self__ is plain
    assert await hit(4) == 4
    # A dual bound method given a mode: same receiver, the mode's behaviour.
    forced: Any = smartasync(mode="sync")(Priced().price)
    assert forced("x") == 2.5


_TEST_CLASSES = """
import unittest

import pytest

from smartasync import SmartAsync, async_only


class TestShop(SmartAsync):
    async def helper(self):
        return 2

    def test_sync_method_calls_the_dual_one(self):
        assert self.helper() == 2

    # pytest-asyncio calls the test from its own sync wrapper before its loop
    # runs, so a dual test method would run there as sync code: @async_only
    # keeps a test coroutine a coroutine function (README, "limits").
    @pytest.mark.asyncio
    @async_only
    async def test_marked_for_pytest_asyncio(self):
        assert await self.helper() == 2


class TestCaseShop(SmartAsync, unittest.TestCase):
    async def helper(self):
        return 3

    async def test_dual_method_run_by_unittest(self):
        self.assertEqual(await self.helper(), 3)

    def test_sync(self):
        self.assertEqual(self.helper(), 3)
"""


def test_pytest_collects_and_runs_test_classes_with_dual_methods(tmp_path: Any) -> None:
    import os
    import subprocess
    import sys

    (tmp_path / "test_dual_classes.py").write_text(_TEST_CLASSES)
    # This checkout, as run_python gives it: the inner pytest runs in tmp_path,
    # where only an installed smartasync (maybe another checkout's) would be found.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONASYNCIODEBUG"}
    env["PYTHONPATH"] = str(ROOT)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "-W",
            "error",
            "-rA",
            "-o",
            "asyncio_default_fixture_loop_scope=function",
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "4 passed" in result.stdout, result.stdout
    assert "warning" not in result.stdout.lower(), result.stdout


@pytest.mark.asyncio
async def test_a_dual_test_method_awaited_from_async_code() -> None:
    namespace: dict[str, Any] = {}
    exec(compile(_TEST_CLASSES, "<test classes>", "exec"), namespace)
    shop = namespace["TestShop"]()
    assert await shop.test_marked_for_pytest_asyncio() is None
    assert shop.helper.__func__.__name__ == "helper"


# -- the first uses, before a method is specialised --------------------------------


class PickledOnce(SmartAsync):
    async def read(self) -> int:
        return 1


def _fresh() -> Any:
    class Fresh(SmartAsync):
        @_marked
        async def get(self, key: str, default: int = 0) -> int:
            """Look `key` up."""
            return len(key) + default

        @classmethod
        async def make(cls) -> Any:
            return cls()

    return Fresh


def test_a_method_used_once_is_a_full_method_without_generated_code() -> None:
    import inspect
    import pickle

    from smartasync._dual import GenericBound

    cls = _fresh()
    obj = cls()
    bound: Any = obj.get
    assert type(bound) is GenericBound  # nothing compiled yet
    assert (
        inspect.ismethod(bound) and bound.__self__ is obj and bound.__func__ is cls.__dict__["get"]
    )
    assert bound.marker == "kept" and bound.__doc__ == "Look `key` up."
    assert str(inspect.signature(bound)) == "(key: 'str', default: 'int' = 0) -> 'int'"
    assert bound == cls.__dict__["get"].__get__(obj, cls)
    assert weakref.WeakMethod(bound)() == bound
    once = PickledOnce()
    assert type(once.read) is GenericBound
    assert pickle.loads(pickle.dumps(once.read)).__func__ is PickledOnce.__dict__["read"]
    assert bound("abc", 1) == 4
    with pytest.raises(TypeError, match=r"Fresh\.get\(\) takes from 2 to 3 positional arguments"):
        bound(1, 2, 3)
    assert isinstance(cls.make(), cls)


@pytest.mark.asyncio
async def test_a_method_used_once_from_async_code() -> None:
    import inspect

    cls = _fresh()
    obj = cls()
    assert await obj.get("ab") == 2
    # `.sync`/`.aio` have the exact signature and doc from their first read,
    # before anything is compiled, and say what the specialised ones say.
    from smartasync._dual import GenericAio, GenericSync

    aio, sync = obj.get.aio, obj.get.sync
    assert type(aio) is GenericAio and type(sync) is GenericSync
    for face in (aio, sync):
        assert str(inspect.signature(face)) == "(key: 'str', default: 'int' = 0) -> 'int'"
        assert face.__doc__ == "Look `key` up."
    assert aio.__qualname__.endswith("Fresh.get.aio") and sync.__name__ == "sync"
    assert not inspect.iscoroutinefunction(sync)
    specialised_aio = _specialised(obj).get.aio
    assert inspect.iscoroutinefunction(aio) and inspect.iscoroutinefunction(specialised_aio)
    assert await obj.get.aio("abcd") == 4
    with pytest.raises(TypeError, match=r"Fresh\.get(\.aio)?\(\) missing 1 required positional"):
        await obj.get.aio()
    # A sync helper inside the test: .sync runs it on the sync loop.
    assert await asyncio.to_thread(lambda: sync("abc", 2)) == 5
    assert isinstance(await cls.make(), cls)


def _specialised(obj: Any) -> Any:
    from smartasync._dual import SPECIALISE_AT

    for _ in range(SPECIALISE_AT):
        obj.get.aio("x").close()
    return obj


def test_the_first_sync_and_aio_run_without_generated_code() -> None:
    import inspect

    from smartasync._dual import GenericSync

    cls = _fresh()
    obj = cls()
    sync = obj.get.sync
    assert type(sync) is GenericSync
    assert sync("ab", 1) == 3
    coro = obj.get.aio("abc")
    assert inspect.iscoroutine(coro)
    coro.close()
    assert cls.make.sync() is not None
    with pytest.raises(TypeError, match=r"Fresh\.get\(\) missing 1 required positional"):
        sync()


def test_a_method_is_specialised_after_a_few_uses_with_the_same_behaviour() -> None:
    from smartasync._dual import SPECIALISE_AT, GenericBound

    cls = _fresh()
    obj = cls()
    results = [obj.get("x", n) for n in range(SPECIALISE_AT + 2)]
    assert results == [1 + n for n in range(SPECIALISE_AT + 2)]
    assert type(obj.get) is not GenericBound  # specialised: the generated type
    assert type(obj.get).__name__ == "get"


def test_a_bound_method_kept_from_its_first_use_becomes_specialised_in_place() -> None:
    from smartasync._dual import SPECIALISE_AT, GenericBound

    cls = _fresh()
    obj = cls()
    kept: Any = obj.get  # read once, called many times (a stored callback)
    assert type(kept) is GenericBound
    assert [kept("ab", n) for n in range(SPECIALISE_AT + 3)] == [
        2 + n for n in range(SPECIALISE_AT + 3)
    ]
    specialised: Any = type(kept)
    assert specialised is not GenericBound and specialised.__name__ == "get"
    assert kept.__self__ is obj and kept.__func__ is cls.__dict__["get"] and kept.marker == "kept"


@pytest.mark.asyncio
async def test_a_kept_bound_method_follows_the_caller_rule_before_and_after() -> None:
    from smartasync._dual import SPECIALISE_AT, GenericBound

    cls = _fresh()
    obj = cls()
    kept: Any = obj.get
    assert type(kept) is GenericBound
    results = [await kept("abc", n) for n in range(SPECIALISE_AT + 3)]  # awaitables throughout
    assert results == [3 + n for n in range(SPECIALISE_AT + 3)]
    assert type(kept) is not GenericBound
    assert await asyncio.to_thread(kept, "a") == 1  # a worker thread's sync call: the value
    assert await asyncio.gather(*(kept("x", i) for i in range(3))) == [1, 2, 3]
