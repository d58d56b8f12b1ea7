"""Several threads at once: a team of threads that run a batch together and
are timed by the wall clock, and a thread that holds the sync loop.

With one sync loop per process (DESIGN section 3, rule 2) a thread that
finds the loop driven by another thread hands its call over and waits;
`Holder` makes that situation with the public API alone: its thread stays
inside a long sync call, so it drives whatever loop that call runs on.  With
per-thread loops (the engine before issue 10) there is nothing to hand over
to; `Holder.ran_in()` says which case a run measured.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from typing import Any

from _timing import UNROLL, Timer, compile_timer

# No barrier or join waits forever: a broken engine fails the run instead of
# hanging it.
PATIENCE = 120.0


class BackgroundLoop:
    """The floor for forced sync calls: a bare loop thread of our own."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        self.loop.close()


class Team:
    """`size` persistent threads.  `run(job)` starts `job(index)` in all of
    them at once and returns the wall clock until the last one finished."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._start = threading.Barrier(size + 1)
        self._done = threading.Barrier(size + 1)
        self._job: Callable[[int], None] | None = None
        self._errors: list[BaseException] = []
        self._threads = [
            threading.Thread(target=self._serve, args=(i,), name=f"bench-team-{i}", daemon=True)
            for i in range(size)
        ]
        for thread in self._threads:
            thread.start()

    def _serve(self, index: int) -> None:
        while True:
            self._start.wait(PATIENCE)
            job = self._job
            if job is None:
                return
            try:
                job(index)
            except BaseException as exc:  # reported by run(), in the coordinating thread
                self._errors.append(exc)
            self._done.wait(PATIENCE)

    def run(self, job: Callable[[int], None]) -> float:
        self._job = job
        perf = time.perf_counter
        t0 = perf()
        self._start.wait(PATIENCE)
        self._done.wait(PATIENCE)
        elapsed = perf() - t0
        if self._errors:
            error = self._errors[0]
            self._errors.clear()
            raise error
        return elapsed

    def close(self) -> None:
        self._job = None
        self._start.wait(PATIENCE)
        for thread in self._threads:
            thread.join(PATIENCE)


def batch_timer(
    team: Team, stmt: str, namespace: Callable[[int], dict[str, Any]], calls: int
) -> Timer:
    """A timer whose unit is one batch: every thread of `team` runs `stmt`
    `calls` times, all threads at once; the wall clock of `n` batches.

    `namespace(index)` is called in thread `index` (a kept loop made there
    belongs there).  Each thread's statement is run once first and must
    return 2."""
    if calls % UNROLL:
        raise ValueError(f"calls per thread must be a multiple of {UNROLL}")
    timers: list[Timer] = [lambda n: 0.0] * team.size

    def setup(index: int) -> None:
        scope = namespace(index)
        value = eval(stmt, scope)
        if value != 2:
            raise AssertionError(f"{stmt} returned {value!r} in team thread {index}, expected 2")
        timers[index] = compile_timer(stmt, scope, "sync", None)

    team.run(setup)
    loops = calls // UNROLL

    def batch(index: int) -> None:
        timers[index](loops)

    def timer(n: int) -> float:
        return sum(team.run(batch) for _ in range(n))

    return timer


class Holder:
    """A thread inside a long sync call `held.hold()`, until `close()`."""

    def __init__(self, held: Any, timeout: float = 600.0) -> None:
        self.held = held
        self.error: BaseException | None = None
        self.thread = threading.Thread(
            target=self._hold, args=(timeout,), name="bench-holder", daemon=True
        )
        self.thread.start()
        if not held.holding.wait(PATIENCE):
            raise RuntimeError("the holding sync call did not start")

    def _hold(self, timeout: float) -> None:
        try:
            self.held.hold(timeout)  # a bare call from sync code: runs to completion
        except BaseException as exc:
            self.error = exc

    def ran_in(self) -> str:
        """Where a sync call from this thread runs while the holder holds."""
        ident = self.held.where()
        if ident == self.thread.ident:
            return "handed over to the holding thread"
        if ident == threading.get_ident():
            return "run by the calling thread (not a handover)"
        return "run by another thread (not the holding one)"

    def close(self) -> None:
        self.held.release()  # a sync call too: handed over, or crosses threads itself
        self.thread.join(PATIENCE)
        if self.thread.is_alive():
            raise RuntimeError("the holding sync call did not end after release()")
        if self.error is not None:
            raise self.error
