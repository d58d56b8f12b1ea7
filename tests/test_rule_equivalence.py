"""The call rule is applied in three places that must agree: the generic code
of a method's first calls, the generated fast path of a specialised method
(`_rule.INLINE`), and the slow path (`_dispatch`, the rule in full).  Here
the same class is built three ways and called from the same callers (sync,
async, comprehensions, lambdas, async generators, worker threads, frameworks'
scheduling code, user functions named like it) under every mode and home;
the answers must be equal, and must be what DESIGN §2 says.  Birth homes
(`_home`'s own inline test) must agree with the same rule, and so must
async properties."""

from __future__ import annotations

import asyncio
import inspect
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import anyio
import pytest
import trio

from smartasync import SmartAsync, _codegen, _dual, _engine, _home, _nested, _rule, set_mode
from smartasync._modes import NO_MODE, SYNC_BORN, SYNC_LOOP, Home, hot_for

Outcome = tuple[str, ...]
VARIANTS = ("generic", "fast", "slow")


def outcome(result: Any) -> Outcome:
    """What a caller got: the awaitable or the value.  An awaitable given to
    sync code is run here (one that would go to a home loop when awaited
    owns the method's coroutine, which closing it would leave unclosed); in
    async code it is closed, never started."""
    if inspect.iscoroutine(result):
        if asyncio_running():
            # (One carried to another loop holds the method's coroutine, and
            # closes it when closed itself: see _home._Carry.)
            result.close()
        else:
            asyncio.run(result)
        return ("awaitable",)
    return ("value", repr(result))


def asyncio_running() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


def guarded(call: Callable[[], Any]) -> Outcome:
    try:
        return outcome(call())
    except RuntimeError as exc:  # a blocking call where it cannot wait: part of the answer
        return ("RuntimeError", str(exc).partition("(")[0])


def where() -> str:
    """Which loop a call ran on: the answer includes it, so a path that ran
    a call inline where another carries it to a home shows."""
    if not asyncio_running():
        return "trio"
    loop = asyncio.get_running_loop()
    if _engine.is_sync_loop(loop):
        return "the sync loop"
    return "a secondary loop" if _nested.owns(loop) else "another loop"


def make(variant: str, class_mode: str | None, loop_bound: bool) -> Any:
    """A fresh class with one coroutine method and one async property, whose
    method is left generic, specialised, or specialised without its fast path."""
    keywords: dict[str, Any] = {"loop_bound": loop_bound}
    if class_mode is not None:
        keywords["mode"] = class_mode

    class Service(SmartAsync, **keywords):
        async def __aenter__(self) -> Service:
            return self

        async def __aexit__(self, *exc_info: object) -> None:
            return None

        async def double(self, x: int) -> tuple[int, str]:
            return 2 * x, where()

        @property
        async def size(self) -> int:
            return 3

    dual = Service.__dict__["double"]
    if variant == "generic":
        dual._uses = -(10**9)  # never reaches _dual.SPECIALISE_AT
    elif variant == "fast":
        dual._specialize()
    else:
        build = _codegen.build

        def without_fast_path(*args: Any, **kwargs: Any) -> Any:
            return build(*args, **{**kwargs, "fast_path": False})

        _dual._codegen.build = without_fast_path  # type: ignore[attr-defined]
        try:
            dual._specialize()
        finally:
            _dual._codegen.build = build  # type: ignore[attr-defined]
    return Service


# -- the callers: each returns what its call site got ---------------------------------


def sync_caller(o: Any) -> Outcome:
    return guarded(lambda: o.double(1))


def wrapper(o: Any) -> Outcome:  # named like anyio's scheduling wrapper
    return guarded(lambda: o.double(1))


class TaskGroup:  # qualified names like anyio's, in another module: sync code
    def start_soon(self, o: Any) -> Outcome:
        return guarded(lambda: o.double(1))

    def _spawn(self, o: Any) -> Outcome:
        return guarded(lambda: o.double(1))


def sync_genexpr(o: Any) -> Outcome:
    return next(guarded(lambda: o.double(i)) for i in range(1))  # noqa: B023  (called at once)


def sync_direct(o: Any) -> Outcome:
    """The call written in the caller's own frame (the others go through a lambda)."""
    try:
        return outcome(o.double(1))
    except RuntimeError as exc:
        return ("RuntimeError", str(exc).partition("(")[0])


def sync_listcomp_direct(o: Any) -> Outcome:
    try:
        return [outcome(o.double(i)) for i in range(1)][0]  # noqa: RUF015  (a comprehension frame on purpose)
    except RuntimeError as exc:
        return ("RuntimeError", str(exc).partition("(")[0])


async def async_direct(o: Any) -> Outcome:
    return outcome(o.double(1))


async def async_listcomp(o: Any) -> Outcome:
    return [outcome(o.double(i)) for i in range(1)][0]  # noqa: RUF015  (as above)


async def async_genexpr(o: Any) -> Outcome:
    return next(outcome(o.double(i)) for i in range(1))


async def async_genexpr_consumed_by_sync_code(o: Any) -> Outcome:
    return list(map(lambda x: x, (outcome(o.double(i)) for i in range(1))))[0]  # noqa: C417, RUF015


async def async_dictcomp(o: Any) -> Outcome:
    return {i: outcome(o.double(i)) for i in range(1)}[0]


async def async_lambda(o: Any) -> Outcome:
    return guarded(lambda: o.double(1))  # a lambda is sync code


async def async_generator_caller(o: Any) -> Outcome:
    async def steps() -> AsyncIterator[Outcome]:
        yield outcome(o.double(1))

    return [step async for step in steps()][0]  # noqa: RUF015  (as above)


async def async_property(o: Any) -> Outcome:
    return outcome(o.size)


def sync_property(o: Any) -> Outcome:
    return guarded(lambda: o.size)


SYNC_CALLERS: dict[str, Callable[[Any], Outcome]] = {
    "sync": sync_caller,
    "sync, direct": sync_direct,
    "sync list comprehension": sync_listcomp_direct,
    "sync generator expression": sync_genexpr,
    "a user's `wrapper`": wrapper,
    "a user's TaskGroup.start_soon": lambda o: TaskGroup().start_soon(o),
    "a user's TaskGroup._spawn": lambda o: TaskGroup()._spawn(o),
}
ASYNC_CALLERS: dict[str, Callable[[Any], Any]] = {
    "async": async_direct,
    "async list comprehension": async_listcomp,
    "async generator expression": async_genexpr,
    "async generator expression, consumed by sync code": async_genexpr_consumed_by_sync_code,
    "async dict comprehension": async_dictcomp,
    "lambda in async code": async_lambda,
    "async generator": async_generator_caller,
}
# (class mode, instance mode set with set_mode)
MODES = [(None, None), ("sync", None), ("async", None), (None, "sync"), (None, "async")]


def expected(caller_is_async: bool, class_mode: str | None, own: str | None) -> str:
    """DESIGN §2: the instance's mode, else the class's, else the caller decides."""
    mode = own or class_mode or "auto"
    if mode == "auto":
        return "awaitable" if caller_is_async else "value"
    return "awaitable" if mode == "async" else "value"


def instances(
    class_mode: str | None, own: str | None, loop_bound: bool
) -> Iterator[tuple[str, Any]]:
    for variant in VARIANTS:
        obj = make(variant, class_mode, loop_bound)()
        if own is not None:
            set_mode(obj, own)  # type: ignore[arg-type]
        yield variant, obj


def answers(
    callers: dict[str, Callable[[Any], Outcome]],
    class_mode: str | None,
    own: str | None,
    loop_bound: bool,
) -> dict[tuple[str, str], Outcome]:
    table = {}
    for variant, obj in instances(class_mode, own, loop_bound):
        for name, caller in callers.items():
            for _ in range(2):  # the second call: a comprehension remembered (fast path)
                table[variant, name] = caller(obj)
    return table


def check_same(table: dict[tuple[str, str], Outcome], names: list[str]) -> None:
    for name in names:
        got = {variant: table[variant, name] for variant in VARIANTS}
        assert len(set(got.values())) == 1, (name, got)


# -- sync callers -----------------------------------------------------------------------


@pytest.mark.parametrize(("class_mode", "own"), MODES)
@pytest.mark.parametrize("loop_bound", [False, True], ids=["plain", "born at home"])
def test_sync_callers_get_the_same_answer_on_every_path(
    class_mode: str | None, own: str | None, loop_bound: bool
) -> None:
    table = answers(SYNC_CALLERS, class_mode, own, loop_bound)
    check_same(table, list(SYNC_CALLERS))
    for name in SYNC_CALLERS:
        assert table["slow", name][0] == expected(False, class_mode, own), name


def test_a_worker_threads_sync_caller_gets_the_same_answer_on_every_path() -> None:
    results: dict[str, Outcome] = {}
    objects = dict(instances(None, None, True))

    def work(variant: str) -> None:
        for _ in range(6):  # past SPECIALISE_AT
            results[variant] = sync_caller(objects[variant])

    threads = [threading.Thread(target=work, args=(v,)) for v in VARIANTS]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert set(results.values()) == {("value", "(2, 'the sync loop')")}, results


# -- async callers ----------------------------------------------------------------------


@pytest.mark.asyncio
@pytest.mark.parametrize(("class_mode", "own"), MODES)
@pytest.mark.parametrize("loop_bound", [False, True], ids=["plain", "born at home"])
async def test_async_callers_get_the_same_answer_on_every_path(
    class_mode: str | None, own: str | None, loop_bound: bool
) -> None:
    table: dict[tuple[str, str], Outcome] = {}
    for variant, obj in instances(class_mode, own, loop_bound):
        for name, caller in ASYNC_CALLERS.items():
            for _ in range(2):
                table[variant, name] = await caller(obj)
    check_same(table, list(ASYNC_CALLERS))
    for name in ASYNC_CALLERS:
        is_async = name != "lambda in async code"
        got = table["slow", name][0]
        if is_async or expected(False, class_mode, own) == "awaitable":
            assert got == expected(is_async, class_mode, own), name
        else:
            # sync code on the running loop: a value (a nested call, rule 4),
            # or, on an object whose home is this very loop, the error saying
            # to await (it cannot wait for itself).
            assert got in ("value", "RuntimeError"), name


@pytest.mark.asyncio
async def test_objects_entered_with_async_with_get_the_same_answer_on_every_path() -> None:
    table: dict[tuple[str, str], Outcome] = {}
    for variant, obj in instances(None, None, False):
        async with obj:
            for name, caller in ASYNC_CALLERS.items():
                for _ in range(2):
                    table[variant, name] = await caller(obj)
    check_same(table, list(ASYNC_CALLERS))
    assert table["fast", "async"] == ("awaitable",)
    assert table["fast", "lambda in async code"][0] == "RuntimeError"


def test_objects_entered_with_with_get_the_same_answer_on_every_path() -> None:
    table: dict[tuple[str, str], Outcome] = {}
    for variant, obj in instances(None, None, False):
        with obj:
            for name, caller in SYNC_CALLERS.items():
                for _ in range(2):
                    table[variant, name] = caller(obj)
    check_same(table, list(SYNC_CALLERS))
    assert {table["fast", name][0] for name in SYNC_CALLERS} == {"value"}


@pytest.mark.asyncio
async def test_a_sync_born_object_awaited_in_async_code_gets_the_same_answer_on_every_path() -> (
    None
):
    born = await asyncio.to_thread(lambda: dict(instances(None, None, True)))
    for obj in born.values():
        assert _home.home_of(obj) is not None and _home.home_of(obj).loop is SYNC_LOOP  # type: ignore[union-attr]
    got = {variant: [await obj.double(4) for _ in range(6)] for variant, obj in born.items()}
    assert got == {variant: [(8, "the sync loop")] * 6 for variant in VARIANTS}


# -- frameworks' scheduling code --------------------------------------------------------


@pytest.mark.asyncio
async def test_anyio_start_soon_gets_the_coroutine_on_every_path() -> None:
    for variant, obj in instances(None, None, True):
        for _ in range(6):
            async with anyio.create_task_group() as tg:
                tg.start_soon(obj.double, 1)  # a value here would be a TypeError
        assert variant in VARIANTS


def test_trio_run_gets_the_coroutine_on_every_path() -> None:
    for _variant, obj in instances(None, None, False):
        assert [trio.run(obj.double, 5)[0] for _ in range(6)] == [10] * 6


def test_anyio_run_on_trio_gets_the_coroutine_on_every_path() -> None:
    for _variant, obj in instances(None, None, False):
        assert [anyio.run(obj.double, 5, backend="trio")[0] for _ in range(6)] == [10] * 6


# -- properties and births follow the same rule -----------------------------------------


@pytest.mark.parametrize(("class_mode", "own"), MODES)
def test_a_sync_readers_property_answer_is_the_methods(
    class_mode: str | None, own: str | None
) -> None:
    for _variant, obj in instances(class_mode, own, False):
        assert sync_property(obj)[0] == sync_caller(obj)[0]


@pytest.mark.asyncio
@pytest.mark.parametrize(("class_mode", "own"), MODES)
async def test_an_async_readers_property_answer_is_the_methods(
    class_mode: str | None, own: str | None
) -> None:
    for _variant, obj in instances(class_mode, own, False):
        assert (await async_property(obj))[0] == (await async_direct(obj))[0]


def _born_where(make_it: Callable[[], Any]) -> object:
    home = _home.home_of(make_it())
    return None if home is None else home.loop


def test_births_in_sync_code_follow_the_rule() -> None:
    cls = make("fast", None, True)

    def wrapper() -> object:  # named like a scheduler's function: still sync code
        return _born_where(cls)

    assert _born_where(cls) is SYNC_LOOP
    assert wrapper() is SYNC_LOOP
    assert [_born_where(cls) for _ in range(1)] == [SYNC_LOOP]
    assert next(_home.home_of(cls()).loop for _ in range(1)) is SYNC_LOOP  # type: ignore[union-attr]


@pytest.mark.asyncio
async def test_births_in_async_code_follow_the_rule() -> None:
    cls = make("fast", None, True)
    here = asyncio.get_running_loop()
    assert _home.home_of(cls()).loop is here  # type: ignore[union-attr]
    assert [_home.home_of(cls()).loop for _ in range(1)] == [here]  # type: ignore[union-attr]
    assert next(_home.home_of(cls()).loop for _ in range(1)) is here  # type: ignore[union-attr]
    made_by_lambda = (lambda: cls())()  # sync code on the running loop: a nested level
    assert _home.home_of(made_by_lambda) is None or _home.home_of(made_by_lambda).loop is not here  # type: ignore[union-attr]


# -- the inline tests' text and their Python twins ---------------------------------------


def _codes() -> dict[str, Any]:
    async def coroutine_function() -> None:
        return None

    def comprehension_holder() -> list[int]:
        return [i for i in range(1)]  # noqa: C416  (its comprehension code, on 3.11)

    holder_consts = [c for c in comprehension_holder.__code__.co_consts if inspect.iscode(c)]
    codes = {
        "sync": sync_caller.__code__,
        "async": coroutine_function.__code__,
        "a user's wrapper": wrapper.__code__,
        "a user's TaskGroup.start_soon": TaskGroup.start_soon.__code__,
        "genexpr": next(c for c in sync_genexpr.__code__.co_consts if inspect.iscode(c)),
        "named like anyio's wrapper": sync_caller.__code__.replace(
            co_name="wrapper", co_qualname="ensure_returns_coro.<locals>.wrapper"
        ),
    }
    codes.update({f"comprehension {c.co_name}": c for c in holder_consts})
    return codes


@pytest.mark.parametrize("name", list(_codes()))
def test_the_inline_caller_tests_are_their_python_twins(name: str) -> None:
    code = _codes()[name]
    scope = {**_rule.inline_namespace("__sa_"), "__sa_k": code}
    inline_async = eval(_rule.INLINE["ASYNC_CALLER"].format(P="__sa_"), scope)
    assert bool(inline_async) == _rule.inline_async(code)
    plain = eval(_rule.INLINE["PLAIN_SYNC_CALLER"].format(P="__sa_"), scope)
    assert bool(plain) == _rule.inline_plain_sync(code)
    if name in ("sync", "a user's wrapper"):
        assert plain  # a user's function named like a scheduler's stays on the inline path
    # (A user's `TaskGroup.start_soon` has anyio's very qualified name: the
    # slow path checks the module, and answers the same, as tested above.)
    if name == "named like anyio's wrapper" or name.startswith(("genexpr", "comprehension")):
        assert not plain


def _slot_values(loop: object) -> list[object]:
    hot = Home(loop, NO_MODE, 1)
    hot.hot = hot_for(loop)
    plain = Home(SYNC_LOOP, NO_MODE, 0)
    plain.plain = True
    return ["auto", "sync", "async", hot, Home(loop, NO_MODE, 1), plain, SYNC_BORN]


def _check_mode_tests(loop: object) -> None:
    for m in _slot_values(loop):
        scope = {**_rule.inline_namespace("__sa_"), "__sa_m": m}
        assert bool(eval(_rule.INLINE["ASYNC_PASSES"].format(P="__sa_"), scope)) == (
            _rule.async_passes(m)
        ), m
        assert bool(eval(_rule.INLINE["SYNC_PASSES"].format(P="__sa_"), scope)) == (
            _rule.sync_passes(m)
        ), m


def test_the_inline_mode_tests_are_their_python_twins_in_sync_code() -> None:
    _check_mode_tests(object())  # (stands for a loop that runs nowhere)
    assert _rule.sync_passes(SYNC_BORN) and not _rule.async_passes(SYNC_BORN)


@pytest.mark.asyncio
async def test_the_inline_mode_tests_are_their_python_twins_in_async_code() -> None:
    loop = asyncio.get_running_loop()
    _check_mode_tests(loop)
    hot = Home(loop, NO_MODE, 1)
    hot.hot = hot_for(loop)
    assert _rule.async_passes(hot)  # on its home loop: the coroutine at once
