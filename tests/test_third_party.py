"""Real third-party async code made dual: httpx's client by inheritance and
an aiosqlite-backed store, each used from sync and async code.  Real servers
on 127.0.0.1, no mocks.  (Methods called by trio and anyio: test_rule.)"""

from __future__ import annotations

import asyncio
import inspect
import sqlite3
import time
from collections.abc import AsyncIterator
from pathlib import Path
from types import TracebackType

import aiosqlite
import httpx
import pytest

from smartasync import SmartAsync

from .conftest import Server

# -- httpx.AsyncClient, made dual by inheritance ----------------------------------


class Client(SmartAsync, httpx.AsyncClient):
    """httpx's async client: `with` + sync calls, or `async with` + awaits."""


def test_httpx_client_with_and_two_sync_requests_share_one_connection(
    http_server: Server,
) -> None:
    with Client(base_url=http_server.url) as client:
        first = client.get("/echo", params={"n": "1"})
        second = client.get("/echo", params={"n": "2"})
        assert not client.is_closed
    assert client.is_closed
    assert (first.status_code, second.status_code) == (200, 200)
    assert second.json()["query"] == {"n": "2"}
    # The same client port: the second request reused the pooled connection,
    # which only works because both sync calls ran on one persistent loop.
    assert first.json()["client_port"] == second.json()["client_port"]


def test_httpx_client_without_with_sync_calls_then_aclose(http_server: Server) -> None:
    client = Client(base_url=http_server.url)
    ports = {client.get("/echo").json()["client_port"] for _ in range(3)}
    client.aclose()
    assert client.is_closed
    assert len(ports) == 1


def test_httpx_stream_context_manager_from_sync_code(http_server: Server) -> None:
    # AsyncClient.stream is an @asynccontextmanager method: `with` works too.
    with Client(base_url=http_server.url) as client, client.stream("GET", "/echo") as response:
        assert response.status_code == 200
        assert response.headers["content-type"] == "application/json"


@pytest.mark.asyncio
async def test_httpx_client_async_with_and_concurrent_requests(http_server: Server) -> None:
    async with Client(base_url=http_server.url) as client:
        pending = client.get("/echo")
        assert inspect.isawaitable(pending)
        await pending
        started = time.perf_counter()
        responses = await asyncio.gather(
            *(client.get("/slow", params={"delay": "0.3"}) for _ in range(5))
        )
        elapsed = time.perf_counter() - started
        first, second = await client.get("/echo"), await client.get("/echo")
    assert client.is_closed
    assert [r.text for r in responses] == ["slow"] * 5
    assert elapsed < 1.2  # concurrent: five sequential requests take 1.5 s
    assert first.json()["client_port"] == second.json()["client_port"]


@pytest.mark.asyncio
async def test_httpx_stream_context_manager_from_async_code(http_server: Server) -> None:
    async with Client(base_url=http_server.url) as client:
        async with client.stream("GET", "/echo") as response:
            body = await response.aread()
    assert response.status_code == 200
    assert b"client_port" in body


# -- an aiosqlite-backed store ---------------------------------------------------


class Store(SmartAsync):
    """A key-value store on one aiosqlite connection."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.db: aiosqlite.Connection | None = None

    async def _conn(self) -> aiosqlite.Connection:
        if self.db is None:
            self.db = await aiosqlite.connect(self.path)
            await self.db.execute("CREATE TABLE IF NOT EXISTS kv (k TEXT PRIMARY KEY, v TEXT)")
            await self.db.commit()
        return self.db

    async def put(self, key: str, value: str) -> None:
        """Write without committing: only this connection sees it until commit()."""
        db = await self._conn()
        await db.execute("INSERT OR REPLACE INTO kv VALUES (?, ?)", (key, value))

    async def get(self, key: str) -> str | None:
        db = await self._conn()
        async with db.execute("SELECT v FROM kv WHERE k = ?", (key,)) as cursor:
            row = await cursor.fetchone()
        return None if row is None else str(row[0])

    async def keys(self) -> AsyncIterator[str]:
        db = await self._conn()
        async with db.execute("SELECT k FROM kv ORDER BY k") as cursor:
            async for row in cursor:
                yield str(row[0])

    async def commit(self) -> None:
        await (await self._conn()).commit()

    async def close(self) -> None:
        if self.db is not None:
            await self.db.close()
            self.db = None

    async def __aenter__(self) -> Store:
        await self._conn()  # here, not lazily: concurrent first calls would race to open
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()


def committed(path: Path, key: str) -> str | None:
    with sqlite3.connect(path) as other:
        row = other.execute("SELECT v FROM kv WHERE k = ?", (key,)).fetchone()
    other.close()
    return None if row is None else str(row[0])


def test_aiosqlite_store_from_sync_code_keeps_one_connection(tmp_path: Path) -> None:
    path = tmp_path / "kv.db"
    with Store(path) as store:
        store.put("a", "1")
        connection = store.db
        store.put("b", "2")
        # An uncommitted write is visible only on the connection that made it:
        # these sync calls all ran on that one connection.
        assert store.get("a") == "1"
        assert list(store.keys()) == ["a", "b"]
        assert committed(path, "a") is None
        store.commit()
        assert committed(path, "a") == "1"
        assert store.db is connection
    assert store.db is None


@pytest.mark.asyncio
async def test_aiosqlite_store_from_async_code(tmp_path: Path) -> None:
    path = tmp_path / "kv.db"
    async with Store(path) as store:
        await asyncio.gather(*(store.put(k, k.upper()) for k in "abc"))
        assert await store.get("b") == "B"
        assert [k async for k in store.keys()] == ["a", "b", "c"]
        assert committed(path, "a") is None
        await store.commit()
    assert store.db is None
    assert committed(path, "c") == "C"


def test_aiosqlite_store_sync_then_async_on_the_same_file(tmp_path: Path) -> None:
    path = tmp_path / "kv.db"
    with Store(path) as store:
        store.put("k", "from sync")
        store.commit()

    async def read() -> str | None:
        async with Store(path) as other:
            return await other.get("k")

    assert asyncio.run(read()) == "from sync"
