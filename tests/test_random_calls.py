"""Property-based (hypothesis): random sequences of sync calls, async calls,
explicit forms, mode changes and thread hops give the same results as running
the undecorated coroutines directly, and each call returns a value or an
awaitable exactly as the mode and the calling context say.

(Tests of `@property` over an `async def` are in `test_async_properties.py`.)"""

from __future__ import annotations

import asyncio
import inspect
import threading
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from smartasync import SmartAsync, set_mode


class Account(SmartAsync):
    def __init__(self) -> None:
        self.total = 0

    async def deposit(self, amount: int) -> int:
        await asyncio.sleep(0)
        self.total += amount
        return self.total


class PlainAccount:
    """The same coroutine, undecorated: the reference."""

    def __init__(self) -> None:
        self.total = 0

    deposit = Account.__dict__["deposit"].__wrapped__


MODES = ("auto", "sync", "async")

operation = st.one_of(
    st.tuples(st.just("sync"), st.integers(0, 2), st.integers(-5, 5)),
    st.tuples(st.just("await"), st.integers(0, 2), st.integers(-5, 5)),
    st.tuples(st.just("thread"), st.integers(0, 2), st.integers(-5, 5)),
    st.tuples(st.just("explicit-sync"), st.integers(0, 2), st.integers(-5, 5)),
    st.tuples(st.just("explicit-aio"), st.integers(0, 2), st.integers(-5, 5)),
    st.tuples(st.just("mode"), st.integers(0, 2), st.sampled_from(MODES)),
)


def _run_in_thread(fn: Any) -> Any:
    box: list[Any] = []
    thread = threading.Thread(target=lambda: box.append(fn()))
    thread.start()
    thread.join(30)
    return box[0]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(operation, max_size=25))
def test_random_call_sequences_match_the_undecorated_coroutines(ops: list[Any]) -> None:
    smart = [Account() for _ in range(3)]
    plain = [PlainAccount() for _ in range(3)]
    modes = ["auto"] * 3
    for kind, index, arg in ops:
        obj, reference = smart[index], plain[index]
        if kind == "mode":
            set_mode(obj, arg)
            modes[index] = arg
            continue
        expected = asyncio.run(reference.deposit(arg))
        mode = modes[index]
        if kind == "sync":
            result = obj.deposit(arg)
            if mode == "async":  # async mode returns the awaitable even here
                assert inspect.iscoroutine(result)
                result = asyncio.run(result)
        elif kind == "await":

            async def caller(obj: Account = obj, arg: int = arg, mode: str = mode) -> Any:
                result = obj.deposit(arg)
                if mode == "sync":  # sync mode ran it already, even here
                    assert not inspect.isawaitable(result)
                    return result
                assert inspect.iscoroutine(result)
                return await result

            result = asyncio.run(caller())
        elif kind == "thread":
            result = _run_in_thread(lambda obj=obj, arg=arg: obj.deposit(arg))
            if mode == "async":
                assert inspect.iscoroutine(result)
                result = asyncio.run(result)
        elif kind == "explicit-sync":
            result = obj.deposit.sync(arg)
        else:
            result = asyncio.run(obj.deposit.aio(arg))
        assert result == expected
        assert obj.total == reference.total
