"""Running a leader's task without `run_forever`: when, and how exactly.

A sync call used to make a task, wrap its coroutine in another one that stops
the loop at the end, enter `run_forever`, run one iteration in which the task
took its first step, and leave.  For a coroutine that never suspends (a cache
hit, a validation path) the step itself was a small part of the cost: the
rest was loop machinery.  So the leader (see `_engine._lead`) now does what
`run_forever` does, inline:

* it marks the loop running in this thread, as `run_forever` marks it: the
  loop's `_thread_id`, the running loop, and the loop's async-generator hooks
  (`enter`, `leave`);
* it makes a real Task, so `current_task()`, `asyncio.timeout()`,
  cancellation and contextvars hold as in any task.  On Python 3.12+ the
  Task takes its first step in its constructor (`eager_start=True`), so a
  coroutine that does not suspend is over before any loop iteration;
* while the task is not done, it runs one loop iteration at a time
  (`_run_once`, the body of `run_forever`'s own loop) and stops in the very
  iteration in which the task finished.  A `stop()` requested meanwhile is
  cleared after each iteration, as `run_forever` clears it when it returns
  (the ordinary path, `while not task.done(): loop.run_forever()` in
  `_engine._lead`, goes on past such a stop the same way).

Measured with callgrind on 3.12 (instructions per sync call of a coroutine
that does not suspend, main thread): 42,300 through `run_forever` with the
eager step, 20,300 for the bare eager Task of this module.

Used only where that imitation is exact (`usable`): an asyncio loop
(`BaseEventLoop`) whose class keeps asyncio's own `run_forever` (not the
proactor loop, not uvloop or another implementation), not in debug mode
(which also tracks coroutine origins and times callbacks), with no task
factory of the user's, not closed.  Everything else takes the ordinary path:
`create_task` and `run_forever`.

The attributes set here are what `BaseEventLoop.run_forever` (3.11, 3.12)
and `_run_forever_setup`/`_run_forever_cleanup` (3.13, 3.14) set; a test
checks that a task stepped here sees what a task stepped by `run_forever`
sees.  They are asyncio's private ones: `_asyncio_internals` says on which
versions they were read, and turns this whole path off (`INLINE`) where they
are not proven or the fallbacks are forced.
"""

from __future__ import annotations

import asyncio
import sys
from typing import Any, Final

from . import _asyncio_internals as _internals

# The Task takes its first step in its constructor (3.12+).
EAGER: Final = _internals.EAGER_START

Task: Any = asyncio.Task
_BaseEventLoop: Any = asyncio.BaseEventLoop
set_running_loop = _internals.set_running_loop
get_asyncgen_hooks = sys.get_asyncgen_hooks
set_asyncgen_hooks = sys.set_asyncgen_hooks

# What run_forever runs, by name: asyncio's own must be kept by a loop class
# (3.13 split its setup and cleanup out, for subclasses to extend).
_RUN_FOREVER_PARTS: Final = {
    name: getattr(_BaseEventLoop, name)
    for name in ("run_forever", "_run_forever_setup", "_run_forever_cleanup")
    if hasattr(_BaseEventLoop, name)
}

# Loop classes, by whether they keep asyncio's own run_forever.
_classes: dict[type, bool] = {}


def fits(cls: type) -> bool:
    """Does a loop of class `cls` keep asyncio's own run_forever, and may it
    be driven inline on this Python (`_asyncio_internals.INLINE`)?"""
    fit = _classes.get(cls)
    if fit is None:
        fit = _classes[cls] = (
            _internals.INLINE
            and issubclass(cls, _BaseEventLoop)
            and all(getattr(cls, name, None) is part for name, part in _RUN_FOREVER_PARTS.items())
        )
    return fit


def usable(loop: Any) -> bool:
    """May `loop` (a loop of the user's) be driven inline right now?  Not if
    another thread started running it meanwhile: the ordinary path then
    raises, as run_forever does.  (The engine repeats the other tests inline
    for the sync loop, whose class it checked once and which only the token's
    holder runs.)"""
    return fits(type(loop)) and not (
        loop._debug or loop._closed or loop._task_factory is not None or loop._thread_id is not None
    )


def hooks(loop: Any) -> tuple[Any, Any]:
    """The async-generator hooks `run_forever` installs for `loop`."""
    return loop._asyncgen_firstiter_hook, loop._asyncgen_finalizer_hook
