"""Class walking: what a smart class gets, in both forms, and introspection."""

from __future__ import annotations

import asyncio
import inspect
import pickle
import types
from types import FunctionType
from typing import Any

import pytest

from smartasync import SmartAsync, async_only, smartasync


class Base(SmartAsync):
    """A smart base with every kind of async method."""

    def __init__(self, factor: int = 2) -> None:
        self.factor = factor

    async def scale(self, x: int, /, offset: int = 0, *, extra: int = 0) -> int:
        """Multiply by the factor."""
        await asyncio.sleep(0)
        return x * self.factor + offset + extra

    async def _private(self) -> str:
        return "private"

    @classmethod
    async def create(cls, factor: int) -> Base:
        await asyncio.sleep(0)
        return cls(factor)

    @staticmethod
    async def add(a: int, b: int) -> int:
        return a + b

    @async_only
    async def raw(self) -> str:
        return "raw"

    def plain(self) -> str:
        return "plain"

    @property
    def description(self) -> str:
        return f"factor {self.factor}"

    async def __custom__(self) -> str:  # a dunder: never wrapped
        return "dunder"


class Child(Base):
    async def scale(self, x: int, /, offset: int = 0, *, extra: int = 0) -> int:
        base = await super().scale(x, offset, extra=extra)
        return base + 1000

    def sync_super(self, x: int) -> int:
        return super().scale(x)


class GrandChild(Child):
    async def scale(self, x: int, /, offset: int = 0, *, extra: int = 0) -> int:
        return await super().scale(x, offset, extra=extra) + 1


@smartasync
class Decorated:
    def __init__(self) -> None:
        self.log: list[str] = []

    async def hello(self, name: str) -> str:
        self.log.append(name)
        return f"hello {name}"


class DecoratedChild(Decorated):
    async def bye(self, name: str) -> str:
        return f"bye {name}"


class ThirdParty:
    """Not smart: stands for a library class."""

    async def fetch(self, key: str) -> str:
        await asyncio.sleep(0)
        return f"value of {key}"

    async def _internal(self) -> str:
        return "internal"

    def sync_helper(self) -> str:
        return "sync"


class Adapted(SmartAsync, ThirdParty):
    pass


# -- every kind of async method -----------------------------------------------------


def test_instance_class_static_and_private_methods_are_dual_from_sync_code() -> None:
    obj = Base(3)
    assert obj.scale(2) == 6
    assert obj.scale(2, 1, extra=1) == 8
    created = Base.create(5)
    assert isinstance(created, Base)
    assert created.factor == 5
    assert obj.create(4).factor == 4
    assert Base.add(1, 2) == 3 and obj.add(2, 2) == 4
    assert obj._private() == "private"


@pytest.mark.asyncio
async def test_instance_class_static_and_private_methods_are_dual_from_async_code() -> None:
    obj = Base(3)
    assert await obj.scale(2, offset=1) == 7
    assert (await Base.create(5)).factor == 5
    assert await Base.add(1, 2) == 3
    assert await obj._private() == "private"


def test_async_only_dunders_plain_methods_and_properties_are_left_alone() -> None:
    obj = Base()
    coro = obj.raw()
    assert inspect.iscoroutine(coro)
    coro.close()
    assert Base.__dict__["raw"] is Base.raw  # the function itself
    dunder = obj.__custom__()
    assert inspect.iscoroutine(dunder)
    dunder.close()
    assert obj.plain() == "plain"
    assert obj.description == "factor 2"
    assert isinstance(Base.__dict__["description"], property)


@pytest.mark.asyncio
async def test_async_only_returns_the_coroutine_in_async_code_too() -> None:
    assert await Base().raw() == "raw"


# -- subclasses, super(), decorator form ---------------------------------------------


def test_overrides_are_dual_and_super_works_from_sync_code() -> None:
    assert Child(2).scale(3) == 1006
    assert GrandChild(2).scale(3, 1) == 1008
    assert Child(2).sync_super(4) == 8


@pytest.mark.asyncio
async def test_overrides_are_dual_and_super_works_from_async_code() -> None:
    assert await Child(2).scale(3) == 1006
    assert await GrandChild(2).scale(3, 1) == 1008


def test_decorator_form_walks_the_class_and_its_subclasses() -> None:
    obj = DecoratedChild()
    assert obj.hello("a") == "hello a"
    assert obj.bye("b") == "bye b"
    assert obj.log == ["a"]


@pytest.mark.asyncio
async def test_decorator_form_from_async_code() -> None:
    obj = DecoratedChild()
    assert await obj.hello("a") == "hello a"
    assert await obj.bye("b") == "bye b"


def test_decorator_form_keeps_the_class_own_init_subclass() -> None:
    seen: list[str] = []

    @smartasync
    class Registry:
        def __init_subclass__(cls, tag: str = "", **kwargs: Any) -> None:
            super().__init_subclass__(**kwargs)
            seen.append(f"{cls.__name__}:{tag}")

    class Plugin(Registry, tag="x"):
        async def run(self) -> int:
            return 1

    assert seen == ["Plugin:x"]
    assert Plugin().run() == 1


# -- inherited from non-smart bases -----------------------------------------------------


def test_public_async_methods_of_a_non_smart_base_become_dual() -> None:
    obj = Adapted()
    assert obj.fetch("k") == "value of k"
    assert obj.sync_helper() == "sync"
    internal = obj._internal()  # private ones of a foreign base stay as written
    assert inspect.iscoroutine(internal)
    internal.close()


@pytest.mark.asyncio
async def test_public_async_methods_of_a_non_smart_base_from_async_code() -> None:
    assert await Adapted().fetch("k") == "value of k"


# -- explicit forms (under modes: test_modes) --------------------------------------------


def test_explicit_forms_from_sync_code() -> None:
    obj = Base()
    assert obj.scale.sync(3) == 6
    coro = obj.scale.aio(3)
    assert asyncio.run(coro) == 6
    assert Base.scale.sync(obj, 4) == 8
    assert Base.add.sync(1, 1) == 2


@pytest.mark.asyncio
async def test_explicit_forms_from_async_code() -> None:
    obj = Base()
    assert obj.scale.sync(3) == 6
    assert await obj.scale.aio(3) == 6
    assert await Base.scale.aio(obj, 4) == 8
    assert Base.add.sync(1, 1) == 2


# -- introspection ----------------------------------------------------------------------


def test_introspection_of_function_class_attribute_and_bound_method() -> None:
    obj = Base()
    for target in (Base.scale, obj.scale, Base.__dict__["scale"]):
        assert inspect.iscoroutinefunction(target)
        assert target.__name__ == "scale"
        assert target.__qualname__ == "Base.scale"
        assert target.__doc__ == "Multiply by the factor."
        assert target.__module__ == __name__
    assert (
        str(inspect.signature(obj.scale))
        == "(x: 'int', /, offset: 'int' = 0, *, extra: 'int' = 0) -> 'int'"
    )
    assert str(inspect.signature(Base.scale)).startswith("(self, x: 'int', /")
    assert obj.scale.__wrapped__ is Base.__dict__["scale"].__wrapped__
    assert obj.scale.__self__ is obj
    assert obj.scale.__func__ is Base.__dict__["scale"]
    assert obj.scale == obj.scale and hash(obj.scale) == hash(obj.scale)
    assert obj.scale != Base().scale
    assert inspect.iscoroutinefunction(Base.create) and inspect.iscoroutinefunction(obj.add)


def test_help_shows_the_signature_and_doc() -> None:
    import pydoc

    text = pydoc.render_doc(Base().scale, renderer=pydoc.plaintext)  # type: ignore[attr-defined]
    assert "async scale(x: 'int', /, offset: 'int' = 0, *, extra: 'int' = 0)" in text
    text = pydoc.render_doc(Base.scale, renderer=pydoc.plaintext)  # type: ignore[attr-defined]
    assert "Multiply by the factor." in text


def test_module_level_function_introspection() -> None:
    @smartasync
    async def fetch(url: str, timeout: float = 1.0) -> str:
        """Fetch a URL."""
        return url

    assert inspect.iscoroutinefunction(fetch)
    assert fetch.__name__ == "fetch"
    assert fetch.__doc__ == "Fetch a URL."
    assert str(inspect.signature(fetch)) == "(url: 'str', timeout: 'float' = 1.0) -> 'str'"
    assert fetch("x") == "x"
    assert fetch("y", timeout=2) == "y"  # after specialisation, still the same answers
    assert inspect.iscoroutinefunction(fetch) and fetch.__doc__ == "Fetch a URL."


def test_bound_methods_pickle_with_their_instance() -> None:
    obj = Base(7)
    restored = pickle.loads(pickle.dumps(obj.scale))
    assert restored(1) == 7


def test_generated_signatures_reject_bad_calls_like_the_original() -> None:
    obj = Base()
    with pytest.raises(TypeError):
        obj.scale(x=1)  # type: ignore[call-arg]  # positional-only
    with pytest.raises(TypeError):
        obj.scale(1, 2, 3)  # type: ignore[call-arg]  # extra is keyword-only
    with pytest.raises(TypeError):
        obj.scale.sync()  # type: ignore[call-arg]


def test_parameter_names_that_clash_with_internals_still_work() -> None:
    class Odd(SmartAsync):
        async def m(self, __sa_b: int, *args: int, **kwargs: int) -> int:
            return __sa_b + sum(args) + sum(kwargs.values())

    assert Odd().m(1, 2, z=3) == 6


def _odd_namespace_class() -> type:
    """A class whose namespace has names a `class` statement cannot write
    (an empty one, one-character ones), as `type()` or a metaclass's
    `__prepare__` can make: the walk must take them in its stride."""

    async def get(self: Any, x: int) -> int:
        return x + 1

    return type("Odd", (SmartAsync,), {"": 1, "_": 2, "x": 3, "get": get})


def test_a_namespace_with_odd_names_is_walked_from_sync_code() -> None:
    odd = _odd_namespace_class()()
    assert odd.get(1) == 2
    assert odd.x == 3 and vars(type(odd))[""] == 1


@pytest.mark.asyncio
async def test_a_namespace_with_odd_names_is_walked_from_async_code() -> None:
    odd = _odd_namespace_class()()
    assert await odd.get(1) == 2


# -- the walker's own constructor ----------------------------------------------------


def _walked_and_built() -> tuple[Any, Any]:
    from smartasync._dual import DualFunction, member_dual
    from smartasync._kinds import COROUTINE

    async def fetch(self: Any, x: int) -> int:
        return x

    fetch.marker = "kept"  # type: ignore[attr-defined]
    assert isinstance(fetch, FunctionType)
    return member_dual(fetch, COROUTINE, fetch.__dict__), DualFunction(fetch, COROUTINE, None, True)


def test_the_walker_makes_what_the_constructor_makes() -> None:
    """`member_dual` repeats `DualFunction.__init__` without the call into
    Python (decoration time is budgeted): every slot and attribute must come
    out the same, including a slot added later."""
    walked, built = _walked_and_built()
    assert type(walked) is type(built)
    # (With the C accelerator, the slots are fields of its base type: member
    # descriptors in that type's dict.)
    slots = {
        name
        for klass in type(built).__mro__
        for name in [
            *getattr(klass, "__slots__", ()),
            *(n for n, v in vars(klass).items() if isinstance(v, types.MemberDescriptorType)),
        ]
        if name not in ("__dict__", "__weakref__")
    }
    assert slots >= {"__wrapped__", "__qualname__", "_kind", "_mode", "_smart", "_uses"}
    for name in sorted(slots):
        assert getattr(walked, name, "<unset>") == getattr(built, name, "<unset>"), name
    assert walked.__dict__ == built.__dict__ == {"marker": "kept"}


@pytest.mark.asyncio
async def test_the_walker_and_the_constructor_answer_an_await_alike() -> None:
    walked, built = _walked_and_built()
    assert await walked(None, 3) == await built(None, 3) == 3
