# The stubs of proplib.py as `python -m smartasync stubgen` is to write them (sync-first).
import abc
from abc import abstractmethod
from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

from smartasync import SmartAsync, smartasync
from smartasync._typing import SyncFirstDeletableProperty as _SyncFirstDeletableProperty
from smartasync._typing import SyncFirstProperty as _SyncFirstProperty
from smartasync._typing import SyncFirstSettableProperty as _SyncFirstSettableProperty

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
    owner: _SyncFirstProperty[Account, User]
    balance: _SyncFirstSettableProperty[Account, int, int]
    report: _SyncFirstSettableProperty[Account, str, str]
    @property
    def currency(self) -> str: ...

class Savings(Account):
    """An indirect subclass: its own async properties are dual too."""

    rate: _SyncFirstProperty[Savings, float]
    owner: _SyncFirstProperty[Savings, User]

@smartasync
class Decorated:
    """The class decorator form."""

    label: _SyncFirstProperty[Decorated, str]
    @property
    def lines(self) -> Iterator[str]: ...

class Box(SmartAsync, Generic[T]):
    """Generic: the property's type is read through the receiver."""

    def __init__(self, item: T) -> None: ...
    item: _SyncFirstProperty[Box[T], T]

class PlainBase:
    """Not smart: its async properties stay coroutines, here and in plain subclasses."""

    @property
    async def remote(self) -> int: ...
    @property
    async def _hidden(self) -> int: ...

class FromPlain(SmartAsync, PlainBase):
    """A smart class makes a plain base's public async properties dual."""

    remote: _SyncFirstProperty[FromPlain, int]

class Ledger(SmartAsync, abc.ABC):
    """Abstract: `total` must be implemented; `entries` can be deleted, not set."""

    @_dual_member
    @abstractmethod
    def total(self) -> _SyncFirstProperty[Ledger, int]: ...
    entries: _SyncFirstDeletableProperty[Ledger, list[int]]

class CashLedger(Ledger):
    total: _SyncFirstProperty[CashLedger, int]
