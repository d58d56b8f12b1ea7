"""Event loops as objects: creation with the configurable factory, closing them
cleanly (also at interpreter exit), and keeping inherited loops alive after
`os.fork()`.

Which loop runs which call is the engine's business (`_engine`); nothing here
is on the per-call path.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import Executor, ThreadPoolExecutor
from typing import Final

from ._asyncio_internals import MISSING, default_executor

LoopFactory = Callable[[], asyncio.AbstractEventLoop]

_factory: LoopFactory = asyncio.new_event_loop


def set_loop_factory(factory: LoopFactory | None) -> None:
    """Use `factory` to create smartasync's event loops (for example
    `uvloop.new_event_loop`); `None` restores `asyncio.new_event_loop`.

    Loops that already exist keep running as they are: configure this once, at
    start-up, before the first sync call.

    Raises:
        TypeError: `factory` is neither callable nor None.
    """
    global _factory
    if factory is None:
        factory = asyncio.new_event_loop
    if not callable(factory):
        raise TypeError(
            f"set_loop_factory() expected a callable that returns a new event loop "
            f"(such as uvloop.new_event_loop) or None, got {factory!r}"
        )
    _factory = factory


def new_loop() -> asyncio.AbstractEventLoop:
    loop = _factory()
    if not isinstance(loop, asyncio.AbstractEventLoop):
        raise TypeError(
            f"the loop factory {_factory!r} returned {loop!r}, not an asyncio event loop"
        )
    if default_executor(loop) is MISSING:
        # A loop that does not show its default executor (uvloop, or any loop
        # where asyncio's attribute is not proven: see _asyncio_internals) is given
        # one of ours, which closing it can then join without a new thread
        # (see _shutdown_default_executor).  Its threads start on first use.
        executor = ThreadPoolExecutor(thread_name_prefix="smartasync-executor")
        loop.set_default_executor(executor)
        _executors[id(loop)] = (loop, executor)
    return loop


# The executors given to loops that hide theirs, by loop (kept with it).
_executors: Final[dict[int, tuple[asyncio.AbstractEventLoop, Executor]]] = {}


def close_loop(loop: asyncio.AbstractEventLoop) -> None:
    """Close `loop` the way `asyncio.Runner.close()` does: cancel what is left,
    finalise async generators, shut the default executor down, then close.
    Call it from the thread that may run `loop`, while nothing else runs it."""
    if loop.is_closed() or loop.is_running():
        return
    try:
        tasks = [task for task in asyncio.all_tasks(loop) if not task.done()]
        for task in tasks:
            task.cancel()
        if tasks:
            loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))
            for task in tasks:
                if not task.cancelled() and task.exception() is not None:
                    loop.call_exception_handler(
                        {
                            "message": "unhandled exception in a task left running "
                            "when smartasync closed its event loop",
                            "exception": task.exception(),
                            "task": task,
                        }
                    )
        loop.run_until_complete(loop.shutdown_asyncgens())
        _shutdown_default_executor(loop)
    finally:
        loop.close()


def _shutdown_default_executor(loop: asyncio.AbstractEventLoop) -> None:
    # `loop.shutdown_default_executor()` joins the executor from a new thread,
    # and Python 3.12+ refuses to start threads once the interpreter is
    # shutting down: at exit it printed "Exception ignored in atexit callback
    # ... can't create new thread at interpreter shutdown" after any sync call
    # that had used the executor (`asyncio.to_thread`, or an httpx request to
    # `localhost`, whose name lookup runs there).  Nothing else runs on a loop
    # being closed, so joining it right here loses nothing.  The attribute is
    # asyncio's own (BaseEventLoop); a loop without it (uvloop) was given an
    # executor of ours when it was made (`new_loop`), joined here the same
    # way (uvloop's shutdown_default_executor starts a thread too: the same
    # message at exit on 3.12, with a call that had used `to_thread`).
    executor = default_executor(loop)
    if executor is MISSING:
        entry = _executors.pop(id(loop), None)
        if entry is not None and entry[0] is loop:
            entry[1].shutdown(wait=True)
        else:  # a loop made elsewhere: its own shutdown, fine outside interpreter exit
            loop.run_until_complete(loop.shutdown_default_executor())
    elif isinstance(executor, Executor):
        executor.shutdown(wait=True)


# Loops inherited through fork.  They are kept alive forever, never closed:
# closing one in the child (or letting its __del__ close it) would unregister
# the parent's file descriptors from the epoll instance the two processes
# share, and the parent's loop would never wake again.
abandoned: Final[list[object]] = []
