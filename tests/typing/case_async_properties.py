"""Async properties are typed by the reading code, as the runtime reads them:
the value in sync code, the awaitable in an `async def`.  The explicit forms
`Cls.prop.sync(obj)` and `Cls.prop.aio(obj)` are exact everywhere."""

from __future__ import annotations

from collections.abc import AsyncIterator, Coroutine, Iterator
from typing import Any, assert_type

from proplib import (
    Account,
    Box,
    CashLedger,
    Decorated,
    FromPlain,
    Ledger,
    PlainBase,
    Savings,
    User,
)

account = Account(3)

# -- sync code: the value ------------------------------------------------------

assert_type(account.balance, int)
assert_type(account.owner, User)
assert_type(account.owner.name, str)
assert_type(account.report, str)
assert_type(account.currency, str)
assert_type(Savings().rate, float)
assert_type(Savings().balance, int)
assert_type(Decorated().label, str)
assert_type(Decorated().lines, Iterator[str])
assert_type(Box(1).item, int)
assert_type(Box("s").item, str)
assert_type(FromPlain().remote, int)
assert_type(PlainBase().remote, Coroutine[Any, Any, int]).close()  # not smart: a coroutine
assert_type(FromPlain()._hidden, Coroutine[Any, Any, int]).close()  # private: left as written
account.balance = 4
account.balance = "4"  # E: Incompatible types in assignment (expression has type "str", variable has type "int")  [assignment]
total: int = account.balance + Savings().balance
assert_type([account.balance for _ in range(2)], list[int])
assert_type((lambda: account.balance)(), int)

# abstract, and deletable without a setter
Ledger()  # E: Cannot instantiate abstract class "Ledger" with abstract attribute "total"  [abstract]
cash = CashLedger()
assert_type(cash.total, int)
assert_type(cash.entries, list[int])
del cash.entries
cash.entries = []  # E: Property "entries" defined in "Ledger" is read-only  [misc]  # E: Incompatible types in assignment (expression has type "list[Never]", variable has type "Coroutine[Any, Any, list[int]]")  [assignment]


def helper(a: Account) -> str:
    assert_type(a.balance, int)
    return a.owner.name


class Settings:
    initial = Account().balance
    assert_type(initial, int)


# -- async code: the awaitable -------------------------------------------------


async def main(a: Account, s: Savings) -> None:
    assert_type(await a.balance, int)
    assert_type(await a.report, str)
    assert_type((await a.owner).name, str)
    assert_type(await s.rate, float)
    assert_type(await Box(2).item, int)
    assert_type(await FromPlain().remote, int)
    assert_type(a.currency, str)  # a sync property stays a value
    pending = a.balance
    assert_type(pending, Coroutine[Any, Any, int]).close()
    assert_type(Decorated().lines, AsyncIterator[str])
    assert_type([await b for b in [a.balance for _ in range(2)]], list[int])
    assert_type((lambda: a.balance)(), int)  # a lambda is sync code, even here
    a.balance  # E: Value of type "Coroutine[Any, Any, int]" must be used  [unused-coroutine]
    a.owner.name  # E: "Coroutine[Any, Any, User]" has no attribute "name"  [attr-defined]


async def ledgers(ledger: Ledger) -> None:
    assert_type(await ledger.total, int)
    assert_type(await ledger.entries, list[int])
    del ledger.entries
    assert_type(Ledger.total.sync(ledger), int)
    assert_type(await Ledger.total.aio(ledger), int)


class Premium(Savings):
    async def summary(self) -> str:
        owner = await super().owner
        return owner.name

    def label(self) -> str:
        return super().owner.name


# -- the explicit forms, in either code ------------------------------------------

assert_type(Account.balance.sync(account), int)
assert_type(Account.owner.sync(account), User)
assert_type(Account.balance.aio(account), Coroutine[Any, Any, int]).close()
assert_type(Savings.balance.sync(Savings()), int)
assert_type(Savings.rate.aio(Savings()), Coroutine[Any, Any, float]).close()
assert_type(FromPlain.remote.sync(FromPlain()), int)
assert_type(Decorated.label.sync(Decorated()), str)
assert_type(Account.report.sync(account), str)
assert_type(Account.report.aio(account), Coroutine[Any, Any, str]).close()
Account.balance.sync("account")  # E: Argument 1 to "sync" of "DualProperty" has incompatible type "str"; expected "Account"  [arg-type]


async def explicit(a: Account) -> None:
    assert_type(Account.balance.sync(a), int)
    assert_type(await Account.balance.aio(a), int)
    assert_type(await Account.report.aio(a), str)
    Account.balance.aio(a)  # E: Value of type "Coroutine[Any, Any, int]" must be used  [unused-coroutine]
