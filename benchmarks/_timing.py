"""Timing core: generated timing loops, calibration, interleaved repeats.

Every case is a statement timed inside a loop compiled for it (as `timeit`
does), unrolled so that the loop's own cost stays small next to a call of
~0.1 us.  All cases of one group are calibrated first, then timed in rounds:
each round times every case once, so a burst of noise on a shared machine hits
floors and subjects alike.  The best round gives the figure; the median and
the spread between them say how noisy the run was.
"""

from __future__ import annotations

import asyncio
import gc
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

# A timer runs its statement `n` times (times the unroll factor) and returns
# the elapsed seconds.
Timer = Callable[[int], float]

UNROLL = 10

_SYNC = """\
def __bench(__n, __perf=__perf):
    __t0 = __perf()
    for __i in range(__n):
{body}
    return __perf() - __t0
"""

# `await` a statement, or (kind "inloop") run a blocking statement inside a
# coroutine, i.e. with a loop running in this thread.
_ASYNC = """\
async def __bench(__n, __perf=__perf):
    __t0 = __perf()
    for __i in range(__n):
{body}
    return __perf() - __t0
"""


# Each await in a caller coroutine of its own, made for the call (a request
# handler, a callback): the caller's frame is new every time.
_FRESH = (
    """\
async def __caller():
    return await {stmt}

"""
    + _ASYNC
)


def compile_timer(
    stmt: str, namespace: dict[str, Any], kind: str, loop: asyncio.AbstractEventLoop | None
) -> Timer:
    """A timer for `stmt`: kind "sync" runs it plainly, "async" awaits it,
    "fresh" awaits it inside a new caller coroutine each time and "inloop"
    runs it inside a coroutine; all but "sync" on `loop`."""
    if kind == "fresh":
        body = "\n".join("        await __caller()" for _ in range(UNROLL))
        source = _FRESH.format(stmt=stmt, body=body)
    else:
        prefix = "await " if kind == "async" else ""
        body = "\n".join(f"        {prefix}{stmt}" for _ in range(UNROLL))
        source = (_SYNC if kind == "sync" else _ASYNC).format(body=body)
    scope = dict(namespace)
    scope["__perf"] = time.perf_counter
    exec(compile(source, f"<bench {stmt}>", "exec"), scope)
    bench = scope["__bench"]
    if kind == "sync":
        sync_bench: Callable[[int], float] = bench
        return sync_bench
    if loop is None:
        raise ValueError(f"a {kind} case needs a loop")
    kept = loop

    def run(n: int) -> float:
        elapsed: float = kept.run_until_complete(bench(n))
        return elapsed

    return run


@dataclass
class Sample:
    """The rounds of one case: seconds per call, one figure per round."""

    per_call: list[float]
    loops: int

    @property
    def best(self) -> float:
        return min(self.per_call)

    @property
    def median(self) -> float:
        return statistics.median(self.per_call)

    @property
    def noise(self) -> float:
        """How far the median round is above the best one (0.05 = 5%)."""
        return self.median / self.best - 1.0


def calibrate(timer: Timer, target: float, calls_per_loop: int) -> int:
    """How many loops make one round last about `target` seconds."""
    n = 1
    while True:
        elapsed = _timed(timer, n)
        if elapsed >= target * 0.2 or n >= 10**7:
            break
        n *= 10 if elapsed < target * 0.02 else 2
    return max(1, round(n * target / max(elapsed, 1e-9)))


def _timed(timer: Timer, n: int) -> float:
    enabled = gc.isenabled()
    gc.disable()
    try:
        return timer(n)
    finally:
        if enabled:
            gc.enable()


def run_rounds(
    timers: list[Timer],
    loops: list[int],
    calls_per_loop: list[int],
    rounds: int,
    execute: Callable[[Callable[[], float]], float],
) -> list[Sample]:
    """Time every timer once per round, interleaved, through `execute` (which
    runs a job in the thread being measured)."""
    samples = [Sample([], n) for n in loops]
    for _ in range(rounds):
        for index, timer in enumerate(timers):
            n = loops[index]
            elapsed = execute(lambda timer=timer, n=n: _timed(timer, n))  # type: ignore[misc]
            samples[index].per_call.append(elapsed / (n * calls_per_loop[index]))
    return samples
