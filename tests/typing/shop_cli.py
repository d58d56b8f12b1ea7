"""The shop's command line: sync code calling the smart library (shoplib.py).

Every bare call here runs to completion, so sync-first stubs type it exactly.
`# E` marks a mistake every checker must report; `# needs-caller` before it
marks one that only a checker that knows the caller (mypy with the plugin)
can see, `# forgotten-await` one that needs the checker's unused-coroutine
check (ty's unused-awaitable, a warning unless raised to an error);
`assert_type` lines are expectations.  A coroutine face is
`types.CoroutineType` on stubs and `typing.Coroutine` on mypy (each what
that checker infers for an `async def`): lines here check it by assignment.  After the
E marker comes mypy's message with the plugin (the corpus format of test_mypy_plugin.py),
so the file can join that corpus: mypy with the plugin must report exactly these.
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
    aio_total: Coroutine[Any, Any, Decimal] = shop.total.aio(order)
    aio_total.close()
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
    catalog.put(1, product)  # E: Argument 1 to "put" of "Catalog" has incompatible type "int"; expected "str"  [arg-type]
    catalog.put("A2", "not a product")  # E: Argument 2 to "put" of "Catalog" has incompatible type "str"; expected "Product"  [arg-type]
    catalog.get(1)  # E: No overload variant of "get" of "Store" matches argument type "int"  [call-overload]
    catalog.get("A1", "default")  # E: No overload variant of "get" of "Store" matches argument types "str", "str"  [call-overload]
    catalog.search("ap", 3)  # E: Too many positional arguments for "search" of "Catalog"  [call-arg]
    catalog.search("ap", colour=1)  # E: Argument "colour" to "search" of "Catalog" has incompatible type "int"; expected "str"  [arg-type]
    catalog.transform("A1", lambda p: p.missing)  # E: "Product" has no attribute "missing"  [attr-defined]
    Catalog.open(3)  # E: Argument 1 to "open" of "Store" has incompatible type "int"; expected "str"  [arg-type]
    Store.ping(1)  # E: Argument 1 to "ping" of "Store" has incompatible type "int"; expected "str"  [arg-type]
    catalog.size = 3  # E: Property "size" defined in "Store" is read-only  [misc]
    catalog.name = None  # E: Incompatible types in assignment (expression has type "None", variable has type "str")  [assignment]
    catalog.capacity + "1"  # E: Unsupported operand types for + ("int" and "str")  [operator]
    product.price = Decimal(1)  # E: Property "price" defined in "Product" is read-only  [misc]
    ints.put("one", "x")  # E: Argument 1 to "put" of "Store" has incompatible type "str"; expected "int"  [arg-type]
    shop.place(("A1", "two"))  # E: Argument 1 to "place" of "Shop" has incompatible type "tuple[str, str]"; expected "tuple[str, int]"  [arg-type]
    shop.place(("A1", 2), "gift")  # E: Argument 2 to "place" of "Shop" has incompatible type "str"; expected "tuple[str, int]"  [arg-type]
    shop.total(1)  # E: Argument 1 to "total" of "Shop" has incompatible type "int"; expected "Order"  [arg-type]
    shop.total.sync()  # E: Missing positional argument "order" in call to "sync" of "DualBound"  [call-arg]
    shop.find("1")  # E: Argument 1 to "find" of "Shop" has incompatible type "str"; expected "int"  [arg-type]
    shop.currency = 3  # E: Incompatible types in assignment (expression has type "int", variable has type "str")  [assignment]
    order.note.upper()  # E: Item "None" of "str | None" has no attribute "upper"  [union-attr]
    print(shop.total(order).quantize(Decimal(1)).missing)  # E: "Decimal" has no attribute "missing"  [attr-defined]
    print(shop.in_currency("USD").missing)  # E: "Shop" has no attribute "missing"  [attr-defined]
    fetch_rate(1)  # E: Argument 1 to "__call__" of "DualBound" has incompatible type "int"; expected "str"  [arg-type]
    fetch_rate("USD", Decimal(2))  # E: Too many positional arguments for "__call__" of "DualBound"  [call-arg]
    tail("3")  # E: Argument 1 to "__call__" of "DualGenBound" has incompatible type "str"; expected "int"  [arg-type]
    total: int = shop.total(order)  # E: Incompatible types in assignment (expression has type "Decimal", variable has type "int")  [assignment]
    pending_total: Decimal = shop.total.aio(order)  # E: Incompatible types in assignment (expression has type "Coroutine[Any, Any, Decimal]", variable has type "Decimal")  [assignment]
    asyncio.run(shop.total(order))  # E: Argument 1 to "run" has incompatible type "Decimal"; expected "Coroutine[Any, Any, Never]"  [arg-type]
    for line in tail(2):
        print(line.missing)  # E: "str" has no attribute "missing"  [attr-defined]
    with catalog.batch(1) as batch:  # E: Argument 1 to "batch" of "Catalog" has incompatible type "int"; expected "str"  [arg-type]
        batch.append("x")  # E: Argument 1 to "append" of "list" has incompatible type "str"; expected "Product"  [arg-type]
    report(catalog, order)  # E: Argument 1 to "report" has incompatible type "Catalog"; expected "Totals"  [arg-type]
    lookup(catalog, 1)  # E: Argument 1 to "lookup" has incompatible type "Catalog"; expected "Finder"  [arg-type]
    wrong: WrongFinder = shop  # E: Incompatible types in assignment (expression has type "Shop", variable has type "WrongFinder")  [assignment]
    apply(shop.find, order)  # E: Argument 1 to "apply" has incompatible type "DualBound[[int], Order | None]"; expected "Callable[[Order], Decimal]"  [arg-type]
    apply(catalog.get, order)  # E: Argument 1 to "apply" has incompatible type overloaded function; expected "Callable[[Order], Decimal]"  [arg-type]
    with RateClient() as client:
        client.get(1)  # E: Argument 1 to "get" has incompatible type "int"; expected "URL | str"  [arg-type]
        client.rate(currency=2)  # E: Argument "currency" to "rate" of "RateClient" has incompatible type "int"; expected "str"  [arg-type]
    print(total, pending_total, wrong)


async def forgetful(shop: Shop, order: Order) -> None:
    # Async code in the CLI module: the truth here is the coroutine.
    shop.total.aio(order)  # forgotten-await  # E: Value of type "Coroutine[Any, Any, Decimal]" must be used  [unused-coroutine]
    shop.total(order)  # needs-caller  # E: Value of type "Coroutine[Any, Any, Decimal]" must be used  [unused-coroutine]
    value: Decimal = shop.total(order)  # needs-caller  # E: Incompatible types in assignment (expression has type "Coroutine[Any, Any, Decimal]", variable has type "Decimal")  [assignment]
    print(value, await shop.total.aio(order))
