"""Async properties of a smart class are dual: `@property` over an `async
def` gives sync code the value and async code an awaitable, decided by the
frame that reads it, under the instance's and the class's mode, on the
object's home loop while it is entered.  `functools.cached_property` over an
`async def` caches the awaited value.

Type checkers do not know yet that a property read depends on the caller
(the mypy plugin types it as the getter's coroutine), so the objects here are
read through `Any`."""

from __future__ import annotations

import asyncio
import functools
import inspect
import threading
from typing import Any

import pytest

from smartasync import SmartAsync, set_mode, smartasync


class Account(SmartAsync):
    def __init__(self, balance: int = 10) -> None:
        self._balance = balance
        self.loops: list[asyncio.AbstractEventLoop] = []
        self.entered_on: asyncio.AbstractEventLoop | None = None
        self.computed = 0

    @property
    async def balance(self) -> int:
        """The balance, read from the bank."""
        self.loops.append(asyncio.get_running_loop())
        await asyncio.sleep(0)
        return self._balance

    @balance.setter
    def balance(self, value: int) -> None:
        self._balance = value

    @balance.deleter
    def balance(self) -> None:
        self._balance = 0

    @property
    def plain(self) -> str:
        return "plain"

    @functools.cached_property
    async def report(self) -> str:
        self.computed += 1
        await asyncio.sleep(0)
        return f"report {self.computed}"

    async def __aenter__(self) -> Account:
        self.entered_on = asyncio.get_running_loop()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        pass


@smartasync
class Decorated:
    @property
    async def name(self) -> str:
        return "decorated"


class Savings(Account):
    @property
    async def balance(self) -> int:  # an override, no decorator
        return 1000

    @balance.setter
    def balance(self, value: int) -> None:
        pass


class Ledger(Account):
    @functools.cached_property
    async def total(self) -> int:
        self.loops.append(asyncio.get_running_loop())
        await asyncio.sleep(0)
        return self._balance


def dual(obj: object) -> Any:
    """`obj`, for reads that the type checker cannot type yet."""
    return obj


def read_balance(account: Account) -> Any:
    """Sync code reading the property (also when called from async code)."""
    return account.balance


# -- sync code --------------------------------------------------------------------


def test_sync_code_reads_the_value() -> None:
    account: Any = Account()
    assert account.balance == 10
    assert dual(Decorated()).name == "decorated"
    assert dual(Savings()).balance == 1000


def test_setter_and_deleter_keep_working() -> None:
    account: Any = Account()
    account.balance = 42
    assert account.balance == 42
    del account.balance
    assert account.balance == 0


def test_it_is_still_a_property_with_its_doc() -> None:
    raw = Account.__dict__["balance"]
    assert isinstance(raw, property)
    assert isinstance(Account.balance, property)
    assert Account.balance.__doc__ == "The balance, read from the bank."
    assert inspect.iscoroutinefunction(raw.fget)
    assert Account().plain == "plain"  # sync properties are untouched
    assert type(Account.__dict__["plain"]) is property


def test_explicit_forms_on_the_class_attribute() -> None:
    account: Any = Account(7)
    assert dual(Account).balance.sync(account) == 7
    coro = dual(Account).balance.aio(account)
    assert inspect.iscoroutine(coro)
    assert asyncio.run(coro) == 7


def test_async_mode_gives_sync_code_the_awaitable() -> None:
    account: Any = Account(3)
    set_mode(account, "async")
    coro = account.balance
    assert inspect.iscoroutine(coro)
    assert asyncio.run(coro) == 3


def test_errors_come_out_of_the_read() -> None:
    class Broken(SmartAsync):
        @property
        async def value(self) -> int:
            raise LookupError("no value")

    with pytest.raises(LookupError, match="no value"):
        dual(Broken()).value  # noqa: B018


def test_reads_share_the_sync_loop_across_threads() -> None:
    account: Any = Account()
    assert account.balance == 10
    thread = threading.Thread(target=read_balance, args=(account,))
    thread.start()
    thread.join(30)
    assert len(account.loops) == 2 and account.loops[0] is account.loops[1]


def test_home_loop_with_reads_run_where_the_object_was_entered() -> None:
    with Account(5) as entered:
        account = dual(entered)
        assert account.balance == 5
        box: list[Any] = []
        thread = threading.Thread(target=lambda: box.append(read_balance(account)))
        thread.start()
        thread.join(30)
        assert box == [5]
    assert account.loops and all(loop is account.entered_on for loop in account.loops)


def test_cached_property_runs_once_and_gives_the_value() -> None:
    account: Any = Account()
    assert account.report == "report 1"
    assert account.report == "report 1"
    assert account.computed == 1
    account.report = "set by hand"
    assert account.report == "set by hand"
    del account.report
    assert account.report == "report 2"


def test_cached_property_needs_an_instance_dict() -> None:
    class Slotted(SmartAsync):
        __slots__ = ()

        @functools.cached_property
        async def value(self) -> int:
            return 1

    with pytest.raises(TypeError, match="No '__dict__'"):
        dual(Slotted()).value  # noqa: B018


def test_cached_property_explicit_forms() -> None:
    account: Any = Account()
    report = dual(Account).report
    awaitable = report.aio(account)
    assert account.computed == 0  # nothing runs before the await
    assert asyncio.run(awaitable) == "report 1"
    assert report.sync(account) == "report 1"  # from the cache the await filled
    assert asyncio.run(report.aio(account)) == "report 1"
    assert account.computed == 1
    del account.report
    assert report.sync(account) == "report 2"  # runs the getter, fills the cache
    assert account.report == "report 2" and account.computed == 2
    with pytest.raises(TypeError, match="No '__dict__'"):
        report.sync(object())


def test_cached_property_explicit_sync_runs_on_the_home_loop() -> None:
    with Ledger(5) as entered:
        ledger = dual(entered)
        box: list[Any] = []
        thread = threading.Thread(target=lambda: box.append(dual(Ledger).total.sync(ledger)))
        thread.start()
        thread.join(30)
        assert box == [5]
        assert dual(Ledger).total.sync(ledger) == 5  # cached: the getter ran once
    assert ledger.loops == [ledger.entered_on]


def test_smartasync_on_a_property_says_to_make_the_class_smart() -> None:
    async def fget(self: Any) -> int:
        return 1

    with pytest.raises(TypeError, match="dual when its class is smart"):
        smartasync(property(fget))  # type: ignore[call-overload]


def test_classes_that_are_not_smart_are_left_alone() -> None:
    class Plain:
        @property
        async def value(self) -> int:
            return 1

    coro = Plain().value
    assert inspect.iscoroutine(coro)
    assert asyncio.run(coro) == 1


# -- async code -------------------------------------------------------------------


@pytest.mark.asyncio
async def test_async_code_awaits_the_property() -> None:
    account: Any = Account()
    awaitable = account.balance
    assert inspect.iscoroutine(awaitable)
    assert await awaitable == 10
    assert await dual(Decorated()).name == "decorated"
    assert await dual(Savings()).balance == 1000
    assert account.loops == [asyncio.get_running_loop()]


@pytest.mark.asyncio
async def test_async_code_in_comprehensions_and_gather() -> None:
    accounts: Any = [Account(i) for i in range(3)]
    assert await asyncio.gather(*(a.balance for a in accounts)) == [0, 1, 2]
    assert [await a.balance for a in accounts] == [0, 1, 2]


@pytest.mark.asyncio
async def test_a_sync_helper_inside_async_code_gets_the_value() -> None:
    account: Any = made_in_sync_code(4)  # lives on the sync loop
    assert read_balance(account) == 4
    assert account.loops[0] is not asyncio.get_running_loop()


@pytest.mark.asyncio
async def test_a_sync_helper_on_the_home_loop_is_told_to_await() -> None:
    account: Any = Account(4)  # an async context manager made here: it lives on this loop
    with pytest.raises(RuntimeError, match="await"):
        read_balance(account)
    assert await account.balance == 4


def made_in_sync_code(balance: int) -> Account:
    return Account(balance)


@pytest.mark.asyncio
async def test_setter_from_async_code() -> None:
    account: Any = Account()
    account.balance = 8
    assert await account.balance == 8


@pytest.mark.asyncio
async def test_sync_mode_gives_async_code_the_value_and_says_so_when_awaited() -> None:
    account: Any = made_in_sync_code(6)
    set_mode(account, "sync")
    assert account.balance == 6
    with pytest.raises(TypeError, match=r"Account\.balance\.aio\(obj\)") as caught:
        await account.balance
    assert "can't be used in 'await' expression" in str(caught.value)
    assert await dual(Account).balance.aio(account) == 6


@pytest.mark.asyncio
async def test_explicit_forms_from_async_code() -> None:
    account: Any = made_in_sync_code(9)
    assert await dual(Account).balance.aio(account) == 9

    def blocking() -> int:
        value: int = dual(Account).balance.sync(account)
        return value

    assert blocking() == 9


@pytest.mark.asyncio
async def test_cached_property_explicit_forms_from_async_code() -> None:
    total = dual(Ledger).total
    async with Ledger(11) as entered:  # its home is this loop
        ledger = dual(entered)
        assert await total.aio(ledger) == 11
        assert await total.aio(ledger) == 11  # from the cache
        assert total.sync(ledger) == 11  # the cached value: nothing to run
        del ledger.total
        with pytest.raises(RuntimeError, match="await"):
            total.sync(ledger)  # would block the loop the getter must run on
        # from another thread, both forms run the getter on the home loop
        assert await asyncio.to_thread(total.sync, ledger) == 11
        del ledger.total
        assert await asyncio.to_thread(lambda: asyncio.run(total.aio(ledger))) == 11
        assert ledger.__dict__["total"] == 11
    assert len(ledger.loops) == 3
    assert all(loop is asyncio.get_running_loop() for loop in ledger.loops)


@pytest.mark.asyncio
async def test_cached_property_from_async_code_awaits_each_time() -> None:
    account: Any = Account()
    assert await account.report == "report 1"
    assert await account.report == "report 1"  # the value, wrapped: awaitable again
    assert account.computed == 1
    assert read_balance_report(account) == "report 1"  # and sync code sees it


def read_balance_report(account: Account) -> Any:
    return account.report


@pytest.mark.asyncio
async def test_cached_property_filled_by_sync_code_is_awaitable_in_async_code() -> None:
    account: Any = made_in_sync_code(10)
    assert read_balance_report(account) == "report 1"
    assert await account.report == "report 1"
    assert account.computed == 1


@pytest.mark.asyncio
async def test_home_loop_async_with_reads_from_a_thread_run_on_the_home_loop() -> None:
    async with Account(11) as entered:
        account = dual(entered)
        assert await account.balance == 11
        assert await asyncio.to_thread(read_balance, account) == 11
    assert len(account.loops) == 2
    assert all(loop is asyncio.get_running_loop() for loop in account.loops)
