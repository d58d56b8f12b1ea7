"""A plain async class, not smart: what a third-party client (httpx.AsyncClient) looks like."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Generic, Self, TypeVar

K = TypeVar("K")
V = TypeVar("V")


class PlainClient:
    async def fetch(self, path: str) -> bytes:
        return path.encode()

    async def lines(self, n: int) -> AsyncIterator[str]:
        for i in range(n):
            yield str(i)

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[int]:
        yield 1

    async def _private(self) -> int:
        return 0

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        return None


class PlainStore(Generic[K, V]):
    """Generic in its class's type variables, as a typed cache client is."""

    def __init__(self) -> None:
        self.data: dict[K, V] = {}

    async def load(self, key: K) -> V:
        return self.data[key]
