"""A traceback out of a dual callable reads caller -> at most one frame of
smartasync -> the user's coroutine, whatever the form of the call: first
calls (generic code) and specialised ones, `for` over an async generator,
`with` on a context-manager method and on the object itself, properties,
the explicit forms, calls carried to a home loop, and KeyboardInterrupt or
SystemExit raised by the user's code."""

from __future__ import annotations

import asyncio
import threading
import traceback
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import pytest

from smartasync import SmartAsync
from smartasync._dual import SPECIALISE_AT


class Boom(Exception):
    pass


class Service(SmartAsync, loop_bound=False):
    async def call(self) -> None:
        raise Boom

    async def steps(self) -> AsyncIterator[int]:
        yield 1
        raise Boom

    @asynccontextmanager
    async def session(self) -> AsyncIterator[None]:
        raise Boom
        yield  # (an async generator)

    @property
    async def value(self) -> int:
        raise Boom

    async def interrupt(self) -> None:
        raise KeyboardInterrupt

    async def exit(self) -> None:
        raise SystemExit(3)


class Resource(Service, loop_bound=True):
    """Lives on a home loop (the sync loop when made in sync code)."""

    async def __aenter__(self) -> Resource:
        raise Boom

    async def __aexit__(self, *exc_info: object) -> None:
        return None


def library_frames(exc: BaseException) -> list[str]:
    """smartasync's frames in `exc`'s traceback, between the test and the
    user's code (the frames of this file)."""
    frames = traceback.extract_tb(exc.__traceback__)
    assert frames[-1].filename == __file__, frames  # it ends in the user's coroutine
    return [
        f"{frame.filename}:{frame.name}"
        for frame in frames
        if "smartasync" in frame.filename and frame.filename != __file__
    ]


def check(form: str, call: Callable[[], object], kind: type[BaseException] = Boom) -> None:
    with pytest.raises(kind) as info:
        call()
    assert len(library_frames(info.value)) <= 1, (form, library_frames(info.value))


def sync_forms(obj: Service) -> dict[str, Callable[[], object]]:
    def with_method() -> None:
        with obj.session():
            pass

    return {
        "a bare call": obj.call,
        ".sync()": obj.call.sync,
        "for": lambda: [step for step in obj.steps()],  # noqa: C416  (a `for`, on purpose)
        "next()": lambda: [next(steps) for steps in [iter(obj.steps())] for _ in range(2)],
        "with a context-manager method": with_method,
        "a property": lambda: obj.value,
    }


@pytest.mark.parametrize("make", [Service, Resource], ids=["plain", "home: the sync loop"])
def test_sync_forms_show_one_library_frame_first_and_warm(make: Callable[[], Service]) -> None:
    obj = make()
    for _ in range(SPECIALISE_AT + 2):  # generic code first, then the generated
        for form, call in sync_forms(obj).items():
            check(form, call)
        check("KeyboardInterrupt", obj.interrupt, KeyboardInterrupt)
        check("SystemExit", obj.exit, SystemExit)


def test_with_on_the_object_itself_shows_one_library_frame() -> None:
    def enter() -> None:
        with Resource():
            pass

    for _ in range(3):
        check("with", enter)


def test_a_worker_threads_forms_show_one_library_frame() -> None:
    obj = Resource()
    failures: list[object] = []

    def work() -> None:
        try:
            for _ in range(SPECIALISE_AT + 2):
                for form, call in sync_forms(obj).items():
                    check(form, call)
        except BaseException as exc:  # reported to the test's thread
            failures.append(exc)

    thread = threading.Thread(target=work)
    thread.start()
    thread.join(60)
    assert not thread.is_alive() and failures == []


async def _async_check(
    form: str, make: Callable[[], Any], kind: type[BaseException] = Boom
) -> None:
    with pytest.raises(kind) as info:
        await make()
    assert len(library_frames(info.value)) <= 1, (form, library_frames(info.value))


@pytest.mark.asyncio
@pytest.mark.parametrize("born", ["here", "in sync code"])
async def test_async_forms_show_one_library_frame_first_and_warm(born: str) -> None:
    # Made in sync code, a Resource lives on the sync loop: every await is
    # carried there, and comes back with its exception.
    obj = Resource() if born == "here" else await asyncio.to_thread(Resource)

    async def iterate() -> None:
        async for _ in obj.steps():
            pass

    async def enter() -> None:
        async with obj.session():
            pass

    async def read() -> int:
        return await obj.value

    for _ in range(SPECIALISE_AT + 2):
        await _async_check("await", obj.call)
        await _async_check("await .aio()", obj.call.aio)
        await _async_check("async for", iterate)
        await _async_check("async with a context-manager method", enter)
        await _async_check("await a property", read)
        await _async_check("KeyboardInterrupt", obj.interrupt, KeyboardInterrupt)
        await _async_check("SystemExit", obj.exit, SystemExit)
