"""The first step of a sync call's task, run at once (Python 3.12+).

A sync call used to make a task, enter `run_forever`, run one iteration in
which the task took its first step, and stop.  Most of that is loop
machinery: for a coroutine that never suspends (a cache hit, a validation
path) the step itself is a small part of the cost.  Python 3.12 can run a
task's first step inside the `Task` constructor (`eager_start=True`), but
only on a loop that is running.  So for the length of that one step the
loop is made to look exactly as `run_forever` makes it look: running in this
thread (`is_running()`, `get_running_loop()`), with its async-generator
hooks installed.  The step runs inside a real Task, so `current_task()`,
`asyncio.timeout()`, cancellation and contextvars hold as in any task.  If
the coroutine finished, the call is over without the loop ever running; if
it suspended, the caller drives the loop as before.

Used only where that imitation is exact: a stdlib loop (`BaseEventLoop`; not
uvloop or another implementation), not in debug mode (which also tracks
coroutine origins), with no task factory of the user's, not closed.
Everything else gets `loop.create_task`, as on 3.11.

The attributes set here (`_thread_id`, `_stopping`, the two async-generator
hooks) are what `BaseEventLoop.run_forever` sets on 3.12 to 3.14; a test
checks that a task stepped here sees what a task stepped by `run_forever`
sees.
"""

from __future__ import annotations

import asyncio
import sys
import threading
from collections.abc import Coroutine
from typing import Any, Final, TypeVar

_R = TypeVar("_R")

ENABLED: Final = sys.version_info >= (3, 12)

_Task: Any = asyncio.Task
_BaseEventLoop: Final = asyncio.BaseEventLoop
_set_running_loop = asyncio._set_running_loop
_get_asyncgen_hooks = sys.get_asyncgen_hooks
_set_asyncgen_hooks = sys.set_asyncgen_hooks
_get_ident = threading.get_ident


def start(
    loop: asyncio.AbstractEventLoop, main: Coroutine[Any, Any, _R], ctx: Any
) -> asyncio.Task[_R]:
    """The task running `main` on `loop` (which nobody runs now), its first
    step already taken when the loop allows it.  An exception the step lets
    out of the task (KeyboardInterrupt, SystemExit: asyncio re-raises those)
    comes out of here, the task's copy retrieved."""
    if (
        ENABLED
        and isinstance(loop, _BaseEventLoop)
        and not loop._debug  # type: ignore[attr-defined]
        and loop._task_factory is None  # type: ignore[attr-defined]
        and not loop._closed  # type: ignore[attr-defined]
    ):
        return _eager(loop, main, ctx)
    return loop.create_task(main, context=ctx)


def _eager(loop: Any, main: Coroutine[Any, Any, _R], ctx: Any) -> asyncio.Task[_R]:
    # Made before it is initialised, so that a step that raises out of the
    # constructor leaves the task in our hands (its exception must be
    # retrieved, or asyncio logs it when the task is collected).
    task: asyncio.Task[_R] = _Task.__new__(_Task)
    hooks = _get_asyncgen_hooks()
    loop._thread_id = _get_ident()
    _set_asyncgen_hooks(
        firstiter=loop._asyncgen_firstiter_hook, finalizer=loop._asyncgen_finalizer_hook
    )
    _set_running_loop(loop)
    try:
        task.__init__(main, loop=loop, context=ctx, eager_start=True)  # type: ignore[misc]
    except BaseException:
        if task.done() and not task.cancelled():
            task.exception()
        raise
    finally:
        _set_running_loop(None)
        _set_asyncgen_hooks(*hooks)
        loop._thread_id = None
        # The engine's coroutine stops the loop when it ends (see _engine._main):
        # if it ended in this step, that stop() must not end the next run early.
        loop._stopping = False
    return task
