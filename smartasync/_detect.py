"""Who is calling: the rule that decides between "run it" and "return the awaitable".

The rule looks at the code of the calling frame, never at whether an event loop
runs.  An `async def` (or async generator) caller gets the awaitable; any other
caller gets the result.  This is what a type checker can see too, which is why
the mypy plugin can type a bare call exactly as it will behave.

Nothing here is cached: the answer is computed from the frame on every call.
The fast check (one flag test on the caller's code object) is inlined into the
generated wrappers; this module holds the slower cases behind it.
"""

from __future__ import annotations

import asyncio
import inspect
import sys
from types import CodeType, FrameType
from typing import Final

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


def caller_is_async(frame: FrameType) -> bool:
    """True when the code running in `frame` should receive the awaitable."""
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

# Code names whose frames the inline sync decision must not answer: the
# comprehension frames and the schedulers' functions (see caller_is_async).
NOT_PLAIN_SYNC: Final = _COMPREHENSION_NAMES | frozenset(
    qualname.rpartition(".")[2] for _, qualname in _SCHEDULERS
)


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
    return asyncio._get_running_loop() is not None or _trio_running()


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
