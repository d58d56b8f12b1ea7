# The stubs of proplib.py as `python -m smartasync stubgen` is to write them (async-first).
import abc
from abc import abstractmethod
from collections.abc import AsyncIterator, Callable
from typing import Generic, TypeVar

from smartasync import SmartAsync, smartasync
from smartasync._typing import AsyncFirstDeletableProperty as _AsyncFirstDeletableProperty
from smartasync._typing import AsyncFirstProperty as _AsyncFirstProperty
from smartasync._typing import AsyncFirstSettableProperty as _AsyncFirstSettableProperty

T = TypeVar("T")
_MemberT = TypeVar("_MemberT")

# An abstract async property: a def (`@abstractmethod` needs one) that this
# decorator types as the facade.
def _dual_member(f: Callable[..., _MemberT], /) -> _MemberT: ...

class User:
    name: str
    def __init__(self, name: str) -> None: ...

class Account(SmartAsync):
    """The smart base form: a read-only, a settable and a cached async property."""

    def __init__(self, balance: int = 0) -> None: ...
    owner: _AsyncFirstProperty[Account, User]
    balance: _AsyncFirstSettableProperty[Account, int, int]
    report: _AsyncFirstSettableProperty[Account, str, str]
    @property
    def currency(self) -> str: ...

class Savings(Account):
    """An indirect subclass: its own async properties are dual too."""

    rate: _AsyncFirstProperty[Savings, float]
    owner: _AsyncFirstProperty[Savings, User]

@smartasync
class Decorated:
    """The class decorator form."""

    label: _AsyncFirstProperty[Decorated, str]
    @property
    def lines(self) -> AsyncIterator[str]: ...

class Box(SmartAsync, Generic[T]):
    """Generic: the property's type is read through the receiver."""

    def __init__(self, item: T) -> None: ...
    item: _AsyncFirstProperty[Box[T], T]

class PlainBase:
    """Not smart: its async properties stay coroutines, here and in plain subclasses."""

    @property
    async def remote(self) -> int: ...
    @property
    async def _hidden(self) -> int: ...

class FromPlain(SmartAsync, PlainBase):
    """A smart class makes a plain base's public async properties dual."""

    remote: _AsyncFirstProperty[FromPlain, int]

class Ledger(SmartAsync, abc.ABC):
    """Abstract: `total` must be implemented; `entries` can be deleted, not set."""

    @_dual_member
    @abstractmethod
    def total(self) -> _AsyncFirstProperty[Ledger, int]: ...
    entries: _AsyncFirstDeletableProperty[Ledger, list[int]]

class CashLedger(Ledger):
    total: _AsyncFirstProperty[CashLedger, int]
