"""Class walking: what a smart class gets.

A class becomes smart by `@smartasync` or by inheriting from `SmartAsync`.
Walking it replaces every `async def` in its body (instance, class and static
methods, private ones too, never dunders) with a dual callable, makes public
async methods inherited from non-smart bases dual as well, and adds sync twins
for `__aenter__`/`__aexit__` and `__aiter__`/`__anext__` where the class has
no sync version.  Subclasses are walked as they are created, through
`__init_subclass__`: never a metaclass, so any metaclass of the user's works.
"""

from __future__ import annotations

import typing
from types import FunctionType, MemberDescriptorType
from typing import Any, Final

from ._contexts import twin_enter, twin_exit
from ._convert import ASYNC_ONLY_MARK, to_dual
from ._dual import DualFunction
from ._home import BORN_KEY, BOUND_KEY, WRAPPED_MARK, mark_class, wrap_aenter, wrap_aexit
from ._iter import twin_iter, twin_next
from ._kinds import ACM_HELPER_CODE, ASYNCGEN, COROUTINE
from ._modes import (
    AUTO,
    CLASS_KEY,
    INSTANCE_KEY,
    Mode,
    ModeSlot,
    check_mode,
    class_mode,
    lookup_static,
)
from ._protocol import TWINS, is_dunder, is_public_inherited
from ._speedups import speedups as _c

_HOOK_MARK: Final = "__smartasync_hook__"

# The implementation of each sync twin named in _protocol.TWINS.
TWIN_IMPLS: Final = {
    "__enter__": twin_enter,
    "__exit__": twin_exit,
    "__iter__": twin_iter,
    "__next__": twin_next,
}


def walk(cls: type, mode: Mode | None = None, loop_bound: bool | None = None) -> None:
    """Make `cls` smart.  `mode` is its own class mode; without one it keeps
    the mode of its nearest smart base, or "auto".  `loop_bound`: whether its
    objects get a birth home (DESIGN §3 rule 3); None: as its nearest base
    that says, else if it is an async context manager."""
    # Decoration time is budgeted (issue 14: 20 methods in <= 20 us over a
    # plain class), so the common case is kept to what it needs: one pass
    # over the class body, one over each base that is not smart, and the
    # protocol methods looked up only in a class that has some.
    own_class_mode = mode or class_mode(cls)
    # Past any metaclass __setattr__ (Enum-like guards).  Without one, the
    # builtin setattr does the same, ~80 ns faster a method than calling
    # type's slot wrapper.
    setattr_: Any = setattr if type(cls).__setattr__ is _TYPE_SETATTR else _TYPE_SETATTR
    own = cls.__dict__
    static_mode = None if own_class_mode is AUTO else own_class_mode
    items = list(own.items())
    if _c is not None:
        # The common shapes (a plain `async def`, an async generator
        # function) made dual and set in C; the rest comes back for the loop
        # below.  ~0.5 us a method less (see _speedups).
        items = _c.walk_own(
            cls,
            items,
            DualFunction,
            COROUTINE,
            ASYNCGEN,
            ACM_HELPER_CODE,
            ASYNC_ONLY_MARK,
            "_is_coroutine_marker",
        )
    for name, attr in items:
        # is_dunder, inlined; `name[:1]` first: a one-character string is
        # cached, so a public name allocates nothing here.
        if name[:1] == "_" and name[:2] == "__" and name[-2:] == "__" and len(name) > 4:
            continue
        new = to_dual(attr, static_mode, True)
        if new is not None:
            setattr_(cls, name, new)

    setattr_(cls, CLASS_KEY, own_class_mode)
    if own.get("_is_protocol", False):
        _hide_keys_from_protocols()
    slot = own.get(INSTANCE_KEY)
    if isinstance(slot, MemberDescriptorType):
        # The user gave instances a slot for set_mode(); see ModeSlot.
        setattr_(cls, INSTANCE_KEY, ModeSlot(slot))
    elif not isinstance(lookup_static(cls, INSTANCE_KEY), ModeSlot):
        # The instances' default: read through `obj._smartasync_mode` on the hot path.
        setattr_(cls, INSTANCE_KEY, own_class_mode)

    # Async methods inherited from bases that are not smart (a third-party
    # client class, say): public ones are made dual here; private ones are
    # left alone unless they were already dual.  A smart base's methods are
    # dual already; its names only hide those of the bases after it.
    mro = cls.__mro__
    seen = set(own)
    for base in mro[1:]:
        if base is object:
            continue
        namespace = base.__dict__
        if CLASS_KEY in namespace:
            seen.update(namespace)
            continue
        for name, attr in list(namespace.items()):
            if name in seen:
                continue
            seen.add(name)
            if is_dunder(name):
                continue
            if not is_public_inherited(name) and not isinstance(attr, DualFunction):
                continue
            new = to_dual(attr, static_mode, True)
            if new is not None:
                setattr_(cls, name, new)

    for klass in mro:  # as lookup_static looks: up to object
        if klass is object:
            break
        if not _PROTOCOL_NAMES.isdisjoint(klass.__dict__):
            _wrap_protocols(cls)
            break
    mark_class(cls, loop_bound)


_TYPE_SETATTR: Final = type.__setattr__

# The protocol methods `_wrap_protocols` looks for.
_PROTOCOL_NAMES: Final = frozenset(name for pair in TWINS for name in pair)


def _wrap_protocols(cls: type) -> None:
    """Wrap the entry methods of `cls` and add its missing sync twins."""
    setattr_ = _TYPE_SETATTR  # dunders: past any metaclass __setattr__, as walk does
    # Entering makes the object's home (see _home): wrap the __aenter__ and
    # __aexit__ it will use, its own or inherited from a base that is not
    # smart; a smart base's are wrapped already.
    for name, wrap in (("__aenter__", wrap_aenter), ("__aexit__", wrap_aexit)):
        found = lookup_static(cls, name)
        if type(found) is FunctionType and not getattr(found, WRAPPED_MARK, False):
            setattr_(cls, name, wrap(found))

    for async_name, sync_name in TWINS:
        if lookup_static(cls, async_name) is not None and lookup_static(cls, sync_name) is None:
            setattr_(cls, sync_name, TWIN_IMPLS[sync_name])


def _hide_keys_from_protocols() -> None:
    """Keep smartasync's mode keys out of the members of a smart
    `typing.Protocol`, so that `@runtime_checkable` still matches by structure.

    typing collects a protocol's members from the `__dict__` of every class
    in its MRO, skipping the names in its EXCLUDED_ATTRIBUTES: on 3.11 at
    each isinstance() check, on 3.12+ when each protocol class is made (so a
    sub-protocol of a smart protocol would see them too).  A smart class
    must keep its mode there (the hot path reads it from the instance's
    class), so the two names are added to that list, once, when the first
    smart protocol is walked.  They are smartasync's own: no other class has
    a member by those names.  If typing ever drops the list, this does
    nothing (and the protocol tests say so).
    """
    excluded = getattr(typing, "EXCLUDED_ATTRIBUTES", None)
    keys = (INSTANCE_KEY, CLASS_KEY, BORN_KEY, BOUND_KEY)
    missing = [key for key in keys if excluded is None or key not in excluded]
    if not missing:
        return
    if isinstance(excluded, list):  # 3.11
        excluded.extend(missing)
    elif isinstance(excluded, frozenset | set):  # 3.12+
        typing.EXCLUDED_ATTRIBUTES = excluded | frozenset(missing)  # type: ignore[attr-defined]


def install_subclass_hook(cls: type) -> None:
    """For the decorator form: walk subclasses of `cls` as they are created,
    and accept `mode=` as a class keyword, as SmartAsync does."""
    current = cls.__dict__.get("__init_subclass__")
    if getattr(getattr(current, "__func__", None), _HOOK_MARK, False):
        return
    original = current  # the class's own hook (type.__new__ made it a classmethod), or None

    def __init_subclass__(
        sub: type, /, mode: str | None = None, loop_bound: bool | None = None, **kwargs: Any
    ) -> None:
        checked = None if mode is None else check_mode(mode, f"class {sub.__qualname__}")
        bound = check_loop_bound(loop_bound, f"class {sub.__qualname__}")
        if original is not None:
            original.__get__(None, sub)(**kwargs)
        else:
            # The class that holds this hook; not simply `cls`, because
            # dataclass(slots=True) and similar tools copy the class body into
            # a new class.
            owner = next(k for k in sub.__mro__[1:] if k.__dict__.get("__init_subclass__") is hook)
            super(owner, sub).__init_subclass__(**kwargs)  # type: ignore[arg-type]
        walk(sub, checked, bound)

    setattr(__init_subclass__, _HOOK_MARK, True)
    hook: classmethod[Any, Any, None] = classmethod(__init_subclass__)
    type.__setattr__(cls, "__init_subclass__", hook)


class SmartAsync:
    """Base class that makes a class and all its subclasses smart.

    Every `async def` in the class body becomes dual: called from sync code it
    runs to completion and returns the result, called from async code it
    returns the awaitable.  Give the class a mode with a class keyword:
    `class Tool(SmartAsync, mode="sync"): ...`.

    An object of a class that holds async resources lives on the event loop
    of the code that made it (its home, DESIGN §3 rule 3): by default a class
    that is an async context manager; `loop_bound=True` / `False` as a class
    keyword says so for other classes (a repository that connects lazily) or
    turns it off.

    Raises:
        ValueError: at class creation, for an unknown `mode`.
        TypeError: at class creation, for a `loop_bound` that is not a bool.
    """

    __slots__ = ()

    def __init_subclass__(
        cls, /, mode: str | None = None, loop_bound: bool | None = None, **kwargs: Any
    ) -> None:
        checked = None if mode is None else check_mode(mode, f"class {cls.__qualname__}")
        bound = check_loop_bound(loop_bound, f"class {cls.__qualname__}")
        super().__init_subclass__(**kwargs)
        walk(cls, checked, bound)


def check_loop_bound(value: object, where: str) -> bool | None:
    """`value` if it is a bool or None.

    Raises:
        TypeError: anything else.
    """
    if value is None or isinstance(value, bool):
        return value
    raise TypeError(
        f"{where}: loop_bound must be True or False (whether its objects live on the event "
        f"loop of the code that made them), got {value!r}"
    )
