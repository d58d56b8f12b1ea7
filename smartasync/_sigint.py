"""Ctrl-C during a sync call in the main thread.

The promise (DESIGN §3 rule 7): the call's coroutine is cancelled if it
started, closed if it did not; its cleanup runs to the end before
`KeyboardInterrupt` reaches the caller; it never completes afterwards; a
second Ctrl-C interrupts at once.

Raising `KeyboardInterrupt` from the signal handler cannot keep that promise:
Python runs the handler between any two bytecodes of the main thread, which
may be the loop's own bookkeeping, a lock that was just taken, or the instant
after a job was handed to another thread and before anything waits for it.
So for the length of a call the handler *defers*: it counts the hit and asks
the call to cancel its coroutine (through `call_soon_threadsafe`, which is
safe from a handler: `asyncio.Runner` does the same).  The call raises
`KeyboardInterrupt` itself once its coroutine has ended.

The handler is installed per call, only over Python's default handler, our
own (an outer call), or `asyncio.Runner`'s (a sync helper inside
`asyncio.run`: that handler would only cancel the main task, which cannot run
while the call blocks it).  A handler of the user's stays in charge.  Outside
calls `signal.getsignal()` keeps returning the default, so `asyncio.run` and
trio go on installing their own.
"""

from __future__ import annotations

import importlib
import os
import signal
import threading
from collections.abc import Callable
from types import FrameType
from typing import Any

from ._asyncio_internals import is_runner_handler

# The C functions under `signal`.  The public wrappers convert handlers to and
# from enums by catching exceptions: 1.45 us per getsignal(), against 0.04 us
# here, and that is paid on every sync call in the main thread.
_sigmod: Any
try:
    _sigmod = importlib.import_module("_signal")
except ImportError:  # pragma: no cover - other implementations
    _sigmod = signal

_getsignal: Callable[[int], object] = _sigmod.getsignal
_setsignal: Callable[[int, object], object] = _sigmod.signal
_SIGINT = int(signal.SIGINT)
_default_int_handler = signal.default_int_handler


class _State:
    """Only the main thread reads or writes it (Python runs signal handlers in
    the main thread), so it needs no lock."""

    __slots__ = ("hits", "target")

    def __init__(self) -> None:
        self.hits = 0
        # What the call in progress would cancel (a task or a job, given to
        # `cancel`); None until the call has something to cancel (a hit
        # before that is only counted, and the call looks at the count).
        self.target: object = None


state = _State()


def _unset(target: Any) -> None:
    raise RuntimeError("smartasync._engine did not set smartasync._sigint.cancel")


# Set by the engine (which imports this module): asks the loop that runs a
# task or job to cancel it.
cancel: Callable[[Any], object] = _unset


def _on_sigint(signum: int, frame: FrameType | None) -> None:
    st = state
    st.hits += 1
    if st.hits > 1:
        raise KeyboardInterrupt  # the second Ctrl-C: stop waiting for cleanup
    target = st.target
    if target is not None:
        try:
            cancel(target)
        except RuntimeError:  # the loop was closed under the call: nothing to cancel
            pass


Saved = tuple[object, int, object]


def install() -> Saved | None:
    """Take Ctrl-C over for one call, if this is the main thread and no
    handler of the user's is in charge.  Returns what `restore` needs, or None
    when nothing was installed."""
    if threading.get_ident() != main_ident:
        return None
    return install_main()


def install_main() -> Saved | None:
    """`install`, for a caller that knows it runs in the main thread."""
    handler = _getsignal(_SIGINT)
    if handler is not _default_int_handler and handler is not _on_sigint:
        if not is_runner_handler(handler):
            return None
    st = state
    saved = (handler, st.hits, st.target)
    st.hits, st.target = 0, None
    _setsignal(_SIGINT, _on_sigint)
    return saved


def restore(saved: Saved) -> int:
    """Give Ctrl-C back; returns how many times it was pressed meanwhile."""
    st = state
    # The handler first, then the count: a Ctrl-C landing in between is then
    # either counted here or raised by the restored handler, never lost.
    # (Read first, a hit landing after the read went to a count that nobody
    # looks at again: 1 run in 32 of the async-generator sweep on 3.12.)
    if _getsignal(_SIGINT) is _on_sigint:
        _setsignal(_SIGINT, saved[0])
    hits = st.hits
    st.hits, st.target = saved[1], saved[2]
    return hits


main_ident = threading.main_thread().ident


def _after_fork_in_child() -> None:
    global main_ident
    main_ident = threading.main_thread().ident
    state.hits, state.target = 0, None


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
