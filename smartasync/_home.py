"""Home loops (DESIGN §3 rule 3): the loop where an object's async resources
live, on which every call of it runs.

A home is set
* at birth, for an object of a class that holds async resources
  (`loop_bound`, by default: an async context manager): the loop of the code
  that made it, by the caller rule (`born`): the sync loop for sync code,
  the running loop for an `async def`;
* by `with` (the sync loop) or `async with` (the entering loop), until the
  matching exit, which gives the birth home back.

While it has a home:
* a call made on the home loop itself takes the ordinary path (an awaitable
  for an async caller, no hop);
* a sync call from any other thread is handed to the home loop and waits (a
  home loop nobody runs is run for it: `_foreign`);
* an async call from another loop gets an awaitable that runs the coroutine
  on the home loop and waits for it there (cancelling the awaiting task
  cancels the remote coroutine; an exception comes back as the same object);
* `.aio()` gives a coroutine that decides when it is awaited, so
  `asyncio.run(obj.m.aio())` runs on the home too;
* a sync call made on the home loop's own thread while it runs cannot wait
  for it: it raises `RuntimeError` saying to `await`.

The home is stored where the instance's mode lives (`_modes.Home`), so an
object without one pays nothing, and an object born in sync code shares one
stored home (`SYNC_BORN`).  Under trio (no asyncio loop runs) entering or
being made in async code sets no home: trio's cross-thread entry would need
a trio token, and a home that is not exact is worse than none.

After a fork the child drops the homes on the parent's loops (rule 8): each
home carries the fork generation it was made in.  A home on the sync loop
(`SYNC_LOOP`) means the sync loop of the moment, the child's own in a child.
Copies (`copy`, `deepcopy`, `pickle`) carry no home (`getstate`).
"""

from __future__ import annotations

import asyncio
import functools
import os
import sys
import warnings
import weakref
from collections.abc import Callable, Coroutine
from types import CodeType
from typing import Any, Final

from . import _engine, _foreign, _jobs, _nested, _runner
from ._asyncio_internals import running_loop
from ._modes import (
    AUTO,
    COLD,
    INSTANCE_KEY,
    NO_MODE,
    SYNC_BORN,
    SYNC_BORN_MODED,
    SYNC_LOOP,
    Home,
    Mode,
    class_mode,
    hot_for,
    lookup_static,
)
from ._rule import ASYNC_CODE_FLAGS, NOT_PLAIN_SYNC, caller_is_async, mode_under

_get_running_loop = running_loop
_getframe = sys._getframe
# The code of "no Python caller" (see _rule.caller_frame): flags 0, a name no
# table lists: plain sync code to every test below.
_NO_CALLER: Final = (lambda: None).__code__.replace(
    co_name="<no caller>", co_qualname="<no caller>"
)
_super: Any = super  # (over a class known only at run time)
_object_setattr: Any = object.__setattr__

WRAPPED_MARK: Final = "__smartasync_home__"
# Class attributes: the `loop_bound` class keyword as given (inherited; None:
# not given), and whether this very class's objects get a birth home (set on
# every smart class by `mark_class`, read by the `__init__` wrapper).
BOUND_KEY: Final = "_smartasync_loop_bound"
BORN_KEY: Final = "_smartasync_born"

# Bumped in a forked child: homes made before it are on the parent's loops.
_generation = 0


def home_of(obj: object) -> Home | None:
    """The home of `obj`, if it has one now."""
    raw = getattr(obj, INSTANCE_KEY, None)
    return raw if type(raw) is Home else None


def loop_of(home: Home) -> asyncio.AbstractEventLoop:
    """The event loop `home` stands for (the sync loop of the moment for SYNC_LOOP)."""
    loop = home.loop
    if loop is SYNC_LOOP:
        return _engine.sync_loop() or _engine._first_sync_loop()
    return loop  # type: ignore[return-value]


def _is_hot(home: Home, obj: object) -> None:
    """Set what the fast path reads (see `Home`): `hot`, the loop on which an
    async caller may be handed the coroutine itself, and `plain`, whether a
    sync caller's call runs inline (the home loop, the sync loop, if the
    mode in force is auto)."""
    auto = mode_under(home, None, obj) is AUTO
    on_sync = home.loop is SYNC_LOOP
    home.plain = auto and on_sync
    if not auto:
        home.hot = COLD
    elif on_sync:
        home.hot = hot_for(_engine.sync_loop())
    else:
        home.hot = hot_for(home.loop)


# -- birth -------------------------------------------------------------------------


def mark_class(cls: type, loop_bound: bool | None) -> None:
    """At the walk of the smart class `cls`: record whether its objects get a
    birth home (the keyword, else the nearest base's keyword, else whether it
    is an async context manager), and give it what that needs."""
    setattr_ = type.__setattr__
    if loop_bound is not None:
        setattr_(cls, BOUND_KEY, bool(loop_bound))
    flag = getattr(cls, BOUND_KEY, None)
    has_aenter = lookup_static(cls, "__aenter__") is not None
    bound = has_aenter if flag is None else bool(flag)
    if cls.__dict__.get("_is_protocol", False):
        bound = has_aenter = False  # a protocol is never instantiated
    # What an object made in sync code gets: a shared home (see _modes).
    shared = None
    if bound:
        shared = SYNC_BORN if class_mode(cls) is AUTO else SYNC_BORN_MODED
    setattr_(cls, BORN_KEY, shared)
    if bound:
        if "__init__" in cls.__dict__:
            wrap_init(cls)
        else:
            _wrap_init_later(cls)
    if bound or has_aenter:  # it can have a home: copies must not carry it
        wrap_getstate(cls)


def _wrap_init_later(cls: type) -> None:
    """For a class with no `__init__` of its own when it is walked: wrap the
    `__init__` it has at its first construction (or copy), not now.

    Walking runs inside `type.__new__` (`__init_subclass__`), before the
    class's decorators: a `@dataclass` adds `__init__` only where the class
    defines none, so an `__init__` put there now would take the place of the
    one the dataclass writes (its fields never set).  So a `__new__` is put
    there instead (no decorator writes that); its first call wraps what the
    class has by then (`type.__call__` reads `__init__` only after `__new__`
    has returned).  It stays, as a pass-through: once a class has a
    `__new__` of its own, `object.__new__` refuses the constructor's
    arguments, even if that `__new__` is deleted again (CPython keeps the
    slot).  It shows `inspect.signature(cls)` the `__init__` signature (what
    FastAPI reads off a dependency class), not its own `(*args, **kwargs)`."""
    type.__setattr__(cls, "__new__", staticmethod(_BirthNew(cls)))


class _BirthNew:
    __slots__ = ("inherited", "owner", "settled")

    def __init__(self, owner: type) -> None:
        self.owner = owner
        inherited = lookup_static(owner, "__new__")  # (None: object.__new__)
        self.inherited = None if inherited is object.__new__ else inherited
        self.settled = False

    def __call__(self, cls: type, /, *args: Any, **kwargs: Any) -> Any:
        if not self.settled:
            self.settled = True
            wrap_init(self.owner)
            self._settle()
        inherited = self.inherited
        if inherited is None:
            return object.__new__(cls)
        return inherited(cls, *args, **kwargs)  # type: ignore[operator]

    def _settle(self) -> None:
        """Its class is complete: a plain function takes this object's place
        (a call through `__call__` costs construction ~0.2 us more), with
        the signature fixed now."""
        owner = self.owner
        if owner.__dict__.get("__new__") is None or self.inherited is not None:
            return
        if type(owner.__dict__["__new__"]) is not staticmethod:
            return
        if owner.__dict__["__new__"].__func__ is not self:
            return

        def __new__(cls: type, /, *args: Any, **kwargs: Any) -> Any:
            return object.__new__(cls)

        __new__.__signature__ = self.__signature__  # type: ignore[attr-defined]
        type.__setattr__(owner, "__new__", staticmethod(__new__))

    @property
    def __signature__(self) -> Any:
        # With the receiver: inspect drops it, as for a class's __init__.
        # No __init__ of the user's anywhere: no arguments, as for a plain class.
        import inspect

        init = inspect.unwrap(self.owner.__init__)  # type: ignore[misc]
        if init is object.__init__:
            return inspect.Signature([inspect.Parameter("self", inspect.Parameter.POSITIONAL_ONLY)])
        return inspect.signature(self.owner.__init__)  # type: ignore[misc]


def wrap_init(cls: type) -> None:
    """Give the loop-bound class `cls` an `__init__` that sets the birth home
    first: its own `__init__` wrapped, or the inherited one, unless that is
    wrapped already (a smart base's)."""
    own = cls.__dict__.get("__init__")
    target = own if own is not None else lookup_static(cls, "__init__")
    if target is None:
        target = object.__init__
    if getattr(target, WRAPPED_MARK, False):
        return
    original: Callable[..., None] = target  # type: ignore[assignment]
    plain = original is object.__init__  # (nothing to call without arguments)

    @functools.wraps(original)
    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        # (The outermost `__init__` decides: a subclass's, calling this one
        # through super(), has set the home already.)  Made in plain sync
        # code, the common case, is decided here: construction is budgeted
        # (+1 us over a class without resources).
        shared = self._smartasync_born
        if shared is not None and self._smartasync_mode.__class__ is not Home:
            try:
                frame = _getframe(1)
                code = frame.f_code
            except ValueError:  # made by C code, no Python caller: sync code (_rule)
                frame, code = None, _NO_CALLER
            # (_rule.inline_async and inline_plain_sync, written out: a call
            # would cost ~50 ns of the budget; test_rule_equivalence checks
            # that births agree with the rule.)
            if (
                code.co_flags & ASYNC_CODE_FLAGS
                or code.co_qualname in NOT_PLAIN_SYNC.get(code.co_name, ())
                or type(self).__setattr__ is not _object_setattr
            ):
                born(self, frame, shared)
            else:
                # A plain assignment (a mode slot's __set__, if the class has
                # one), 16 ns against 110 for object.__setattr__; and never
                # through `__dict__`, which would turn the object's inline
                # attribute values into a dict (slower attribute reads on
                # the fast path, whose specialisations then miss).
                try:
                    self._smartasync_mode = shared
                except AttributeError:  # __slots__ without room for it: no home
                    pass
        if args or kwargs or not plain:
            original(self, *args, **kwargs)

    setattr(__init__, WRAPPED_MARK, True)
    type.__setattr__(cls, "__init__", __init__)


def born(obj: object, frame: Any, shared: Home) -> None:
    """Give `obj` its birth home: by the caller rule applied to `frame`, the
    code that made it (see the module docstring).  `shared`: what its class
    gives an object made in sync code (SYNC_BORN: the class mode is auto)."""
    code: CodeType = _NO_CALLER if frame is None else frame.f_code
    if code.co_flags & ASYNC_CODE_FLAGS or caller_is_async(frame):
        loop = _get_running_loop()
        if loop is None or (_nested._loop_threads and _nested.owns(loop)):
            # trio, or a coroutine driven by hand: no asyncio home.  A
            # secondary loop (code of a nested blocking call): none either,
            # as rule 4 keeps objects there at that level.
            return
        if loop is _engine._state.loop:  # an async factory called from sync code
            home = shared
        else:
            # Objects made by the same code on the same loop share their
            # birth home (a birth home is never changed in place: see
            # set_prior), so that making many costs a look here, not a Home
            # each (~0.27 us; construction is budgeted at +1 us).  The code
            # object is kept, not the line: the note names the function.
            last = _last_born
            if (
                last is not None
                and last[1] is code
                and last[2] is shared
                and last[3] == _generation
                and last[0]() is loop
            ):
                home = last[4]
            else:
                home = Home(loop, NO_MODE, 0, _generation, code)
                if shared is SYNC_BORN:
                    home.hot = hot_for(loop)
                _remember(loop, code, shared, home)
    else:
        home = shared
    try:
        if type(obj).__setattr__ is _object_setattr:
            obj._smartasync_mode = home  # type: ignore[attr-defined]  # (see wrap_init)
        else:
            object.__setattr__(obj, INSTANCE_KEY, home)
    except (AttributeError, TypeError):
        pass  # no room to store it (__slots__ without a mode slot): no home


# The birth home last made in async code: (loop ref, code, shared, fork
# generation, home); see `born`.
_last_born: tuple[Any, CodeType, Home, int, Home] | None = None


def _remember(loop: asyncio.AbstractEventLoop, code: CodeType, shared: Home, home: Home) -> None:
    global _last_born
    try:
        ref: Any = weakref.ref(loop)
    except TypeError:  # a loop without weak references: not remembered
        return
    _last_born = (ref, code, shared, home.gen, home)


def _own_copy(birth: Home) -> Home:
    """A birth home of one object's own, in place of one it may share."""
    return Home(birth.loop, birth.prior, 0, birth.gen, birth.made)


def set_prior(obj: object, home: Home, mode: Mode) -> None:
    """`set_mode` on an object with a home: the mode is kept under the home
    (for after an exit) and is in force meanwhile."""
    if home.depth == 0:  # a birth home may be shared: this object gets its own
        home = _own_copy(home)
        object.__setattr__(obj, INSTANCE_KEY, home)
    parent, target = None, home
    while type(target.prior) is Home:  # a `with` over a birth home: the birth home's
        parent, target = target, target.prior
    if parent is not None and target.depth == 0:  # (shared, maybe, as above)
        target = _own_copy(target)
        parent.prior = target
    target.prior = mode
    while True:
        _is_hot(home, obj)
        if type(home.prior) is not Home:
            break
        home = home.prior


# -- entering and leaving ------------------------------------------------------------


def wrap_aenter(original: Callable[..., Any]) -> Callable[..., Any]:
    """`__aenter__` that makes the running loop the object's home first."""

    @functools.wraps(original)
    async def __aenter__(self: Any, *args: Any, **kwargs: Any) -> Any:
        entered = _enter(self)
        try:
            return await original(self, *args, **kwargs)
        except BaseException:
            if entered:
                _leave(self)
            raise

    setattr(__aenter__, WRAPPED_MARK, True)
    return __aenter__


def wrap_aexit(original: Callable[..., Any]) -> Callable[..., Any]:
    """`__aexit__` that gives the home up once the object's own exit is done."""

    @functools.wraps(original)
    async def __aexit__(self: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return await original(self, *args, **kwargs)
        finally:
            _leave(self)

    setattr(__aexit__, WRAPPED_MARK, True)
    return __aexit__


def _raw(obj: object) -> object:
    """What `obj` itself holds in its mode slot (a Home or its own mode), or
    NO_MODE.  Read without `vars()`, which would turn the object's inline
    attribute values into a dict (see `wrap_init`); an own mode equal to the
    class's reads as NO_MODE, which means the same."""
    value = getattr(obj, INSTANCE_KEY, NO_MODE)
    if type(value) is Home or value is getattr(type(obj), INSTANCE_KEY, NO_MODE):
        return value if type(value) is Home else NO_MODE
    return value


def _enter(obj: object) -> bool:
    """Give `obj` the running loop as its home (or count one more entry)."""
    loop = _get_running_loop()
    if loop is None:
        return False  # not on an asyncio loop (trio): no home
    raw = _raw(obj)
    if type(raw) is Home and raw.depth > 0 and (raw.gen == _generation or raw.loop is SYNC_LOOP):
        raw.depth += 1  # entered again (nested, or super().__aenter__()): same home
        return True
    # On top of a birth home (given back at the exit), or of nothing.  The
    # sync loop is recorded as such, so that a `with` block going on in a
    # forked child runs on the child's own sync loop.
    prior = raw
    if type(raw) is Home and raw.depth > 0:  # entered on the parent's loop before a fork
        prior = _base(raw)
    home = Home(SYNC_LOOP if _engine.is_sync_loop(loop) else loop, prior, 1, _generation)
    _is_hot(home, obj)
    try:
        object.__setattr__(obj, INSTANCE_KEY, home)
    except (AttributeError, TypeError):
        return False  # no room to store it (__slots__ without a mode slot): no home
    return True


def _base(home: Home) -> object:
    """What is under the explicit entries of `home`: a birth home or a mode."""
    prior: object = home
    while type(prior) is Home and prior.depth > 0:
        prior = prior.prior
    return prior


def _leave(obj: object) -> None:
    raw = _raw(obj)
    if type(raw) is not Home or raw.depth == 0:
        return
    raw.depth -= 1
    if raw.depth <= 0:
        _drop(obj, raw)


def _drop(obj: object, home: Home) -> None:
    """Take `home` off `obj`, giving back what was under it."""
    if home.prior is NO_MODE:
        try:
            object.__delattr__(obj, INSTANCE_KEY)
        except AttributeError:
            pass
    else:
        object.__setattr__(obj, INSTANCE_KEY, home.prior)


def current(obj: object, home: object, name: str) -> Home | None:
    """The home a call on `obj` runs on, given `home`, what its mode slot holds:
    None when it has none (anymore).

    A home whose loop has closed is dropped: a birth home gives way to the
    sync loop (and remembers where the object was made, for the cross-loop
    note); an entered one to what was under it, with a warning (the object
    was never exited).  After a fork, homes on the parent's loops go."""
    if type(home) is not Home:
        return None
    if home.loop is SYNC_LOOP:
        return home
    if home.gen == _generation:
        loop: asyncio.AbstractEventLoop = home.loop  # type: ignore[assignment]
        if not loop.is_closed():
            return home
        if home.depth > 0:
            _drop(obj, home)
            warnings.warn(
                f"{name}(): {type(obj).__qualname__} object was entered with `async with` "
                f"on an event loop that has closed without exiting it; its calls follow the "
                f"ordinary rules again. Exit it (`async with` ending, or "
                f"`await obj.__aexit__(...)`) before its loop closes.",
                RuntimeWarning,
                stacklevel=4,
            )
            return current(obj, home.prior, name)
    elif home.depth > 0:  # entered in the parent, on its loop: gone in the child
        _drop(obj, home)
        return current(obj, home.prior, name)
    # A birth home on a loop that has closed (or the parent's): the object
    # lives on the sync loop from now on.
    moved = Home(SYNC_LOOP, home.prior, 0, _generation, home.made)
    _is_hot(moved, obj)
    try:
        object.__setattr__(obj, INSTANCE_KEY, moved)
    except (AttributeError, TypeError):
        return None
    return moved


def made_where(obj: object) -> str | None:
    """Where an object that lives on the sync loop after its birth loop
    closed was made, for the cross-loop note; None otherwise."""
    home = home_of(obj)
    while home is not None and home.made is None and type(home.prior) is Home:
        home = home.prior
    if home is None or home.made is None or home.loop is not SYNC_LOOP:
        return None
    code = home.made
    return f"{code.co_qualname} ({code.co_filename}, line {code.co_firstlineno})"


# -- copies --------------------------------------------------------------------------


def wrap_getstate(cls: type) -> None:
    """Copies and pickles of a homeable class carry no home: its
    `__getstate__` (its own, or the inherited one) with the home taken out of
    the state, and the instance's own mode, if any, kept."""
    own = cls.__dict__.get("__getstate__")
    if own is not None and getattr(own, WRAPPED_MARK, False):
        return
    if own is None and getattr(lookup_static(cls, "__getstate__"), WRAPPED_MARK, False):
        return
    owner = cls

    def __getstate__(self: Any) -> Any:
        state = own(self) if own is not None else _super(owner, self).__getstate__()
        return _without_home(state)

    if own is not None:
        functools.update_wrapper(__getstate__, own)
    setattr(__getstate__, WRAPPED_MARK, True)
    type.__setattr__(cls, "__getstate__", __getstate__)


def _without_home(state: Any) -> Any:
    if isinstance(state, dict):
        return _strip(state)
    if isinstance(state, tuple) and len(state) == 2 and isinstance(state[1], dict):
        first = _strip(state[0]) if isinstance(state[0], dict) else state[0]
        return (first, _strip(state[1]))
    return state


def _strip(namespace: dict[str, Any]) -> dict[str, Any]:
    value = namespace.get(INSTANCE_KEY)
    if type(value) is not Home:
        return namespace
    stripped = dict(namespace)
    mode: object = value
    while type(mode) is Home:
        mode = mode.prior
    if isinstance(mode, str):
        stripped[INSTANCE_KEY] = mode
    else:
        del stripped[INSTANCE_KEY]
    return stripped


# -- calls on an object with a home ----------------------------------------------------


def awaitable_for(home: Home, coro: Any, name: str) -> Any:
    """What an async caller gets: the coroutine itself on the home loop (or
    under a library that is not asyncio), else one that runs it there."""
    running = _get_running_loop()
    if _in_place(home, running):
        return coro
    return _carried(_across, home, coro, name)


def _in_place(home: Home, running: asyncio.AbstractEventLoop | None) -> bool:
    """Does a coroutine of an object homed `home`, awaited on `running`, run
    right there?  On its home loop, yes; under trio (no asyncio loop), yes;
    and on a secondary loop (the coroutine of a nested blocking call) when
    the home is the sync loop, which is blocked by the very call that waits
    for this one: carried there, the await would wait forever (rule 4 keeps
    such objects at that level)."""
    if running is None or running is loop_of(home):
        return True
    return home.loop is SYNC_LOOP and _nested.owns(running)


def aio_for(home: Home, coro: Any, name: str) -> Any:
    """`.aio()` on a homed object: a coroutine that goes to the home loop if
    it is awaited anywhere else (`asyncio.run(obj.m.aio())` included); the
    loop is known only once it is awaited."""
    running = _get_running_loop()
    if running is not None:
        return coro if _in_place(home, running) else _carried(_across, home, coro, name)
    return _carried(_when_awaited, home, coro, name)


async def _when_awaited(home: Home, coro: Any, name: str, carry: _Carry) -> Any:
    carry.started = True  # first: see _Carry
    try:
        running = _get_running_loop()
        if _in_place(home, running):
            return await coro
    except BaseException:
        _jobs.close_unstarted(coro)
        raise
    return await _across(home, coro, name)


def async_face_for(source: object, awaitable: Any, name: str) -> Any:
    """The async face of a context-manager method's step (`__aenter__` /
    `__aexit__`): on the home loop if `source` has one and this is not it."""
    home = current(source, home_of(source), name) if source is not None else None
    if home is not None:
        return awaitable_for(home, awaitable, name)
    return awaitable


def iterator_for(home: Home, agen: Any, name: str) -> Any:
    """What an async caller gets from an async generator method of a homed
    object: the generator itself on the home loop, else one whose every step
    runs there."""
    running = _get_running_loop()
    if _in_place(home, running):
        return agen
    return _AcrossIterator(home, agen, name)


class _AcrossIterator:
    """`async for` from another loop over an async generator of a homed
    object: each step (and the closing) runs on the home loop."""

    __slots__ = ("_agen", "_home", "_name")

    def __init__(self, home: Home, agen: Any, name: str) -> None:
        self._home = home
        self._agen = agen
        self._name = name

    def __aiter__(self) -> _AcrossIterator:
        return self

    # Each gives `_across`'s coroutine itself (not a coroutine awaiting it),
    # so that a traceback shows one frame of smartasync's.
    def __anext__(self) -> Coroutine[Any, Any, Any]:
        return _carried(_across, self._home, _step(self._agen), self._name)

    def aclose(self) -> Coroutine[Any, Any, None]:
        return _carried(_across, self._home, _close(self._agen), self._name)

    def asend(self, value: Any) -> Coroutine[Any, Any, Any]:
        return _carried(_across, self._home, _send(self._agen, value), self._name)

    def athrow(self, *args: Any) -> Coroutine[Any, Any, Any]:
        return _carried(_across, self._home, _throw(self._agen, *args), self._name)

    def __repr__(self) -> str:
        return f"<smartasync async iterator over {self._agen!r}, on its home loop>"


# Coroutines (not bare awaitables): what a job runs, and created on the home
# loop's side of the hop only once awaited there.
async def _step(agen: Any) -> Any:
    return await agen.__anext__()


async def _close(agen: Any) -> None:
    await agen.aclose()


async def _send(agen: Any, value: Any) -> Any:
    return await agen.asend(value)


async def _throw(agen: Any, *args: Any) -> Any:
    return await agen.athrow(*args)


class _Carry:
    """What a carrier (`_across` or `_when_awaited`'s coroutine, made now and
    run later) owes the coroutine it carries, `inner`.

    A coroutine closed, or thrown into (its task cancelled), before its first
    step runs none of its code: its `try` cannot close `inner`, which was
    then left "never awaited".  So the carrier says it started as its first
    statement, and when it is gone (a weak reference's callback) an `inner`
    it never started is closed here.  Once it started, `inner` is its own
    business (and maybe a job's on another loop: closing it here then would
    race with that loop).  The carrier takes `inner`'s name, so that a
    forgotten `await` warns once, naming the method, not `_across`.  ~1 us
    on a path of ~50."""

    __slots__ = ("inner", "started")

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.started = False

    def __call__(self, ref: Any) -> None:
        _carries.discard(ref)
        if not self.started:
            _jobs.close_unstarted(self.inner)
        self.inner = None


# Each carrier's weak reference, kept alive until its callback has run.
_carries: set[weakref.ref[Any]] = set()


def _carried(
    make: Callable[..., Coroutine[Any, Any, Any]], home: Home, coro: Any, name: str
) -> Coroutine[Any, Any, Any]:
    """`make(home, coro, name, carry)`, the carrier of `coro` (see _Carry)."""
    carry = _Carry(coro)
    carrier: Any = make(home, coro, name, carry)
    qualname = getattr(coro, "__qualname__", None)
    if isinstance(qualname, str):
        carrier.__qualname__ = qualname
        carrier.__name__ = qualname.rpartition(".")[2]
    _carries.add(weakref.ref(carrier, carry))
    return carrier  # type: ignore[no-any-return]


async def _across(
    home: Home, coro: Coroutine[Any, Any, Any], name: str, carry: _Carry | None = None
) -> Any:
    """Await `coro` run on the home loop, from another loop (rule 3), with
    the hang warning (rule 5) and the cross-loop note (rule 6).  `carry`:
    see _Carry (None: awaited at once by another coroutine)."""
    if carry is not None:
        carry.started = True  # first: see _Carry
    try:
        after = _runner.hang_after()
        # (The awaiting frame is kept, the warning made only if it is given:
        # this path is budgeted at 1.2x a bare run_coroutine_threadsafe.)
        hang = (name, _getframe(1)) if after is not None else None
        if home.loop is SYNC_LOOP:
            return await _engine.run_async(coro, hang, after)
        loop: asyncio.AbstractEventLoop = home.loop  # type: ignore[assignment]
        return await _foreign.run_async(coro, loop, hang, after)
    except BaseException as exc:
        _jobs.close_unstarted(coro)
        where = _runner.ON_SYNC_LOOP if home.loop is SYNC_LOOP else _runner.ON_HOME_LOOP
        # (One frame of ours in the traceback, this one: not the engine's
        # that carried the exception back.)
        exc = _runner.prune_traceback(exc)
        raise _runner.explain(exc, name, None, where, home)  # noqa: B904  (the same exception)


def run_sync(home: Home, coro: Coroutine[Any, Any, Any], name: str, source: object) -> Any:
    """A blocking call on a homed object: run `coro` on the home loop."""
    running = _get_running_loop()
    if home.loop is SYNC_LOOP:
        if running is not None and _engine.is_sync_loop(running):
            coro.close()
            raise _cannot_wait(name, source)
        return _runner.run_blocking(coro, name, None, False, source)
    loop: asyncio.AbstractEventLoop = home.loop  # type: ignore[assignment]
    if running is loop:
        coro.close()
        raise _cannot_wait(name, source)
    return _runner.run_on_loop(coro, loop, name, source)


def _cannot_wait(name: str, source: object) -> RuntimeError:
    display = _runner.display_name(name, source)
    short = display.rpartition(".")[2]
    return RuntimeError(
        f"{display}() was called without `await` from sync code running on the event "
        f"loop where this {type(source).__qualname__} object lives (its home loop: where it "
        f"was made, or entered with `with`/`async with`), which cannot wait for itself. "
        f"In async code write `await obj.{short}(...)`; in a plain `def` helper called "
        f"from async code, make the helper `async def` and await it (`obj.{short}.aio(...)` "
        f"gives the awaitable from anywhere). A worker thread would not help here: the "
        f"call would still wait for this loop."
    )


def nested_on_home(
    source: object, coro: Coroutine[Any, Any, Any], name: str, running: asyncio.AbstractEventLoop
) -> None:
    """A nested blocking call made by code running on the sync loop, on an
    object that lives on the sync loop, cannot be served: raise, saying to
    await it.  Nothing for other objects; from a secondary loop the call goes
    on to another secondary loop (rule 4)."""
    home = home_of(source)
    if home is not None and home.loop is SYNC_LOOP and _engine.is_sync_loop(running):
        coro.close()
        raise _cannot_wait(name, source)


def run_sync_for(
    source: object, coro: Coroutine[Any, Any, Any], name: str, entering: bool = False
) -> Any:
    """`run_blocking` for the sync faces (`with`, `for`, context-manager
    methods): on the home loop if `source` has one.  `entering`: the entry
    of a `with` statement, which makes the sync loop the home (rule 3) unless
    the object is entered already: it runs there, not on a birth home."""
    if source is None:
        return _runner.run_blocking(coro, name)
    try:
        home = current(source, home_of(source), name)
        if entering and home is not None and home.depth == 0:
            home = None
        if home is not None:
            return run_sync(home, coro, name, source)
    except BaseException:
        _jobs.close_unstarted(coro)  # (a Ctrl-C landing here: never started)
        raise
    return _runner.run_blocking(coro, name, None, False, source)


def _after_fork_in_child() -> None:
    global _generation
    _generation += 1


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


_runner.nested_on_home = nested_on_home
_runner.made_where = made_where
