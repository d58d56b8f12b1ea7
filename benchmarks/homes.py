"""What homes cost (DESIGN §3 rule 3, issue 20's budgets), as ratios in one run.

    python benchmarks/homes.py            # ~20 s
    python benchmarks/homes.py --quick    # ~3 s, to check it works

Each budget compares two statements timed back to back in every round (so a
burst of load on a shared machine hits both); the figure is the median of
the per-round ratios.  The subjects differ only in where the object lives:
`Loose` has no resources (loop_bound=False: no home, the zero-cost paths),
`Bound` is an async context manager (a birth home), with the same method.

- await on an object homed on the caller's loop (born there, or `async with`)
  / the same await with no home                                  <= 1.15x
- sync call on an object homed on the sync loop (born in sync code, or
  `with`) / the same call with no home                           <= 1.10x
- an await carried to the sync loop (a client made in sync code, awaited
  from an app's loop) / asyncio.wrap_future(run_coroutine_threadsafe(...))
  to a loop thread                                               <= 1.2x
- construction of a resource object over one without             <= +1 us
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import statistics
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from smartasync import SmartAsync

_perf = time.perf_counter


class Loose(SmartAsync, loop_bound=False):
    async def __aenter__(self) -> Loose:
        return self

    async def __aexit__(self, *exc: object) -> None:
        return None

    async def m(self, x: int) -> int:
        return x


class Bound(SmartAsync):
    async def __aenter__(self) -> Bound:
        return self

    async def __aexit__(self, *exc: object) -> None:
        return None

    async def m(self, x: int) -> int:
        return x


async def raw(x: int) -> int:
    return x


def _sync_loop_of(fn: Callable[[], Any], n: int) -> float:
    t0 = _perf()
    for _ in range(n):
        fn()
    return (_perf() - t0) / n


def rounds(
    pairs: dict[str, tuple[Callable[[int], float], Callable[[int], float]]], n: int, count: int
) -> dict[str, tuple[float, float, float]]:
    """Per pair: (median ratio, median subject s, median floor s), each
    round timing the floor and then the subject."""
    out: dict[str, list[tuple[float, float]]] = {name: [] for name in pairs}
    gc.disable()
    try:
        for _ in range(count):
            for name, (subject, floor) in pairs.items():
                f = floor(n)
                s = subject(n)
                out[name].append((s, f))
    finally:
        gc.enable()
    return {
        name: (
            statistics.median(s / f for s, f in values),
            statistics.median(s for s, _ in values),
            statistics.median(f for _, f in values),
        )
        for name, values in out.items()
    }


def awaits(obj: Any) -> Callable[[int], float]:
    async def body(n: int) -> float:
        m = obj.m
        t0 = _perf()
        for _ in range(n):
            await obj.m(1)
        del m
        return (_perf() - t0) / n

    return body  # type: ignore[return-value]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    n, count = (2_000, 5) if args.quick else (20_000, 21)
    results: list[tuple[str, float, str, float]] = []

    # -- sync calls: born in sync code, `with`, none ---------------------------------
    loose, born, entered = Loose(), Bound(), Bound()
    for obj in (loose, born, entered):
        obj.m(1)  # specialised, loop made
    with entered:
        sync = rounds(
            {
                "born": (
                    lambda k: _sync_loop_of(lambda: born.m(1), k),
                    lambda k: _sync_loop_of(lambda: loose.m(1), k),
                ),
                "with": (
                    lambda k: _sync_loop_of(lambda: entered.m(1), k),
                    lambda k: _sync_loop_of(lambda: loose.m(1), k),
                ),
            },
            n // 4,
            count,
        )
    results.append(("sync call, born in sync code / no home", sync["born"][0], "<= 1.10", 1.10))
    results.append(("sync call, entered with `with` / no home", sync["with"][0], "<= 1.10", 1.10))

    # -- awaits on the caller's loop: born there, `async with`, none ------------------
    async def on_loop() -> dict[str, tuple[float, float, float]]:
        here_loose, here_born, here_entered = Loose(), Bound(), Bound()
        async with here_entered:
            for obj in (here_loose, here_born, here_entered):
                for _ in range(5):
                    await obj.m(1)
            pairs = {}
            timers = {
                k: awaits(o)
                for k, o in (("loose", here_loose), ("born", here_born), ("entered", here_entered))
            }
            values: dict[str, list[tuple[float, float]]] = {"born": [], "entered": []}
            for _ in range(count):
                for name in ("born", "entered"):
                    f = await timers["loose"](n)  # type: ignore[misc]
                    s = await timers[name](n)  # type: ignore[misc]
                    values[name].append((s, f))
            for name, vals in values.items():
                pairs[name] = (
                    statistics.median(s / f for s, f in vals),
                    statistics.median(s for s, _ in vals),
                    statistics.median(f for _, f in vals),
                )
            return pairs

    homed = asyncio.run(on_loop())
    results.append(
        ("await, born on the caller's loop / no home", homed["born"][0], "<= 1.15", 1.15)
    )
    results.append(
        ("await, `async with` on the caller's loop / no home", homed["entered"][0], "<= 1.15", 1.15)
    )

    # -- an await carried to the sync loop vs a bare loop thread ---------------------
    other = asyncio.new_event_loop()
    thread = threading.Thread(target=other.run_forever, daemon=True)
    thread.start()
    carried = Bound()  # sync code: it lives on the sync loop
    carried.m(1)

    async def across() -> tuple[float, float, float]:
        for _ in range(20):
            await carried.m(1)
        vals = []
        k = max(n // 20, 50)
        for _ in range(count):
            t0 = _perf()
            for _ in range(k):
                await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(raw(1), other))
            f = (_perf() - t0) / k
            t0 = _perf()
            for _ in range(k):
                await carried.m(1)
            s = (_perf() - t0) / k
            vals.append((s, f))
        return (
            statistics.median(s / f for s, f in vals),
            statistics.median(s for s, _ in vals),
            statistics.median(f for _, f in vals),
        )

    crossed = asyncio.run(across())
    other.call_soon_threadsafe(other.stop)
    thread.join()
    other.close()
    results.append(
        (
            "await carried to the sync loop / wrap_future(run_coroutine_threadsafe)",
            crossed[0],
            "<= 1.2",
            1.2,
        )
    )

    # -- construction -----------------------------------------------------------------
    def make(cls: type) -> Callable[[int], float]:
        return lambda k: _sync_loop_of(cls, k)

    built = rounds({"build": (make(Bound), make(Loose))}, n, count)
    excess_us = (built["build"][1] - built["build"][2]) * 1e6

    async def build_async() -> float:
        # Made inside this `async def`: each Bound lives on this loop.
        async def timed(cls: type, k: int) -> float:
            t0 = _perf()
            for _ in range(k):
                cls()
            return (_perf() - t0) / k

        vals = []
        for _ in range(count):
            f = await timed(Loose, n)
            s = await timed(Bound, n)
            vals.append(s - f)
        return statistics.median(vals) * 1e6

    async_excess = asyncio.run(build_async())

    print(f"Python {sys.version.split()[0]}, {count} rounds, median of per-round ratios")
    failed = 0
    for name, figure, budget, limit in results:
        ok = figure <= limit
        failed += not ok
        print(f"  {name:<72} {figure:6.3f}x  (budget {budget}x)  {'ok' if ok else 'OVER'}")
    for name, value in (
        ("construction, sync code, over a class without resources", excess_us),
        ("construction, async code (a home on its loop), over the same", async_excess),
    ):
        ok = value <= 1.0
        failed += not ok
        print(f"  {name:<72} {value:+6.2f} us (budget +1 us)  {'ok' if ok else 'OVER'}")
    print(
        f"  sync call: no home {sync['born'][2] * 1e6:.2f} us; "
        f"await: no home {homed['born'][2] * 1e9:.0f} ns; "
        f"carried {crossed[1] * 1e6:.1f} us vs bare {crossed[2] * 1e6:.1f} us"
    )
    sys.exit(1 if failed and not args.quick else 0)


if __name__ == "__main__":
    main()
