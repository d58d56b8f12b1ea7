"""Modes: the names, their validation, and where an object's mode is stored."""

from __future__ import annotations

from types import CodeType
from typing import Final, Literal, TypeAlias

from ._asyncio_internals import HOT_BY_THREAD as _HOT_BY_THREAD

Mode: TypeAlias = Literal["auto", "sync", "async"]

AUTO: Final = "auto"
SYNC: Final = "sync"
ASYNC: Final = "async"

# Canonical objects: the hot path compares modes with `is`, so every stored mode
# must be one of these three string objects, whatever equal string the user passed.
_CANONICAL: Final[dict[str, Mode]] = {AUTO: AUTO, SYNC: SYNC, ASYNC: ASYNC}

# Where modes live.  A smart class carries its mode twice: under CLASS_KEY (read
# only by the slow path) and under INSTANCE_KEY as a class attribute, which an
# instance's own `set_mode` value shadows.  So the hot path reads one attribute,
# `obj._smartasync_mode`, and gets the instance mode if set, else the class mode.
INSTANCE_KEY: Final = "_smartasync_mode"
CLASS_KEY: Final = "_smartasync_class_mode"


class Home:
    """Stored under INSTANCE_KEY while an instance has a home (DESIGN §3 rule
    3): the loop all of its calls run on, and the instance's own mode from
    before (or, for a `with` on top of a birth home, that birth home), given
    back on exit.

    Living where the mode lives costs objects without a home nothing: the
    inline fast path already reads that attribute, and only `AUTO` passes it.
    A Home passes it too, in auto mode, when an async caller runs on the home
    loop itself (`hot`, set by `_home._is_hot`), and when a sync caller's call would run
    on the sync loop anyway (`plain`: the home is the sync loop); anything
    else goes to the slow path, which routes it (`_home`)."""

    __slots__ = ("depth", "gen", "hot", "loop", "made", "plain", "prior")

    def __init__(
        self,
        loop: object,
        prior: object,
        depth: int = 1,
        gen: int = 0,
        made: CodeType | None = None,
    ) -> None:
        # An event loop, or SYNC_LOOP: the sync loop, whichever it is now
        # (it is replaced after a fork, or after user code closed it).
        self.loop = loop
        self.prior = prior  # the instance's own mode (a str), a birth Home, or NO_MODE
        # Nested entries: the home goes with the outermost exit.  0: a birth
        # home, which no exit removes.
        self.depth = depth
        # The loop on which an async caller may be given the coroutine at
        # once (the home loop, when the mode in force is auto), else COLD.
        self.hot: object = COLD
        # A sync caller's call may be run inline as for an object without a
        # home: the home is the sync loop and the mode in force is auto.
        self.plain: bool = False
        self.gen = gen  # the fork generation it was made in (see _home)
        self.made = made  # the code that made it (a birth home in async code)


class _SyncLoop:
    """The marker for "the sync loop" in `Home.loop`."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "<smartasync sync loop>"


SYNC_LOOP: Final = _SyncLoop()


class _Cold:
    """`Home.hot` when no loop is: never the running loop, and (for 3.11's
    test, see `HOT_BY_THREAD`) never running in any thread."""

    __slots__ = ()
    _thread_id = None


COLD: Final = _Cold()

# How the generated fast path tests that an async caller runs on `m.hot`.
# 3.12+: `asyncio._get_running_loop()` is a read of the thread state (~30 ns).
# 3.11: it compares the process id with the loop holder's, a `getpid()`
# system call each time (~200 ns measured in this sandbox, which alone broke
# the 1.15x budget of an await at home); there the loop's `_thread_id` (set
# by `run_forever` and by the engine's inline driver while the loop runs in
# that thread) is compared with the caller's thread: an async caller running
# in the thread that runs the home loop runs on it, as asyncio allows one
# running loop per thread.  Loops without `_thread_id` get COLD there.
# (False where the internals are not trusted: see _asyncio_internals.)
HOT_BY_THREAD: Final = _HOT_BY_THREAD


def hot_for(loop: object) -> object:
    """`loop` as a `Home.hot` value (COLD where the fast test cannot read it)."""
    if loop is None:
        return COLD
    if HOT_BY_THREAD and not hasattr(loop, "_thread_id"):
        return COLD
    return loop


NO_MODE: Final = object()

# The birth home of every object made in sync code whose mode is auto: one
# shared object, so such an object costs one dict entry, and the fast path
# recognises it by identity.  The engine keeps `hot` on the sync loop of the
# moment.  Never mutated per object: `set_mode` or an entry replaces it.
SYNC_BORN: Final = Home(SYNC_LOOP, NO_MODE, 0)
SYNC_BORN.plain = True
# The same for a class whose mode is not auto (neither fast path applies).
SYNC_BORN_MODED: Final = Home(SYNC_LOOP, NO_MODE, 0)


def check_mode(mode: object, where: str) -> Mode:
    """Return the canonical mode object for `mode`.

    Raises:
        ValueError: `mode` is not one of "auto", "sync", "async".
    """
    try:
        return _CANONICAL[mode]  # type: ignore[index]
    except (KeyError, TypeError):
        raise ValueError(
            f"{where}: unknown mode {mode!r}; the valid modes are 'auto', 'sync' and 'async'"
        ) from None


def is_smart_class(cls: type) -> bool:
    """True when `cls` was walked by smartasync (decorated, or a SmartAsync subclass)."""
    return CLASS_KEY in cls.__dict__


def lookup_static(cls: type, name: str) -> object | None:
    """The raw attribute `name` as the MRO resolves it (no descriptor is
    invoked), skipping `object`; None if no class defines it."""
    for klass in cls.__mro__:
        if klass is object:
            break
        if name in klass.__dict__:
            found: object = klass.__dict__[name]
            return found
    return None


def own_mode(obj: object) -> Mode | None:
    """The mode given to this very instance with `set_mode`, or None."""
    try:
        namespace = vars(obj)
    except TypeError:  # no __dict__: a slotted class, maybe with a mode slot
        slot = lookup_static(type(obj), INSTANCE_KEY)
        return slot.own(obj) if isinstance(slot, ModeSlot) else None
    mode = namespace.get(INSTANCE_KEY)
    while type(mode) is Home:
        mode = mode.prior
    return _CANONICAL.get(mode) if isinstance(mode, str) else None


class ModeSlot:
    """Stands in for a user-declared `_smartasync_mode` slot.

    A slot is a data descriptor, so it hides the class-level default mode; read
    while empty it would raise AttributeError on every call.  This wrapper falls
    back to the class mode when the slot is empty.
    """

    __slots__ = ("_member",)

    def __init__(self, member: object) -> None:
        self._member = member

    def raw(self, obj: object) -> object:
        try:
            return self._member.__get__(obj, type(obj))  # type: ignore[attr-defined]
        except AttributeError:
            return NO_MODE

    def own(self, obj: object) -> Mode | None:
        mode = self.raw(obj)
        while type(mode) is Home:
            mode = mode.prior
        return _CANONICAL.get(mode) if isinstance(mode, str) else None

    def __get__(self, obj: object, owner: type | None = None) -> Mode | Home:
        if obj is None:
            return owner.__dict__.get(CLASS_KEY, AUTO) if owner is not None else AUTO
        raw = self.raw(obj)
        if type(raw) is Home:
            return raw
        mode = _CANONICAL.get(raw) if isinstance(raw, str) else None
        return mode if mode is not None else getattr(type(obj), CLASS_KEY, AUTO)

    def __set__(self, obj: object, value: object) -> None:
        self._member.__set__(obj, value)  # type: ignore[attr-defined]

    def __delete__(self, obj: object) -> None:
        self._member.__delete__(obj)  # type: ignore[attr-defined]


def canonical_mode(mode: object) -> Mode:
    """`mode` as one of the three canonical objects; anything else is "auto"."""
    return _CANONICAL.get(mode, AUTO) if isinstance(mode, str) else AUTO


def class_mode(cls: type) -> Mode:
    """The mode a smart class was given (or inherited); "auto" for any other class."""
    mode = getattr(cls, CLASS_KEY, AUTO)
    return _CANONICAL.get(mode, AUTO) if isinstance(mode, str) else AUTO
