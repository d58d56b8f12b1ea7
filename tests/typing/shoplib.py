"""A small shop: the library of the shop application (shop_cli.py, shop_api.py).

Written as a user would write one: a generic async store, a smart service with
dataclasses, overloads, an async generator, an async context manager method,
class and static methods, a subclass that overrides, a `@smartasync`
function, and an HTTP client that is a smart `httpx.AsyncClient`.  Its
generated stubs (`python -m smartasync stubgen shoplib`) are what pyright,
pyrefly and ty see in the shop cases.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Generic, Self, TypeVar, overload

import httpx

from smartasync import SmartAsync, smartasync

K = TypeVar("K")
V = TypeVar("V")
_T = TypeVar("_T")


@dataclass(frozen=True)
class Product:
    sku: str
    name: str
    price: Decimal
    tags: tuple[str, ...] = ()


@dataclass
class Order:
    id: int
    lines: list[tuple[str, int]] = field(default_factory=list)
    note: str | None = None


class Store(SmartAsync, Generic[K, V]):
    """An async key-value store with a capacity."""

    def __init__(self, name: str, *, capacity: int = 100) -> None:
        self.name = name
        self.capacity = capacity
        self.hits = 0
        self.lock = asyncio.Lock()
        self._data: dict[K, V] = {}

    @overload
    async def get(self, key: K) -> V | None: ...
    @overload
    async def get(self, key: K, default: V) -> V: ...
    async def get(self, key: K, default: V | None = None) -> V | None:
        """The value under `key`, or `default`."""
        self.hits += 1
        return self._data.get(key, default)

    async def put(self, key: K, value: V) -> None:
        """Store `value` under `key`."""
        async with self.lock:
            if len(self._data) >= self.capacity and key not in self._data:
                raise OverflowError(self.name)
            self._data[key] = value

    async def keys(self) -> AsyncIterator[K]:
        """Every key, one at a time."""
        for key in list(self._data):
            yield key

    async def pop_many(self, *keys: K) -> list[V]:
        return [self._data.pop(key) for key in keys if key in self._data]

    async def transform(self, key: K, fn: Callable[[V], _T]) -> _T | None:
        """`fn` of the value under `key` (a method generic in its own type variable)."""
        value = self._data.get(key)
        return None if value is None else fn(value)

    @classmethod
    async def open(cls, name: str) -> Self:
        return cls(name)

    @staticmethod
    async def ping(host: str = "localhost") -> bool:
        return bool(host)

    @property
    def size(self) -> int:
        return len(self._data)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._data.clear()


class Catalog(Store[str, Product]):
    """Products by SKU."""

    async def put(self, key: str, value: Product) -> None:
        if key != value.sku:
            raise KeyError(key)
        await super().put(key, value)

    async def search(self, text: str, *, limit: int = 10, **filters: str) -> list[Product]:
        found = [p for p in self._data.values() if text in p.name]
        return found[:limit]

    @contextlib.asynccontextmanager
    async def batch(self, label: str) -> AsyncIterator[list[Product]]:
        pending: list[Product] = []
        yield pending
        for product in pending:
            await self.put(product.sku, product)


class RateClient(SmartAsync, httpx.AsyncClient):
    """Exchange rates over HTTP; httpx's own async methods are dual too."""

    async def rate(self, currency: str) -> Decimal:
        return Decimal(1) if currency == "EUR" else Decimal(2)


class Shop(SmartAsync):
    """Orders against a catalog."""

    def __init__(
        self, catalog: Catalog, currency: str = "EUR", *, rates: RateClient | None = None
    ) -> None:
        self.catalog = catalog
        self.currency = currency
        self.rates = rates
        self.orders: list[Order] = []
        self.opened = False

    async def place(self, *lines: tuple[str, int], note: str | None = None) -> Order:
        """Place an order for (sku, quantity) lines."""
        order = Order(len(self.orders) + 1, list(lines), note)
        self.orders.append(order)
        return order

    async def total(self, order: Order) -> Decimal:
        """The order's total price in the shop's currency."""
        total = Decimal(0)
        for sku, quantity in order.lines:
            product = await self.catalog.get(sku)
            if product is not None:
                total += product.price * quantity
        return total

    async def find(self, order_id: int) -> Order | None:
        return next((o for o in self.orders if o.id == order_id), None)

    async def stream_orders(self, since: int = 0) -> AsyncIterator[Order]:
        for order in self.orders[since:]:
            yield order

    async def in_currency(self, currency: str) -> Self:
        return type(self)(self.catalog, currency, rates=self.rates)


class Outlet(Shop):
    """A shop that discounts: overrides are dual without a decorator."""

    async def total(self, order: Order) -> Decimal:
        full = await super().total(order)
        return full * Decimal("0.8")


@smartasync
async def fetch_rate(currency: str, *, fallback: Decimal = Decimal(1)) -> Decimal:
    """A rate from the default client, or `fallback`."""
    return fallback if currency == "EUR" else fallback * 2


@smartasync
async def tail(lines: int = 10) -> AsyncIterator[str]:
    for i in range(lines):
        yield f"line {i}"
