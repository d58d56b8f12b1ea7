"""Async properties on async-first stubs, for checkers without the mypy plugin.

Read from an instance, an async property is the awaitable; the explicit
forms `Cls.prop.sync(obj)` and `Cls.prop.aio(obj)` are exact in any code.
Lines marked `# E` must have an error; no other line may.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from types import CoroutineType
from typing import Any, assert_type

from proplib import Account, Box, CashLedger, Decorated, FromPlain, Ledger, Savings, User


async def main(a: Account, s: Savings) -> None:
    assert_type(await a.balance, int)
    assert_type(await a.report, str)
    assert_type((await a.owner).name, str)
    assert_type(await s.rate, float)
    assert_type(await s.owner, User)
    assert_type(await Box(2).item, int)
    assert_type(await FromPlain().remote, int)
    assert_type(await Decorated().label, str)
    assert_type(Decorated().lines, AsyncIterator[str])
    assert_type(a.currency, str)
    a.balance = 4
    a.balance = "4"  # E
    a.balance  # E  # pyright-misses: reportUnusedCoroutine looks at calls only
    a.owner.name  # E
    del a.owner  # E  # pyrefly-misses: no deleter


async def ledgers(ledger: Ledger) -> None:
    # An abstract async property stays abstract; one with a deleter and no
    # setter can be deleted, not set.
    Ledger()  # E  # pyrefly-misses ty-misses: abstract
    assert_type(await CashLedger().total, int)
    assert_type(await ledger.total, int)
    assert_type(await ledger.entries, list[int])
    del ledger.entries
    ledger.entries = []  # E
    assert_type(Ledger.total.sync(ledger), int)
    assert_type(await Ledger.total.aio(ledger), int)


# -- the explicit forms ----------------------------------------------------------


def helper(a: Account) -> str:
    assert_type(Account.balance.sync(a), int)
    assert_type(Account.balance.aio(a), CoroutineType[Any, Any, int]).close()
    assert_type(Savings.rate.sync(Savings()), float)
    assert_type(FromPlain.remote.sync(FromPlain()), int)
    assert_type(Decorated.label.sync(Decorated()), str)
    assert_type(Account.report.sync(a), str)
    Account.balance.sync("account")  # E
    return Account.owner.sync(a).name


async def explicit(a: Account) -> None:
    assert_type(await Account.balance.aio(a), int)
    assert_type(await Account.report.aio(a), str)
    assert_type(Account.owner.sync(a), User)
    Account.balance.aio(a)  # E
