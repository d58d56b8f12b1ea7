"""The shop's command line: sync code calling the smart library (shoplib.py).

Every bare call here runs to completion, so sync-first stubs type it exactly.
`# E` marks a mistake every checker must report; `# needs-caller` before it
marks one that only a checker that knows the caller (mypy with the plugin)
can see, `# forgotten-await` one that needs the checker's unused-coroutine
check (ty has none yet); `assert_type` lines are expectations.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Callable, Coroutine, Iterator
from decimal import Decimal
from typing import Any, Protocol, assert_type

from shoplib import (
    Catalog,
    Order,
    Outlet,
    Product,
    RateClient,
    Shop,
    Store,
    fetch_rate,
    tail,
)


class Totals(Protocol):
    def total(self, order: Order) -> Decimal: ...


class Finder(Protocol):
    def find(self, order_id: int) -> Order | None: ...


class WrongFinder(Protocol):
    def find(self, order_id: str) -> Order | None: ...


class Pinger(Protocol):
    def ping(self, host: str = ...) -> bool: ...


class Switcher(Protocol):
    def in_currency(self, currency: str) -> Shop: ...


def report(shop: Totals, order: Order) -> str:
    return str(shop.total(order))


def lookup(finder: Finder, order_id: int) -> Order | None:
    return finder.find(order_id)


def apply(price: Callable[[Order], Decimal], order: Order) -> Decimal:
    return price(order)


def each_key(keys: Callable[[], Iterator[str]]) -> list[str]:
    return list(keys())


def main() -> None:
    catalog = Catalog("products", capacity=10)
    product = Product("A1", "apple", Decimal("0.5"))
    catalog.put("A1", product)
    assert_type(catalog.get("A1"), Product | None)
    assert_type(catalog.get("A1", product), Product)
    assert_type(catalog.get.sync("A1", product), Product)
    assert_type(catalog.search("ap", limit=3, colour="red"), list[Product])
    assert_type(catalog.transform("A1", lambda p: p.price), Decimal | None)
    assert_type(catalog.pop_many("A1", "B2"), list[Product])
    assert_type(catalog.keys(), Iterator[str])
    assert_type(Catalog.open("c"), Catalog)
    assert_type(Store.ping(), bool)
    assert_type(catalog.size, int)
    assert_type(catalog.name, str)
    assert_type(catalog.hits, int)
    assert_type(catalog.lock, asyncio.Lock)
    for key in catalog.keys():
        assert_type(key, str)
    with catalog.batch("spring") as pending:
        assert_type(pending, list[Product])
    with Catalog("c2") as entered:
        assert_type(entered, Catalog)

    ints: Store[int, str] = Store("ints")
    assert_type(ints.get(1), str | None)
    assert_type(ints.get(1, "x"), str)

    shop = Shop(catalog, rates=RateClient())
    order = shop.place(("A1", 2), note="gift")
    assert_type(order, Order)
    assert_type(shop.total(order), Decimal)
    assert_type(shop.total.sync(order), Decimal)
    assert_type(shop.total.aio(order), Coroutine[Any, Any, Decimal]).close()
    assert_type(shop.find(1), Order | None)
    assert_type(shop.in_currency("USD"), Shop)
    assert_type(Outlet(catalog).in_currency("USD"), Outlet)
    assert_type(Outlet(catalog).total(order), Decimal)
    assert_type(shop.currency, str)
    assert_type(shop.rates, RateClient | None)
    assert_type(shop.orders, list[Order])
    assert_type(fetch_rate("USD"), Decimal)
    assert_type(fetch_rate("USD", fallback=Decimal(2)), Decimal)
    assert_type(tail(3), Iterator[str])
    assert_type(tail.aio(3), AsyncGenerator[str, None])
    assert_type(asyncio.run(shop.total.aio(order)), Decimal)
    for placed in shop.stream_orders():
        assert_type(placed, Order)

    with RateClient() as client:
        assert_type(client, RateClient)
        assert_type(client.rate("USD"), Decimal)
        assert_type(client.get("https://example.org").status_code, int)

    print(report(shop, order), report(Outlet(catalog), order))
    print(lookup(shop, 1), apply(shop.total, order), apply(Outlet(catalog).total, order))
    print(each_key(catalog.keys))
    pinger: Pinger = catalog
    switcher: Switcher = shop
    print(pinger, switcher)

    # -- mistakes ------------------------------------------------------------------
    catalog.put(1, product)  # E
    catalog.put("A2", "not a product")  # E
    catalog.get(1)  # E
    catalog.get("A1", "default")  # E
    catalog.search("ap", 3)  # E
    catalog.search("ap", colour=1)  # E
    catalog.transform("A1", lambda p: p.missing)  # E
    Catalog.open(3)  # E
    Store.ping(1)  # E
    catalog.size = 3  # E
    catalog.name = None  # E
    catalog.capacity + "1"  # E
    product.price = Decimal(1)  # E
    ints.put("one", "x")  # E
    shop.place(("A1", "two"))  # E
    shop.place(("A1", 2), "gift")  # E
    shop.total(1)  # E
    shop.total.sync()  # E
    shop.find("1")  # E
    shop.currency = 3  # E
    order.note.upper()  # E
    print(shop.total(order).quantize(Decimal(1)).missing)  # E
    print(shop.in_currency("USD").missing)  # E
    fetch_rate(1)  # E
    fetch_rate("USD", Decimal(2))  # E
    tail("3")  # E
    total: int = shop.total(order)  # E
    pending_total: Decimal = shop.total.aio(order)  # E
    asyncio.run(shop.total(order))  # E
    for line in tail(2):
        print(line.missing)  # E
    with catalog.batch(1) as batch:  # E
        batch.append("x")  # E
    report(catalog, order)  # E
    lookup(catalog, 1)  # E
    wrong: WrongFinder = shop  # E
    apply(shop.find, order)  # E
    apply(catalog.get, order)  # E
    with RateClient() as client:
        client.get(1)  # E
        client.rate(currency=2)  # E
    print(total, pending_total, wrong)


async def forgetful(shop: Shop, order: Order) -> None:
    # Async code in the CLI module: the truth here is the coroutine.
    shop.total.aio(order)  # forgotten-await  # E
    shop.total(order)  # needs-caller  # E
    value: Decimal = shop.total(order)  # needs-caller  # E
    print(value, await shop.total.aio(order))
