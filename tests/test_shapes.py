"""Every shape of async code a real class contains: async generators, async
context managers (protocol and @asynccontextmanager), async iterators, and
every kind of class (slots, ABC, dataclass, Protocol, Generic, metaclasses)."""

from __future__ import annotations

import abc
import asyncio
import contextlib
import copy
import dataclasses
import gc
import inspect
import pickle
from collections.abc import AsyncIterator
from typing import Any, Generic, Protocol, TypeVar

import pytest

from smartasync import SmartAsync, get_mode, set_mode, smartasync

T = TypeVar("T")


class Log:
    def __init__(self) -> None:
        self.events: list[Any] = []


class Stream(SmartAsync):
    def __init__(self) -> None:
        self.log = Log()

    async def numbers(self, n: int) -> AsyncIterator[int]:
        try:
            for i in range(n):
                await asyncio.sleep(0)
                yield i
        finally:
            await asyncio.sleep(0)  # a finally that awaits
            self.log.events.append("closed")

    @contextlib.asynccontextmanager
    async def session(self, name: str) -> AsyncIterator[str]:
        self.log.events.append(("open", name))
        try:
            yield name.upper()
        except ValueError as exc:
            self.log.events.append(("handled", str(exc)))
        finally:
            await asyncio.sleep(0)
            self.log.events.append(("close", name))


@smartasync
async def countdown(n: int) -> AsyncIterator[int]:
    while n:
        yield n
        n -= 1


# -- async generators -------------------------------------------------------------


def test_async_generator_method_is_a_plain_iterator_from_sync_code() -> None:
    stream = Stream()
    iterator = stream.numbers(3)
    assert not inspect.isasyncgen(iterator)
    assert list(iterator) == [0, 1, 2]
    assert stream.log.events == ["closed"]
    assert list(countdown(3)) == [3, 2, 1]
    assert list(stream.numbers.sync(2)) == [0, 1]


@pytest.mark.asyncio
async def test_async_generator_method_is_the_async_generator_from_async_code() -> None:
    stream = Stream()
    agen = stream.numbers(3)
    assert inspect.isasyncgen(agen)
    assert [i async for i in agen] == [0, 1, 2]
    assert [i async for i in countdown(2)] == [2, 1]
    assert [i async for i in stream.numbers.aio(2)] == [0, 1]
    assert stream.log.events == ["closed", "closed"]


def test_break_runs_the_generator_finally() -> None:
    stream = Stream()
    for i in stream.numbers(10):
        if i == 1:
            break
    gc.collect()
    assert stream.log.events == ["closed"]


def test_close_and_with_run_the_generator_finally() -> None:
    stream = Stream()
    iterator = stream.numbers(10)
    assert next(iterator) == 0
    iterator.close()  # type: ignore[attr-defined]
    assert stream.log.events == ["closed"]
    with stream.numbers(10) as it:  # type: ignore[attr-defined]
        assert next(it) == 0
    assert stream.log.events == ["closed", "closed"]
    with pytest.raises(StopIteration):
        next(iterator)


def test_dropping_an_unfinished_iterator_runs_the_generator_finally() -> None:
    stream = Stream()
    iterator = stream.numbers(10)
    next(iterator)
    del iterator
    gc.collect()
    assert stream.log.events == ["closed"]


@pytest.mark.asyncio
async def test_sync_iteration_inside_a_running_loop_still_works() -> None:
    stream = Stream()

    def consume() -> list[int]:
        return list(stream.numbers(3))

    assert consume() == [0, 1, 2]
    assert stream.log.events == ["closed"]


def test_introspection_of_async_generator_methods() -> None:
    stream = Stream()
    assert inspect.isasyncgenfunction(Stream.numbers)
    assert inspect.isasyncgenfunction(stream.numbers)
    assert inspect.isasyncgenfunction(countdown)
    assert not inspect.iscoroutinefunction(stream.numbers)


# -- asynccontextmanager methods ---------------------------------------------------------


def test_asynccontextmanager_method_works_with_with() -> None:
    stream = Stream()
    with stream.session("a") as value:
        assert value == "A"
    with stream.session("b"):
        raise ValueError("inside")  # the generator handles it: suppressed
    assert stream.log.events == [
        ("open", "a"),
        ("close", "a"),
        ("open", "b"),
        ("handled", "inside"),
        ("close", "b"),
    ]
    with pytest.raises(KeyError), stream.session("c"):
        raise KeyError("not handled")
    assert stream.log.events[-1] == ("close", "c")


@pytest.mark.asyncio
async def test_asynccontextmanager_method_works_with_async_with() -> None:
    stream = Stream()
    async with stream.session("a") as value:
        assert value == "A"
    async with stream.session("b"):
        raise ValueError("inside")
    with pytest.raises(KeyError):
        async with stream.session("c"):
            raise KeyError("not handled")
    assert ("handled", "inside") in stream.log.events
    assert stream.log.events[-1] == ("close", "c")


# -- sync twins of async protocols ----------------------------------------------------


class Resource(SmartAsync):
    def __init__(self, name: str, log: Log, suppress: bool = False) -> None:
        self.name = name
        self.log = log
        self.suppress = suppress
        self.items = [1, 2, 3]

    async def __aenter__(self) -> Resource:
        await asyncio.sleep(0)
        self.log.events.append(("enter", self.name))
        return self

    async def __aexit__(self, exc_type: Any, exc: Any, tb: Any) -> bool:
        await asyncio.sleep(0)
        self.log.events.append(("exit", self.name, exc_type, exc))
        return self.suppress

    def __aiter__(self) -> AsyncIterator[int]:
        return self._walk()  # type: ignore[return-value]  # sync code: typed as the iterator

    async def _walk(self) -> AsyncIterator[int]:
        for item in self.items:
            await asyncio.sleep(0)
            yield item


class Ticker(SmartAsync):
    """An async iterator class: __aiter__ returns self, __anext__ steps."""

    def __init__(self, n: int) -> None:
        self.n = n

    def __aiter__(self) -> Ticker:
        return self

    async def __anext__(self) -> int:
        await asyncio.sleep(0)
        if self.n == 0:
            raise StopAsyncIteration
        self.n -= 1
        return self.n


def test_with_and_nested_with_use_the_sync_twins() -> None:
    log = Log()
    with Resource("outer", log) as outer, Resource("inner", log) as inner:
        assert (outer.name, inner.name) == ("outer", "inner")
    assert log.events == [
        ("enter", "outer"),
        ("enter", "inner"),
        ("exit", "inner", None, None),
        ("exit", "outer", None, None),
    ]
    assert "__enter__" in Resource.__dict__ and "__exit__" in Resource.__dict__


def test_exceptions_reach_aexit_which_decides() -> None:
    log = Log()
    error = ValueError("boom")
    with pytest.raises(ValueError) as info, Resource("r", log):
        raise error
    assert info.value is error
    assert log.events[-1] == ("exit", "r", ValueError, error)
    with Resource("s", log, suppress=True):
        raise error
    assert log.events[-1] == ("exit", "s", ValueError, error)


@pytest.mark.asyncio
async def test_async_with_still_uses_the_async_protocol() -> None:
    log = Log()
    async with Resource("a", log) as res:
        assert [i async for i in res] == [1, 2, 3]
    with pytest.raises(ValueError):
        async with Resource("b", log):
            raise ValueError("x")
    assert log.events[-1][:3] == ("exit", "b", ValueError)


def test_for_uses_the_sync_iteration_twins() -> None:
    assert list(Resource("r", Log())) == [1, 2, 3]
    assert list(Ticker(3)) == [2, 1, 0]
    ticker = Ticker(2)
    assert next(ticker) == 1


@pytest.mark.asyncio
async def test_async_for_still_uses_the_async_protocol() -> None:
    assert [i async for i in Ticker(3)] == [2, 1, 0]


def test_twins_are_not_added_over_sync_versions_the_class_defines() -> None:
    class Both(SmartAsync):
        def __enter__(self) -> str:
            return "own sync enter"

        def __exit__(self, *exc: object) -> None:
            pass

        async def __aenter__(self) -> str:
            return "async enter"

        async def __aexit__(self, *exc: object) -> None:
            pass

    with Both() as value:
        assert value == "own sync enter"


# -- every kind of class --------------------------------------------------------------


class Slotted(SmartAsync):
    __slots__ = ("value",)

    def __init__(self, value: int) -> None:
        self.value = value

    async def get(self) -> int:
        return self.value


def test_slotted_class_works() -> None:
    obj = Slotted(4)
    assert obj.get() == 4
    assert not hasattr(obj, "__dict__")


@pytest.mark.asyncio
async def test_slotted_class_from_async_code() -> None:
    assert await Slotted(5).get() == 5


class Shape(SmartAsync, abc.ABC):
    @abc.abstractmethod
    async def area(self) -> float: ...

    async def doubled(self) -> float:
        return 2 * await self.area()


class Square(Shape):
    def __init__(self, side: float) -> None:
        self.side = side

    async def area(self) -> float:
        return self.side**2


def test_abstract_async_methods_keep_the_class_abstract() -> None:
    with pytest.raises(TypeError, match="abstract"):
        Shape()  # type: ignore[abstract]
    assert Square(3).area() == 9
    assert Square(3).doubled() == 18
    assert Shape.area.__isabstractmethod__


@pytest.mark.asyncio
async def test_abstract_base_from_async_code() -> None:
    assert await Square(2).doubled() == 8


@smartasync
@dataclasses.dataclass
class PointA:
    x: int
    y: int

    async def norm1(self) -> int:
        return abs(self.x) + abs(self.y)


@dataclasses.dataclass(frozen=True)
@smartasync
class PointB:
    x: int
    y: int

    async def norm1(self) -> int:
        return abs(self.x) + abs(self.y)


@dataclasses.dataclass(slots=True)
class PointC(SmartAsync):
    x: int
    y: int

    async def norm1(self) -> int:
        return abs(self.x) + abs(self.y)


def test_dataclasses_in_either_decorator_order() -> None:
    for cls in (PointA, PointB, PointC):
        point = cls(1, -2)
        assert point.norm1() == 3
        assert point == cls(1, -2)
    set_mode(PointB(1, 1), "async")  # frozen: the mode still finds room
    frozen = PointB(1, 1)
    set_mode(frozen, "async")
    coro = frozen.norm1()
    assert inspect.iscoroutine(coro)
    coro.close()


@pytest.mark.asyncio
async def test_dataclasses_from_async_code() -> None:
    assert await PointA(1, 2).norm1() == 3
    assert await PointB(1, 2).norm1() == 3
    assert await PointC(1, 2).norm1() == 3


# typing.Protocol accepts only protocols as bases, so a smart protocol uses the
# decorator form; its explicit subclasses are walked like any subclass.
@smartasync
class Repository(Protocol):
    async def load(self, key: str) -> str: ...


class MemoryRepository(Repository):
    async def load(self, key: str) -> str:
        return f"memory:{key}"


class Box(SmartAsync, Generic[T]):
    def __init__(self, item: T) -> None:
        self.item = item

    async def get(self) -> T:
        await asyncio.sleep(0)
        return self.item


def test_protocol_and_generic_smart_classes() -> None:
    assert MemoryRepository().load("k") == "memory:k"
    assert Box[int](3).get() == 3
    assert Box("s").get() == "s"


@pytest.mark.asyncio
async def test_protocol_and_generic_from_async_code() -> None:
    assert await MemoryRepository().load("k") == "memory:k"
    assert await Box[int](3).get() == 3


class Meta(type):
    created: list[str] = []  # noqa: RUF012

    def __new__(mcls, name: str, bases: tuple[type, ...], ns: dict[str, Any], **kw: Any) -> Meta:
        cls = super().__new__(mcls, name, bases, ns, **kw)
        mcls.created.append(name)
        return cls


class WithMeta(SmartAsync, metaclass=Meta):
    async def ping(self) -> str:
        return "pong"


class WithABCMeta(SmartAsync, metaclass=abc.ABCMeta):
    async def ping(self) -> str:
        return "pong"


@smartasync
class DecoratedWithMeta(metaclass=Meta):
    async def ping(self) -> str:
        return "pong"


def test_classes_with_their_own_metaclass() -> None:
    assert WithMeta().ping() == "pong"
    assert WithABCMeta().ping() == "pong"
    assert DecoratedWithMeta().ping() == "pong"
    assert {"WithMeta", "DecoratedWithMeta"} <= set(Meta.created)


@pytest.mark.asyncio
async def test_classes_with_their_own_metaclass_from_async_code() -> None:
    assert await WithMeta().ping() == "pong"
    assert await DecoratedWithMeta().ping() == "pong"


class Picklable(SmartAsync):
    def __init__(self, value: int) -> None:
        self.value = value

    async def get(self) -> int:
        return self.value


def test_pickle_and_copy_of_instances_keep_data_and_mode() -> None:
    obj = Picklable(3)
    set_mode(obj, "sync")
    for clone in (pickle.loads(pickle.dumps(obj)), copy.copy(obj), copy.deepcopy(obj)):
        assert clone.value == 3
        assert get_mode(clone) == "sync"
        assert clone.get() == 3
    assert Picklable(4).get() == 4


def test_plain_attributes_and_properties_are_untouched() -> None:
    class Holder(SmartAsync):
        constant = 5
        names = ("a", "b")

        @property
        def computed(self) -> int:
            return self.constant * 2

        async def fetch(self) -> int:
            return self.computed

    holder = Holder()
    assert Holder.__dict__["constant"] == 5 and holder.names == ("a", "b")
    assert holder.computed == 10 and holder.fetch() == 10
