"""A bound dual method looks like a bound method to tools that inspect it
(issue 13, the first part): its attributes, weak references, docs, keyword
names and the names in its errors and tracebacks."""

from __future__ import annotations

import asyncio
import traceback
import weakref
from typing import Any

import pytest

from smartasync import SmartAsync, smartasync


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
    with pytest.raises(TypeError, match=r"^Service\.ping\.sync\(\) takes"):
        bound.sync(1, 2)


@pytest.mark.asyncio
async def test_argument_errors_name_the_method_in_async_code() -> None:
    bound: Any = Service().ping
    with pytest.raises(TypeError, match=r"^Service\.ping\(\) takes"):
        bound(1, 2)
    with pytest.raises(TypeError, match=r"^Service\.ping\.aio\(\) takes"):
        bound.aio(1, 2)


def test_tracebacks_name_the_generated_code_by_its_method() -> None:
    with pytest.raises(LookupError) as info:
        Service().fail()
    files = [frame.filename for frame in traceback.extract_tb(info.value.__traceback__)]
    assert "<smartasync generated Service.fail>" in files


@pytest.mark.skipif(
    not hasattr(__import__("inspect"), "markcoroutinefunction"),
    reason="Python 3.11 cannot mark a plain function as a coroutine function",
)
def test_aio_is_a_coroutine_function() -> None:
    import inspect

    bound: Any = Service().ping
    assert inspect.iscoroutinefunction(bound.aio)
    assert not inspect.iscoroutinefunction(bound.sync)
