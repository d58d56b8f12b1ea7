"""`.aio` is a coroutine function to `inspect` on every Python (3.11 too), so
frameworks that branch on `inspect.iscoroutinefunction` await it: Starlette's
`BackgroundTask(obj.m.aio, ...)` runs the work instead of calling it in a
worker thread and dropping the coroutine ("never awaited")."""

from __future__ import annotations

import asyncio
import inspect
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from smartasync import SmartAsync, smartasync


class Notifier(SmartAsync, loop_bound=False):
    def __init__(self) -> None:
        self.sent: list[int] = []

    async def notify(self, n: int) -> None:
        await asyncio.sleep(0)
        self.sent.append(n)


@smartasync
async def ping(n: int) -> int:
    return n


def faces(notifier: Notifier) -> list[Any]:
    return [notifier.notify.aio, Notifier.notify.aio, ping.aio]


def test_aio_faces_are_coroutine_functions_before_and_after_specialising() -> None:
    notifier = Notifier()
    for _ in range(6):  # the first uses are generic, then specialised
        for face in faces(notifier):
            assert inspect.iscoroutinefunction(face), face
        notifier.notify(1)
        ping(1)
    assert str(inspect.signature(notifier.notify.aio)) == "(n: 'int') -> 'None'"
    assert str(inspect.signature(ping.aio)) == "(n: 'int') -> 'int'"


@pytest.mark.asyncio
async def test_background_task_awaits_aio() -> None:
    notifier = Notifier()
    for i in range(6):
        await BackgroundTask(notifier.notify.aio, i)()
    await BackgroundTask(Notifier.notify.aio, notifier, 9)()
    assert notifier.sent == [0, 1, 2, 3, 4, 5, 9]


def test_background_task_in_a_real_app() -> None:
    notifier = Notifier()

    async def endpoint(request: Request) -> PlainTextResponse:
        n = int(request.query_params["n"])
        return PlainTextResponse("ok", background=BackgroundTask(notifier.notify.aio, n))

    app = Starlette(routes=[Route("/", endpoint)])

    async def main() -> None:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://app") as client:
            for n in range(5):
                assert (await client.get("/", params={"n": n})).text == "ok"

    asyncio.run(main())
    assert notifier.sent == [0, 1, 2, 3, 4]
