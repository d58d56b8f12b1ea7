"""A plain async class, not smart: what a third-party client (httpx.AsyncClient) looks like."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Self


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
