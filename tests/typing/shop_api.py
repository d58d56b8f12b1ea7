"""The shop's HTTP API: async code calling the smart library (shoplib.py).

Every bare call here returns the awaitable, so async-first stubs type it
exactly.  `# E` marks a mistake every checker must report; `# needs-caller`
before it marks one that only a checker that knows the caller (mypy with the
plugin) can see, `# forgotten-await` one that needs the checker's
unused-coroutine check (ty's unused-awaitable, a warning unless raised to an
error); `assert_type` lines are expectations.  After the E marker comes mypy's message with the plugin
(the corpus format of test_mypy_plugin.py), so the file can join that
corpus: mypy with the plugin must report exactly these.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Iterator
from decimal import Decimal
from typing import Protocol, assert_type

from shoplib import Catalog, Order, Outlet, Product, RateClient, Shop, Store, fetch_rate, tail


class AsyncTotals(Protocol):
    def total(self, order: Order) -> Awaitable[Decimal]: ...


class AsyncFinder(Protocol):
    def find(self, order_id: int) -> Awaitable[Order | None]: ...


class AsyncOrders(Protocol):
    # Written as a user would: `async def`, whose call is a
    # types.CoroutineType (typing.Coroutine on mypy), as a dual method's is.
    async def find(self, order_id: int) -> Order | None: ...
    async def total(self, order: Order) -> Decimal: ...


class Keyed(Protocol):
    def keys(self) -> AsyncIterator[str]: ...


async def respond(shop: AsyncTotals, order: Order) -> dict[str, str]:
    return {"total": str(await shop.total(order))}


async def gather_totals(
    price: Callable[[Order], Awaitable[Decimal]], orders: list[Order]
) -> list[Decimal]:
    return list(await asyncio.gather(*(price(order) for order in orders)))


async def describe(orders: AsyncOrders, order: Order) -> str:
    found = await orders.find(order.id)
    return f"{found}: {await orders.total(order)}"


async def first_key(source: Keyed) -> str | None:
    async for key in source.keys():
        return key
    return None


async def handler() -> None:
    async with Catalog("products") as catalog:
        assert_type(catalog, Catalog)
        product = Product("A1", "apple", Decimal("0.5"))
        await catalog.put("A1", product)
        assert_type(await catalog.get("A1"), Product | None)
        assert_type(await catalog.get("A1", product), Product)
        assert_type(await catalog.search("ap", limit=2), list[Product])
        assert_type(await catalog.transform("A1", lambda p: p.name), str | None)
        assert_type(await Catalog.open("c"), Catalog)
        assert_type(await Store.ping("db"), bool)
        assert_type(catalog.keys(), AsyncGenerator[str, None])
        assert_type([key async for key in catalog.keys()], list[str])
        async with catalog.batch("spring") as pending:
            assert_type(pending, list[Product])
        shop = Outlet(catalog, "EUR")
        order = await shop.place(("A1", 1))
        assert_type(order, Order)
        assert_type(await shop.total(order), Decimal)
        assert_type(await shop.in_currency("USD"), Outlet)
        assert_type(await shop.find(order.id), Order | None)
        assert_type(await fetch_rate("USD"), Decimal)
        assert_type([line async for line in tail(2)], list[str])
        assert_type(tail.sync(2), Iterator[str])
        assert_type(shop.total.sync(order), Decimal)
        totals = await asyncio.gather(*(shop.total(o) for o in shop.orders))
        assert_type(totals, list[Decimal])
        async for placed in shop.stream_orders(0):
            assert_type(placed, Order)
        print(await respond(shop, order), await gather_totals(shop.total, [order]))
        print(await describe(shop, order), await gather_totals(shop.total.aio, [order]))
        orders: AsyncOrders = shop
        assert_type(await orders.total(order), Decimal)
        print(await first_key(catalog))
        async with RateClient() as client:
            assert_type(await client.rate("USD"), Decimal)
            response = await client.get("https://example.org")
            assert_type(response.status_code, int)

        # -- mistakes ----------------------------------------------------------------
        catalog.put("A2", product)  # forgotten-await  # E: Value of type "Coroutine[Any, Any, None]" must be used  [unused-coroutine]
        shop.total(order)  # forgotten-await  # E: Value of type "Coroutine[Any, Any, Decimal]" must be used  [unused-coroutine]
        await catalog.get(1)  # E: No overload variant of "get" of "Store" matches argument type "int"  [call-overload]
        await catalog.put("A2", 2)  # E: Argument 2 to "put" of "Catalog" has incompatible type "int"; expected "Product"  [arg-type]
        await catalog.search("ap", 2)  # E: Too many positional arguments for "search" of "Catalog"  [call-arg]
        await Catalog.open()  # E: Missing positional argument "name" in call to "open" of "Store"  [call-arg]
        await shop.place(("A1", "1"))  # E: Argument 1 to "place" of "Shop" has incompatible type "tuple[str, str]"; expected "tuple[str, int]"  [arg-type]
        await shop.find("x")  # E: Argument 1 to "find" of "Shop" has incompatible type "str"; expected "int"  [arg-type]
        print((await shop.find(1)).lines)  # E: Item "None" of "Order | None" has no attribute "lines"  [union-attr]
        print((await shop.total(order)).missing)  # E: "Decimal" has no attribute "missing"  [attr-defined]
        print((await shop.in_currency("USD")).missing)  # E: "Outlet" has no attribute "missing"  [attr-defined]
        bad: Decimal = shop.total(order)  # E: Incompatible types in assignment (expression has type "Coroutine[Any, Any, Decimal]", variable has type "Decimal")  [assignment]
        await fetch_rate("USD", Decimal(1))  # E: Too many positional arguments for "__call__" of "DualBound"  [call-arg]
        for line in tail(2):  # E: "AsyncGenerator[str, None]" has no attribute "__iter__" (not iterable)  [attr-defined]
            print(line)
        async for item in catalog.keys():
            print(item.missing)  # E: "str" has no attribute "missing"  [attr-defined]
        async with catalog.batch(2):  # E: Argument 1 to "batch" of "Catalog" has incompatible type "int"; expected "str"  [arg-type]
            pass
        await respond(catalog, order)  # E: Argument 1 to "respond" has incompatible type "Catalog"; expected "AsyncTotals"  [arg-type]
        await gather_totals(shop.find, [order])  # E: Argument 1 to "gather_totals" has incompatible type "DualBound[[int], Order | None]"; expected "Callable[[Order], Awaitable[Decimal]]"  [arg-type]
        await describe(catalog, order)  # E: Argument 1 to "describe" has incompatible type "Catalog"; expected "AsyncOrders"  [arg-type]
        await first_key(shop)  # E: Argument 1 to "first_key" has incompatible type "Outlet"; expected "Keyed"  [arg-type]
        async with RateClient() as client:
            await client.get(1)  # E: Argument 1 to "get" has incompatible type "int"; expected "URL | str"  [arg-type]
            await client.rate(1)  # E: Argument 1 to "rate" of "RateClient" has incompatible type "int"; expected "str"  [arg-type]
        print(bad)


def sync_helper(shop: Shop, order: Order) -> Decimal:
    # Sync code in the API module uses the explicit form.  A bare call here
    # runs to completion, which async-first stubs cannot know.
    asyncio.run(shop.total(order))  # needs-caller  # E: Argument 1 to "run" has incompatible type "Decimal"; expected "Coroutine[Any, Any, Never]"  [arg-type]
    return shop.total.sync(order)
