"""Async properties on sync-first stubs, for checkers without the mypy plugin.

Read from an instance, an async property is the value; the explicit forms
`Cls.prop.sync(obj)` and `Cls.prop.aio(obj)` are exact in any code.  Lines
marked `# E` must have an error; no other line may.
"""

from __future__ import annotations

from collections.abc import Iterator
from types import CoroutineType
from typing import Any, assert_type

from proplib import Account, Box, CashLedger, Decorated, FromPlain, Ledger, Savings, User

account = Account(3)
assert_type(account.balance, int)
assert_type(account.owner, User)
assert_type(account.owner.name, str)
assert_type(account.report, str)
assert_type(account.currency, str)
assert_type(Savings().rate, float)
assert_type(Savings().balance, int)
assert_type(Savings().owner, User)
assert_type(Decorated().label, str)
assert_type(Decorated().lines, Iterator[str])
assert_type(Box(1).item, int)
assert_type(FromPlain().remote, int)
account.balance = 4
account.balance = "4"  # E
account.owner = User("x")  # E
del account.owner  # E  # pyrefly-misses: no deleter
del account.balance  # a setter's facade allows del (it also stands for cached properties)

# An abstract async property stays abstract; one with a deleter and no setter
# can be deleted, not set.
Ledger()  # E  # pyrefly-misses ty-misses: abstract
cash = CashLedger()
assert_type(cash.total, int)
assert_type(cash.entries, list[int])
del cash.entries
cash.entries = []  # E


def helper(a: Account) -> str:
    return a.owner.name


def audit(ledger: Ledger) -> int:
    assert_type(Ledger.total.sync(ledger), int)
    assert_type(Ledger.total.aio(ledger), CoroutineType[Any, Any, int]).close()
    assert_type(Ledger.entries.sync(ledger), list[int])
    del ledger.entries
    return ledger.total + len(ledger.entries)


# -- the explicit forms ----------------------------------------------------------

assert_type(Account.balance.sync(account), int)
assert_type(Account.owner.sync(account), User)
assert_type(Account.balance.aio(account), CoroutineType[Any, Any, int]).close()
assert_type(Savings.rate.sync(Savings()), float)
assert_type(Savings.balance.sync(Savings()), int)
assert_type(FromPlain.remote.sync(FromPlain()), int)
assert_type(Decorated.label.sync(Decorated()), str)
assert_type(Account.report.sync(account), str)
assert_type(Account.report.aio(account), CoroutineType[Any, Any, str]).close()
Account.balance.sync("account")  # E


async def main(a: Account) -> None:
    assert_type(await Account.balance.aio(a), int)
    assert_type(await Account.owner.aio(a), User)
    assert_type(await Account.report.aio(a), str)
    assert_type(Account.balance.sync(a), int)
    Account.balance.aio(a)  # E
