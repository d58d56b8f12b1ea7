"""The call rule (DESIGN §2): what a bare call gives its caller, in one place.

The code of the calling frame decides, never whether an event loop runs: an
`async def` (or async generator) caller gets the awaitable, any other caller
gets the result, under the mode in force (the instance's, the method's, the
class's: `resolve_mode`).  This is what a type checker can see too, which is
why the mypy plugin can type a bare call exactly as it will behave.

Everything that applies the rule takes it from here:
* the generated fast path (`_codegen`) inlines the cheap tests as source
  text (`INLINE`, over the names in `inline_namespace`); each has a Python
  twin below (`inline_async`, `inline_plain_sync`, `hot_passes`,
  `plain_passes`), and tests/test_rule_equivalence.py runs the generated
  path and the slow path over the same callers and compares the answers;
* the slow path (`_dispatch`), the properties (`_property`) and birth homes
  (`_home.born`) call `caller_is_async`, `resolve_mode`/`mode_under` and
  `gives_awaitable`;
* a `sync`-mode result about to be awaited is caught by `sync_result`.

Nothing here is cached per call: the answer is computed from the frame every
time; only facts about code objects are remembered (`async_comprehensions`).
"""

from __future__ import annotations

import dis
import inspect
import sys
import threading
from types import CodeType, FrameType
from typing import TYPE_CHECKING, Any, Final, TypeVar

from ._asyncio_internals import running_loop
from ._modes import (
    ASYNC,
    AUTO,
    HOT_BY_THREAD,
    INSTANCE_KEY,
    Home,
    Mode,
    canonical_mode,
    class_mode,
    own_mode,
)

if TYPE_CHECKING:
    from ._dual import DualFunction

_V = TypeVar("_V")

# CO_ITERABLE_COROUTINE marks `@types.coroutine` generators: they run inside a
# coroutine's `await`, so they count as async callers.
ASYNC_CODE_FLAGS: Final = (
    inspect.CO_COROUTINE | inspect.CO_ITERABLE_COROUTINE | inspect.CO_ASYNC_GENERATOR
)

# Frames that stand in for the function they are written in.  Python 3.11 runs
# list/set/dict comprehensions in frames of their own; 3.12 inlines them (PEP
# 709) but keeps generator expressions as frames.  The answer must not depend on
# the version, so these frames are looked through to their lexical parent.
_COMPREHENSION_NAMES: Final = frozenset({"<listcomp>", "<setcomp>", "<dictcomp>", "<genexpr>"})

# The one documented exception to the rule: async frameworks whose *sync*
# scheduling code calls the user's function to obtain its coroutine
# (`tg.start_soon(obj.m)`, `nursery.start_soon(obj.m)`, `trio.run(obj.m)`).
# Matched by (module, qualified function name) so that nothing else in those
# libraries is affected: `anyio.from_thread.run_sync(obj.m)` still gets the value.
_SCHEDULERS: Final = frozenset(
    {
        # trio: nursery.start_soon / nursery.start / trio.run
        ("trio._util", "coroutine_or_error"),
        # anyio 4.x: TaskGroup.start_soon / start, on both backends
        ("anyio.abc._tasks", "call_for_coroutine"),
        # anyio.run(func, backend="trio") wraps func before handing it to trio.run
        ("anyio._backends._trio", "ensure_returns_coro.<locals>.wrapper"),
        # anyio releases before call_for_coroutine existed
        ("anyio._backends._asyncio", "TaskGroup._spawn"),
        ("anyio._backends._asyncio", "TaskGroup.start_soon"),
    }
)


def caller_frame(depth: int) -> FrameType | None:
    """The frame `depth` levels above the function that asks (1: its
    caller's), or None when the stack is not that deep: a call made by C
    code with no Python code running (an `atexit` callback, a thread started
    by `_thread.start_new_thread` or by a C library).  No Python code is
    calling, so no async code: such a caller is sync (`caller_is_async`)."""
    try:
        return sys._getframe(depth + 1)
    except ValueError:
        return None


def caller_is_async(frame: FrameType | None) -> bool:
    """True when the code running in `frame` should receive the awaitable
    (None: no Python caller, see `caller_frame`)."""
    if frame is None:
        return False
    code = frame.f_code
    if code.co_flags & ASYNC_CODE_FLAGS:
        return True
    if code.co_name in _COMPREHENSION_NAMES:
        parent = _lexical_parent(frame, code)
        answer: bool | None
        if parent is not None:
            answer = caller_is_async(parent)
        else:  # escaped its parent: find the parent by name
            answer = _escaped_parent_is_async(frame, code)
            if answer is None:  # not found: the consumer decides
                consumer = frame.f_back
                return consumer is not None and caller_is_async(consumer)
        if answer and len(async_comprehensions) < _MAX_REMEMBERED:
            async_comprehensions[id(code)] = code
        return answer
    return _is_async_scheduler(frame, code)


# Comprehension code objects written inside async code, by id (kept alive
# here, so an id is never reused while it is a key).  Which function a
# comprehension is written in is fixed by its code object, so this is a
# property of code, not of any call: the generated fast path looks a caller's
# code up here and answers a generator expression inside `async def` inline
# (`gather(*(obj.m(i) for i in xs))`) instead of walking frames each time.
# Bounded: code compiled again and again (exec, notebook cells) cannot grow it
# without limit; past the bound the frame walk still gives the answer.
async_comprehensions: Final[dict[int, CodeType]] = {}
_MAX_REMEMBERED: Final = 4096


# The frames the inline sync decision must not answer (see `inline_plain_sync`):
# by the code's last name, the set of its qualified names that must go to the
# slow path.  Comprehension frames all do (their lexical parent decides), so
# they map to `_EVERY`; a scheduler's function only under its own qualified
# name, so a user's sync function that happens to be called `wrapper` or
# `start_soon` keeps the inline path.  One dict lookup by `co_name` is all
# that most callers pay; the module is checked on the slow path.
class _Every:
    """Contains every qualified name."""

    __slots__ = ()

    def __contains__(self, item: object) -> bool:
        return True


def _not_plain_sync_table() -> dict[str, frozenset[str] | _Every]:
    table: dict[str, frozenset[str] | _Every] = dict.fromkeys(_COMPREHENSION_NAMES, _Every())
    for _, qualname in _SCHEDULERS:
        last = qualname.rpartition(".")[2]
        known = table.get(last, frozenset())
        assert isinstance(known, frozenset), last  # no scheduler is named like a comprehension
        table[last] = known | {qualname}
    return table


NOT_PLAIN_SYNC: Final = _not_plain_sync_table()


def _lexical_parent(frame: FrameType, code: CodeType) -> FrameType | None:
    """The frame of the function a comprehension is written in, or None if
    it has returned (the generator escaped it).

    A list comprehension's frame (3.11) is always called by its parent.  A
    generator expression runs wherever it is consumed, e.g. inside a sync helper
    it was passed to; the parent is the frame whose code holds this code object
    among its constants.
    """
    candidate = frame.f_back
    while candidate is not None:
        if any(const is code for const in candidate.f_code.co_consts):
            return candidate
        candidate = candidate.f_back
    return None


def _escaped_parent_is_async(frame: FrameType, code: CodeType) -> bool | None:
    """For a generator expression whose parent returned: the answer of the
    function it is written in, found by its qualified name from the module
    (`make.<locals>.<genexpr>`, `Cls.method.<locals>.<genexpr>`), or None
    when the name does not lead to it (nested functions, lambdas)."""
    head, sep, tail = code.co_qualname.rpartition(".<locals>.")
    if not sep or "<locals>" in head or "." in tail:
        return None
    parts = head.split(".")
    obj: object = frame.f_globals.get(parts[0])
    for part in parts[1:]:
        obj = vars(obj).get(part) if isinstance(obj, type) else None
    for _ in range(8):  # through decorators that keep __wrapped__ (and dual functions)
        inner = getattr(obj, "__func__", None) or getattr(obj, "__wrapped__", None)
        if inner is None:
            break
        obj = inner
    parent = getattr(obj, "__code__", None)
    if not isinstance(parent, CodeType) or not any(c is code for c in parent.co_consts):
        return None
    return bool(parent.co_flags & ASYNC_CODE_FLAGS)


_SCHEDULER_QUALNAMES: Final = frozenset(qualname for _, qualname in _SCHEDULERS)


def _is_async_scheduler(frame: FrameType, code: CodeType) -> bool:
    if code.co_qualname not in _SCHEDULER_QUALNAMES:  # the usual answer, without the globals dict
        return False
    key = (frame.f_globals.get("__name__"), code.co_qualname)
    if key not in _SCHEDULERS:
        return False
    # Only while that framework runs in this thread: the same functions in a
    # worker thread (anyio.to_thread) must still get the value.
    if key[0] == "trio._util":
        return _trio_running()
    return running_loop() is not None or _trio_running()


def _trio_running() -> bool:
    trio = sys.modules.get("trio")
    if trio is None:
        return False
    in_trio_run = getattr(trio.lowlevel, "in_trio_run", None)
    if in_trio_run is not None:
        return bool(in_trio_run())
    try:  # trio < 0.23
        trio.lowlevel.current_root_task()
    except RuntimeError:
        return False
    return True


# -- the inline fast path ------------------------------------------------------------
# The generated `__call__` (see _codegen) answers most calls without a Python
# call of its own: these are its tests, as source text over the generated
# code's names (`{P}k`: the caller's code object; `{P}m`: what the receiver's
# mode slot holds, read once), with a Python twin of each for the tests and
# for `_home`'s construction path.  A caller the inline tests do not answer
# goes to `_dispatch.dispatch`, which applies the whole rule; both must give
# the same answer (tests/test_rule_equivalence.py).
#
# How `m.hot` is tested (HOT_BY_THREAD, see _modes): 3.12+ compare with the
# running loop; 3.11 compare the loop's thread with the caller's (its
# `_get_running_loop()` costs a getpid() system call).
_HOT: Final = "{P}m.hot._thread_id == {P}ident()" if HOT_BY_THREAD else "{P}m.hot is {P}running()"
INLINE: Final = {
    # An async caller: async code, or a comprehension known to be written in
    # async code.  One flag test is all an awaited call pays.
    "ASYNC_CALLER": "{P}k.co_flags & "
    + str(ASYNC_CODE_FLAGS)
    + " or {P}id({P}k) in {P}async_comprehensions",
    # A plain sync caller: not a comprehension, not a scheduler's function.
    "PLAIN_SYNC_CALLER": (
        "({P}k.co_name not in {P}not_plain_sync"
        " or {P}k.co_qualname not in {P}not_plain_sync[{P}k.co_name])"
    ),
    # The mode in force lets an async caller have the coroutine at once: auto,
    # or a home in auto mode on the loop the caller runs on.
    "ASYNC_PASSES": "{P}m is {P}AUTO or {P}m.__class__ is {P}Home and " + _HOT,
    # The mode in force lets a sync caller's call run inline: auto, or a home
    # in auto mode on the sync loop, where a sync call runs anyway.
    "SYNC_PASSES": "{P}m is {P}AUTO or {P}m.__class__ is {P}Home and {P}m.plain",
}


def inline_namespace(prefix: str) -> dict[str, Any]:
    """The names the `INLINE` tests use, under `prefix`."""
    return {
        f"{prefix}AUTO": AUTO,
        f"{prefix}Home": Home,
        f"{prefix}running": running_loop,
        f"{prefix}ident": threading.get_ident,
        f"{prefix}id": id,
        f"{prefix}async_comprehensions": async_comprehensions,
        f"{prefix}not_plain_sync": NOT_PLAIN_SYNC,
    }


def inline_async(code: CodeType) -> bool:
    """`INLINE["ASYNC_CALLER"]`: True answers "async caller" for sure; False
    leaves the question to `caller_is_async` (a comprehension seen first)."""
    return bool(code.co_flags & ASYNC_CODE_FLAGS) or id(code) in async_comprehensions


def inline_plain_sync(code: CodeType) -> bool:
    """`INLINE["PLAIN_SYNC_CALLER"]` for a caller `inline_async` declined:
    True answers "sync caller" for sure."""
    return code.co_qualname not in NOT_PLAIN_SYNC.get(code.co_name, ())


def async_passes(m: object) -> bool:
    """`INLINE["ASYNC_PASSES"]`, `m` being what the mode slot holds."""
    if m is AUTO:
        return True
    if m.__class__ is not Home:
        return False
    hot: Any = m.hot
    if HOT_BY_THREAD:
        return bool(hot._thread_id == threading.get_ident())
    return hot is running_loop()


def sync_passes(m: object) -> bool:
    """`INLINE["SYNC_PASSES"]`, `m` being what the mode slot holds."""
    return m is AUTO or (m.__class__ is Home and bool(m.plain))


# -- the mode in force ---------------------------------------------------------------


def resolve_mode(dual: DualFunction, source: object) -> Mode:
    """First match wins: the instance's mode, the method's own mode (given to
    `@smartasync(mode=...)` on the method), the class's mode, auto."""
    method_mode = dual._mode
    if not dual._smart or source is None:
        return method_mode or AUTO
    if method_mode is None:
        # One attribute read gives the instance's mode if it has one, else its
        # class's (see _modes.INSTANCE_KEY); for a class, the class's.
        mode = getattr(source, INSTANCE_KEY, AUTO)
        if mode.__class__ is Home:
            return mode_under(mode, None, source)
        return canonical_mode(mode)
    if isinstance(source, type):  # a class method: the class has no mode over the method's
        return method_mode
    return own_mode(source) or method_mode


def mode_under(home: Home, method_mode: Mode | None, source: object) -> Mode:
    """The mode in force for a call on a homed instance (as `resolve_mode`):
    the instance's own mode from before its home, else the method's, else
    its class's."""
    prior = home.prior
    while type(prior) is Home:
        prior = prior.prior
    own = canonical_mode(prior) if isinstance(prior, str) else None
    if method_mode is None:
        return own or class_mode(type(source))
    return own or method_mode


def gives_awaitable(mode: Mode, frame: FrameType | None) -> bool:
    """The rule itself: does the caller running `frame`, under `mode`, get
    the awaitable (else the result)?"""
    return mode is ASYNC or (mode is AUTO and caller_is_async(frame))


# -- a sync-mode call under `await` -------------------------------------------------

# Code that can hold an `await` expression (a `@types.coroutine` generator
# cannot: it uses `yield from`).
AWAITING_CODE_FLAGS: Final = inspect.CO_COROUTINE | inspect.CO_ASYNC_GENERATOR
_CACHE: Final = dis.opmap["CACHE"]
_GET_AWAITABLE: Final = dis.opmap["GET_AWAITABLE"]


def sync_result(value: _V, frame: FrameType | None, name: str, aio: str | None = None) -> _V:
    """`value`, the result of a call that a `sync` mode ran to completion,
    unless the calling code is about to `await` it and cannot.

    `await tool.run()` on a sync-mode object would fail one instruction later
    with Python's bare "object int can't be used in 'await' expression",
    which names neither the method nor the mode.  The caller's bytecode says
    whether the next thing it does with the result is `await` (the
    instruction after the call is GET_AWAITABLE): then, if the value cannot
    be awaited, the same TypeError is raised here, saying why and what to
    write.  The call has run, as it would have; only the message differs.
    Cheap for the usual case: a caller that is not a coroutine returns at the
    first test.  `name` names the call (`Tool.run`); `aio` is the spelling to
    suggest (default `obj.run.aio(...)`).

    Raises:
        TypeError: the caller awaits the result and it is not awaitable.
    """
    if frame is None or not frame.f_code.co_flags & AWAITING_CODE_FLAGS:
        return value
    if inspect.isawaitable(value) or not _awaits_next(frame):
        return value
    if aio is None:
        aio = f"obj.{name.rpartition('.')[2]}.aio(...)"
    raise TypeError(
        f"object {type(value).__name__} can't be used in 'await' expression: {name} ran "
        f"to completion because it is in 'sync' mode (set on its class, on the object with "
        f"set_mode(), or on the method), and gave its result. In async code write "
        f"`await {aio}` to get the awaitable whatever the mode, or drop the `await` to "
        f"keep the blocking call."
    )


def _awaits_next(frame: FrameType) -> bool:
    """True when the instruction after the one `frame` is executing (a call,
    or an attribute read) is GET_AWAITABLE: the result is being awaited."""
    code = frame.f_code.co_code
    i = frame.f_lasti + 2
    end = len(code)
    while i < end and code[i] == _CACHE:  # the call's inline cache entries
        i += 2
    return i < end and code[i] == _GET_AWAITABLE
