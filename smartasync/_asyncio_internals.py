"""Every private part of asyncio that smartasync touches, in one place.

Each was read in CPython's sources and run on the interpreters here, and each
has a fallback made of public API.  On a Python newer than the newest one
read (`CHECKED_UP_TO`) an internal is used only if a check at import proves
that it still behaves as it did (`_prove`); with `SMARTASYNC_ASYNCIO_FALLBACKS=1`
in the environment every fallback is used, on any version (CI runs the
runtime suite once so).  The model is mypy plugins' `SUPPORTED_MYPY` check:
trust what was read, prove the rest, fall back to what is documented.

Two have no exact fallback ([4], [6] below: no public API does what they do),
so they are never trusted blindly: with the fallbacks forced, as on a newer
Python, they are used only where the check proves them.  (The forced run
then exercises the checks too.)

| internal                         | 3.11 | 3.12 | 3.13 | 3.14 | 3.15  | fallback |
| -------------------------------- | ---- | ---- | ---- | ---- | ----- | -------- |
| asyncio._get_running_loop        | yes  | yes  | yes  | read | check | get_running_loop(), RuntimeError -> None |
| asyncio._set_running_loop        | yes  | yes  | yes  | read | check | [1] create_task + run_forever |
| BaseEventLoop._run_once          | yes  | yes  | yes  | read | check | [1] |
| loop._stopping                   | yes  | yes  | yes  | read | check | [1] |
| loop._thread_id                  | yes  | yes  | yes  | read | check | [1]; 3.11 home test by running loop [2] |
| loop._debug                      | yes  | yes  | yes  | read | check | [1] |
| loop._closed                     | yes  | yes  | yes  | read | check | [1] |
| loop._task_factory               | yes  | yes  | yes  | read | check | [1] |
| loop._asyncgen_firstiter_hook    | yes  | yes  | yes  | read | check | [1] |
| loop._asyncgen_finalizer_hook    | yes  | yes  | yes  | read | check | [1] |
| BaseEventLoop._run_forever_setup | no   | [3]  | yes  | read | check | [1]; absent: not compared |
| Task(eager_start=True)           | no   | yes  | yes  | read | check | first step in the first iteration |
| loop._asyncgens                  | yes  | yes  | yes  | read | check | none exact: check [4] |
| loop._default_executor           | yes  | yes  | yes  | read | check | an executor of ours [5] |
| Task._log_destroy_pending        | yes  | yes  | yes  | read | check | none exact: check [6] |
| asyncio.Runner._on_sigint        | yes  | yes  | yes  | read | check | partial of a Runner's bound method [7] |

"yes": read and run here, with the meaning smartasync relies on; "read":
present with that meaning in the sources read, which are not a pinned
release, so still checked at import; "check": used only if `_prove` passes
on that interpreter.

[1] The leader's inline run (`_engine._lead`, see `_eager`) needs every one
    of these; without them (`INLINE` false) a sync call takes the path that
    any other loop takes: `create_task` and `run_forever`.  Exact, ~2x the
    instructions of a call that does not suspend.  `_run_forever_setup` and
    `_run_forever_cleanup` are only looked up, by name, to tell a loop class
    that extends them.
[2] `HOT_BY_THREAD`: on 3.11 the generated fast path compares an object's
    home loop's `_thread_id` with the caller's thread, because
    `_get_running_loop()` costs a getpid() there; otherwise it compares the
    home loop with `running_loop()`.  Exact either way.
[3] 3.12.0 and 3.12.1 have neither; later 3.12 releases have both.
[4] `_iter._forget_finished` takes a finished async generator out of the
    loop's registry at once; without it, the generator leaves when freed, in
    a WeakSet callback that may run where a Ctrl-C is lost (the
    every-instant sweep found that window).  Results are unchanged; the
    narrow Ctrl-C window comes back.  No public API reaches the registry.
[5] `_loops.new_loop` gives such a loop a ThreadPoolExecutor of ours with
    `set_default_executor()` (as for uvloop, which hides it) and joins it
    at close without a new thread.  Exact.
[6] `_foreign._abandon`: a call's task made on a loop that its owner closed
    before the task's first step.  Without the flag, asyncio's exception
    handler may log "Task was destroyed but it is pending!" when the task
    is freed; nothing else differs.  No public API finishes an unstarted
    task on a closed loop.
[7] `_sigint` takes Ctrl-C over from `asyncio.run`'s handler, a
    `functools.partial` of `Runner._on_sigint`; without the name, any partial
    of a bound method of an `asyncio.Runner` is taken for it.  Exact for
    what `Runner.run` installs.

How each column was checked:

* 3.11, 3.12, 3.13: read in the interpreters here (3.11.2 and 3.11.7, 3.12.1,
  3.13.0)
  and run by the whole test suite, which CI also runs with the fallbacks
  forced.
* 3.14: read in python/cpython's stored sources of the 3.14 line, not a
  pinned release.  `Lib/asyncio/base_events.py` at 007a8eb4 (with
  `create_task(self, coro, **kwargs)`): `BaseEventLoop.__init__` sets
  `_closed`, `_stopping`, `_default_executor`, `_thread_id`, `_task_factory`
  and `_asyncgens` as before; `_run_forever_setup` checks, keeps the old
  hooks, sets `_thread_id`, the loop's two hooks and
  `events._set_running_loop(self)`; `_run_forever_cleanup` clears
  `_stopping`, `_thread_id`, the running loop and the hooks; `run_forever`
  is `setup; while True: _run_once(); if _stopping: break; cleanup`;
  `is_running()` is `_thread_id is not None`: all as 3.13.
  `Modules/clinic/_asynciomodule.c.h` of the same line (free-threading
  critical sections, `_asyncio_awaited_by`): `_get_running_loop` and
  `_set_running_loop` are still the C functions "intended to be used by
  event loops"; `Task(coro, *, loop=None, name=None, context=None,
  eager_start=False)`.  `InternalDocs/asyncio.md` (039ccf6f): 3.14 keeps
  the current task and the task list per thread state
  (`asyncio_current_loop`, `asyncio_current_task`), and a task is entered
  only on its thread's running loop, which the inline run sets before it
  makes the task, as `run_forever` does; `loop._asyncgens` and the two
  hooks are described as before.  3.14 also made `eager_start` a
  `create_task` keyword (gh-128307); smartasync calls the Task constructor,
  which has taken it since 3.12.
* 3.15: no pinned 3.15 source could be read here, so nothing is trusted
  there: each internal is used only where `_prove` passes.  (Its known
  asyncio work, gh-140414, is about speed: `_asyncio` built in, an
  `all_tasks` fast path.)

Hence `CHECKED_UP_TO = (3, 13)`: on 3.14 and later the checks decide.  They
run once, at import, in a thread of their own (the importing thread may be
running a loop), on selector loops of their own that they close: a few
milliseconds, paid only where they run.  `CHECKED_UP_TO` may be raised once
a version's released sources have been read the same way.
"""

from __future__ import annotations

import asyncio
import functools
import gc
import inspect
import os
import sys
import threading
import weakref
from collections.abc import AsyncGenerator, Callable, Coroutine
from typing import Any, Final

# The newest Python whose asyncio was read (see the docstring).
CHECKED_UP_TO: Final = (3, 13)
ENV_VAR: Final = "SMARTASYNC_ASYNCIO_FALLBACKS"
# Every fallback, on any version.
FORCED: Final = os.environ.get(ENV_VAR, "") not in ("", "0")
# Every internal, without a check.
TRUSTED: Final = not FORCED and sys.version_info[:2] <= CHECKED_UP_TO

_Loop = asyncio.AbstractEventLoop
_Task: Any = asyncio.Task  # (`eager_start` is not in 3.11's signature)

# The internals of the inline run: one switch for all of them ([1]).
_INLINE_PARTS: Final = (
    "asyncio._set_running_loop",
    "BaseEventLoop._run_once",
    "loop._stopping",
    "loop._thread_id",
    "loop._debug",
    "loop._closed",
    "loop._task_factory",
    "loop._asyncgen_firstiter_hook",
    "loop._asyncgen_finalizer_hook",
    "BaseEventLoop._run_forever_setup",
)


def _prove() -> dict[str, bool]:
    """Which internals behave here as on the versions read: checked in a
    thread of its own, on loops of its own."""
    proofs: dict[str, bool] = {}

    def run() -> None:
        loop = asyncio.SelectorEventLoop()
        try:
            _prove_on(loop, proofs)
        except Exception:  # what was proven before it stays proven
            pass
        finally:
            loop.close()
        try:
            proofs["Task._log_destroy_pending"] = _prove_quiet_destroy()
        except Exception:
            pass

    thread = threading.Thread(target=run, name="smartasync-asyncio-check", daemon=True)
    thread.start()
    thread.join()
    return proofs


def _prove_on(loop: Any, proofs: dict[str, bool]) -> None:
    seen: dict[str, bool] = {}

    async def observe(stop: bool) -> int:
        seen["running"] = asyncio._get_running_loop() is asyncio.get_running_loop() is loop
        seen["is_running"] = loop.is_running()
        seen["in_task"] = asyncio.current_task() is not None
        hooks = sys.get_asyncgen_hooks()
        seen["hooks"] = (hooks.firstiter, hooks.finalizer) == (
            loop._asyncgen_firstiter_hook,
            loop._asyncgen_finalizer_hook,
        )
        numbers = _numbers()
        await numbers.__anext__()
        seen["registered"] = numbers in loop._asyncgens
        loop._asyncgens.discard(numbers)
        seen["forgotten"] = numbers not in loop._asyncgens
        await numbers.aclose()
        if stop:  # a stop() meanwhile does not end an inline run
            loop.stop()
        await asyncio.sleep(0)
        waiter = loop.create_future()
        loop.call_later(0, waiter.set_result, 7)  # through the timer heap
        return int(await waiter)

    outside = asyncio._get_running_loop() is None
    reference = loop.run_until_complete(observe(False))
    expected = dict(seen)
    proofs["asyncio._get_running_loop"] = outside and expected["running"]
    proofs["loop._asyncgens"] = expected["registered"] and expected["forgotten"]

    from concurrent.futures import ThreadPoolExecutor

    executor = ThreadPoolExecutor(max_workers=1)  # (no thread until used)
    before = loop._default_executor
    loop.set_default_executor(executor)
    proofs["loop._default_executor"] = before is None and loop._default_executor is executor

    on_sigint = getattr(asyncio.Runner, "_on_sigint", None)
    proofs["asyncio.Runner._on_sigint"] = callable(on_sigint) and list(
        inspect.signature(on_sigint).parameters
    ) == ["self", "signum", "frame", "main_task"]

    idle = (loop._debug, loop._closed, loop._task_factory, loop._thread_id, loop._stopping)
    if not isinstance(loop, asyncio.BaseEventLoop) or idle != (False, False, None, None, False):
        return
    loop = _as_any(loop)  # (mypy narrowed it to BaseEventLoop, which has none of them)
    seen.clear()
    result, _ = _run_inline(loop, observe(True), eager=False)
    proofs["inline"] = (
        result == reference
        and seen == expected
        and not loop.is_running()
        and asyncio._get_running_loop() is None
        and (loop._thread_id, loop._stopping) == (None, False)
    )
    in_task: list[bool] = []

    async def first_step() -> int:
        in_task.append(asyncio.current_task() is not None)
        return 1

    result, at_once = _run_inline(loop, first_step(), eager=True)
    proofs["eager_start"] = result == 1 and at_once and in_task == [True]


def _as_any(value: object) -> Any:
    return value


async def _numbers() -> AsyncGenerator[int]:
    yield 1
    yield 2


async def _nothing() -> None:
    pass


def _run_inline(loop: Any, coro: Coroutine[Any, Any, int], eager: bool) -> tuple[int, bool]:
    """`_engine._lead`'s inline run, step for step: its result, and whether
    the task was done when its constructor returned."""
    hooks = sys.get_asyncgen_hooks()
    try:
        loop._thread_id = threading.get_ident()
        sys.set_asyncgen_hooks(loop._asyncgen_firstiter_hook, loop._asyncgen_finalizer_hook)
        asyncio._set_running_loop(loop)
        try:
            if eager:
                task = _Task(coro, loop=loop, eager_start=True)
            else:
                task = _Task(coro, loop=loop)
        except BaseException:
            coro.close()  # (never awaited: no warning)
            raise
        at_once = task.done()
        while not task.done():
            loop._run_once()
            loop._stopping = False
    finally:
        loop._stopping = False
        loop._thread_id = None
        asyncio._set_running_loop(None)
        sys.set_asyncgen_hooks(*hooks)
    return task.result(), at_once


def _prove_quiet_destroy() -> bool:
    """A task made on a loop that then closed before its first step, once
    flagged, is freed without a word (`_foreign._abandon`'s case)."""
    loop = asyncio.SelectorEventLoop()
    said: list[object] = []
    loop.set_exception_handler(lambda _loop, context: said.append(context))
    coro = _nothing()
    task = loop.create_task(coro)
    task._log_destroy_pending = False  # type: ignore[attr-defined]
    coro.close()
    loop.close()  # drops the scheduled first step
    freed = weakref.ref(task)
    del task
    if freed() is not None:  # (in a cycle somewhere)
        gc.collect()
    return freed() is None and not said


# The internals without an exact fallback (see the docstring).
_NO_EXACT_FALLBACK: Final = ("loop._asyncgens", "Task._log_destroy_pending")

_proofs: Final = {} if TRUSTED else _prove()


def _uses(name: str) -> bool:
    if FORCED:
        return name in _NO_EXACT_FALLBACK and _proofs.get(name, False)
    return TRUSTED or _proofs.get(name, False)


# -- what this Python gets ----------------------------------------------------


def _running_loop_fallback() -> _Loop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


# The running loop of this thread, or None.  `asyncio._get_running_loop` is in
# asyncio's `__all__`, C-implemented, and raises nothing when none runs.
running_loop: Final[Callable[[], _Loop | None]] = (
    asyncio._get_running_loop if _uses("asyncio._get_running_loop") else _running_loop_fallback
)

# May the leader run a task on a loop without `run_forever` ([1])?
# `_engine._lead` then touches `_run_once`, `_stopping`, `_thread_id`,
# `_debug`, `_closed` and `_task_factory` inline: a call per attribute would
# cost a good part of what the inline run saves.  `_eager` reads the hooks.
INLINE: Final = _uses("inline")
set_running_loop: Final[Callable[[_Loop | None], None]] = asyncio._set_running_loop

# Does the inline run's Task take its first step in its constructor?
EAGER_START: Final = INLINE and (
    sys.version_info >= (3, 12) if TRUSTED else _proofs.get("eager_start", False)
)

# The 3.11 home test of the generated fast path ([2]).
HOT_BY_THREAD: Final = sys.version_info < (3, 12) and TRUSTED


def _forget_asyncgen(loop: Any, agen: object) -> None:
    registry = getattr(loop, "_asyncgens", None)
    if registry is not None:
        registry.discard(agen)


def _leave_asyncgen(loop: Any, agen: object) -> None:
    pass


# Take a finished async generator out of its loop's registry now ([4]).
forget_asyncgen: Final[Callable[[Any, object], None]] = (
    _forget_asyncgen if _uses("loop._asyncgens") else _leave_asyncgen
)

# What `default_executor` answers where the executor is not known ([5]).
MISSING: Final = object()


def _default_executor(loop: _Loop) -> object:
    return getattr(loop, "_default_executor", MISSING)


def _executor_unknown(loop: _Loop) -> object:
    return MISSING


# A loop's default executor (None: not made yet), or MISSING ([5]).
default_executor: Final[Callable[[_Loop], object]] = (
    _default_executor if _uses("loop._default_executor") else _executor_unknown
)


def _quiet_destroy(task: asyncio.Task[Any]) -> None:
    if hasattr(task, "_log_destroy_pending"):
        task._log_destroy_pending = False


def _no_quiet_destroy(task: asyncio.Task[Any]) -> None:
    pass


# No "Task was destroyed but it is pending!" for a task ([6]).
quiet_destroy: Final[Callable[[asyncio.Task[Any]], None]] = (
    _quiet_destroy if _uses("Task._log_destroy_pending") else _no_quiet_destroy
)


def _is_runner_handler_by_name(handler: object) -> bool:
    method = getattr(asyncio.Runner, "_on_sigint", None)
    return (
        isinstance(handler, functools.partial)
        and getattr(handler.func, "__func__", None) is method is not None
    )


def _is_runner_handler_by_owner(handler: object) -> bool:
    return isinstance(handler, functools.partial) and isinstance(
        getattr(handler.func, "__self__", None), asyncio.Runner
    )


# Is a SIGINT handler the one that `asyncio.Runner.run` installed ([7])?
is_runner_handler: Final[Callable[[object], bool]] = (
    _is_runner_handler_by_name
    if _uses("asyncio.Runner._on_sigint")
    else _is_runner_handler_by_owner
)


def report() -> dict[str, bool]:
    """Each internal of the table: True where it is used here, False where
    its fallback is (for tests and bug reports)."""
    used = dict.fromkeys(_INLINE_PARTS, INLINE)
    used["asyncio._get_running_loop"] = running_loop is not _running_loop_fallback
    used["Task(eager_start=True)"] = EAGER_START
    used["loop._asyncgens"] = forget_asyncgen is not _leave_asyncgen
    used["loop._default_executor"] = default_executor is not _executor_unknown
    used["Task._log_destroy_pending"] = quiet_destroy is not _no_quiet_destroy
    used["asyncio.Runner._on_sigint"] = is_runner_handler is not _is_runner_handler_by_owner
    return used
