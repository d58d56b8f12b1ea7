"""What binding a dual method in C would give `await obj.m(x)` (issue 14).

    python measure.py BUILD_DIR                 # wall clock, interleaved rounds
    python measure.py BUILD_DIR N CASE          # N calls of CASE (for callgrind)

BUILD_DIR holds `_cbind` built by build.sh for this Python.  Three subjects
with the same `async def m(self, x): return x`: a plain class (raw), a
SmartAsync class (today's pure-Python binding) and a class whose `m` is the
C `Binder` (mode read, caller test, coroutine made in C).  Each is awaited in
a tight loop and from a fresh caller coroutine per call.
"""

from __future__ import annotations

import asyncio
import inspect
import statistics
import sys
import time

sys.path.insert(0, sys.argv[1])

import _cbind

from smartasync import SmartAsync

FLAGS = inspect.CO_COROUTINE | inspect.CO_ITERABLE_COROUTINE | inspect.CO_ASYNC_GENERATOR


class Raw:
    async def m(self, x: int) -> int:
        return x


class Smart(SmartAsync):
    async def m(self, x: int) -> int:
        return x


def _slow(bound: object, *args: object) -> object:
    # A sync caller: run it as smartasync would (not timed here).
    return Smart.m.sync(bound.__self__, *args)  # type: ignore[attr-defined]


class CBound:
    _smartasync_mode = "auto"
    m = _cbind.Binder(Raw.m, _slow, "_smartasync_mode", "auto", set(), FLAGS)


SUBJECTS = {"raw": Raw(), "python": Smart(), "c": CBound()}


def make_cases() -> dict[str, object]:
    cases = {}
    for name, obj in SUBJECTS.items():

        async def tight(n: int, obj: object = obj) -> None:
            for i in range(n):
                await obj.m(i)  # type: ignore[attr-defined]

        async def caller(i: int, obj: object = obj) -> object:
            return await obj.m(i)  # type: ignore[attr-defined]

        async def fresh(n: int, caller: object = caller) -> None:
            for i in range(n):
                await caller(i)  # type: ignore[operator]

        cases[f"tight_{name}"] = tight
        cases[f"fresh_{name}"] = fresh
    return cases


def check() -> None:
    """The C subject answers as a dual method does, on the paths timed here."""
    c = SUBJECTS["c"]
    assert c.m(5) == 5, "a sync caller gets the value"  # type: ignore[attr-defined]
    assert CBound.__dict__["m"] is CBound.m, "read through the class: the descriptor itself"

    async def main() -> None:
        assert await c.m(6) == 6  # type: ignore[attr-defined]

    asyncio.run(main())
    # (Calls from comprehensions are not covered: the prototype is given an
    # empty set of comprehension ids, and nothing times them here.)


async def wall(cases: dict[str, object], rounds: int = 15, n: int = 20000) -> None:
    per: dict[str, list[float]] = {k: [] for k in cases}
    for _ in range(rounds):
        for key, case in cases.items():
            start = time.perf_counter()
            await case(n)  # type: ignore[operator]
            per[key].append((time.perf_counter() - start) / n * 1e6)
    for kind in ("tight", "fresh"):
        raw = per[f"{kind}_raw"]
        for name in ("raw", "python", "c"):
            times = per[f"{kind}_{name}"]
            ratios = [t / r for t, r in zip(times, raw, strict=True)]
            print(
                f"{kind:5} {name:6}  best {min(times):.3f} us"
                f"  x raw: median {statistics.median(ratios):.2f}, best-round {min(ratios):.2f}"
            )


def main() -> None:
    cases = make_cases()
    if len(sys.argv) == 4:
        n, case = int(sys.argv[2]), sys.argv[3]
        asyncio.run(cases[case](200 + n))  # type: ignore[operator]
        return
    check()
    print(f"Python {sys.version.split()[0]}")
    asyncio.run(wall(cases))


if __name__ == "__main__":
    main()
