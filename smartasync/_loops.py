"""Event loops: creation (with the configurable factory), clean closing, and the
bookkeeping that closes every loop at thread end, at interpreter exit, and
abandons inherited loops after `os.fork()`.

Nothing in this module is on the per-call path except `thread_loop()`, which
reads one thread-local attribute once the loop exists.
"""

from __future__ import annotations

import asyncio
import atexit
import os
import threading
import weakref
from collections.abc import Callable
from typing import Final

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
    return loop


def close_loop(loop: asyncio.AbstractEventLoop) -> None:
    """Close `loop` the way `asyncio.Runner.close()` does: cancel what is left,
    finalise async generators, shut the default executor down, then close."""
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
        loop.run_until_complete(loop.shutdown_default_executor())
    finally:
        loop.close()


class LoopOwner:
    """One thread's persistent loop, kept in that thread's local storage.

    When the thread ends, CPython clears its local storage in the same thread,
    and `__del__` closes the loop there.  (There is no public "thread is ending"
    hook; thread-local destruction is the one that runs in the right thread.)
    """

    __slots__ = ("__weakref__", "abandoned", "loop", "thread")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.thread = threading.current_thread()
        self.abandoned = False

    def close(self) -> None:
        if not self.abandoned:
            close_loop(self.loop)

    def __del__(self) -> None:
        self.close()


_local = threading.local()
_owners: weakref.WeakSet[LoopOwner] = weakref.WeakSet()
_owners_lock = threading.Lock()
# Loops inherited through fork.  They are kept alive forever, never closed:
# closing one in the child would unregister the parent's file descriptors from
# the epoll instance the two processes share.
_abandoned: Final[list[object]] = []


def thread_loop() -> asyncio.AbstractEventLoop:
    """This thread's persistent loop, created on first use."""
    try:
        return _local.owner.loop  # type: ignore[no-any-return]
    except AttributeError:
        pass
    loop = new_loop()
    owner = LoopOwner(loop)
    with _owners_lock:
        _owners.add(owner)
    _local.owner = owner
    return loop


def open_loops() -> int:
    """How many thread loops are open (for tests and leak checks)."""
    with _owners_lock:
        owners = list(_owners)
    return sum(1 for owner in owners if not owner.abandoned and not owner.loop.is_closed())


def close_all_thread_loops() -> None:
    """At interpreter exit: close the main thread's loop and those of threads
    that have ended.  A daemon thread still alive keeps its loop: it may make
    another call while the interpreter winds down, and closing the loop under
    it would turn that call into an "Event loop is closed" error."""
    current = threading.current_thread()
    with _owners_lock:
        owners = list(_owners)
    for owner in owners:
        if owner.thread is current or not owner.thread.is_alive():
            owner.close()


def _after_fork_in_child() -> None:
    global _local, _owners, _owners_lock
    # Runs single-threaded in the child.  Every inherited loop is abandoned (see
    # _abandoned above); the next sync call creates a fresh one.
    for owner in list(_owners):
        owner.abandoned = True
        _abandoned.append(owner.loop)
    _abandoned.append(_local)
    _local = threading.local()
    _owners = weakref.WeakSet()
    _owners_lock = threading.Lock()  # another thread may have held it at fork time


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)

atexit.register(close_all_thread_loops)
