"""The cases counted by `benchmarks/callgrind/count.sh`: each runs `N` calls
(plus a warm-up) of one kind, so that the instruction count of one call is
the difference between two runs divided by the difference in N.

    python benchmarks/callgrind/cases.py N CASE
"""

from __future__ import annotations

import asyncio
import sys
import threading

from smartasync import SmartAsync, smartasync

WARM = 200


class Subject(SmartAsync):
    async def m(self, x: int) -> int:
        return x

    async def s(self, x: int) -> int:
        await asyncio.sleep(0)
        return x


async def raw(x: int) -> int:
    return x


@smartasync
async def dual_function(x: int) -> int:
    return x


async def raw_suspending(x: int) -> int:
    await asyncio.sleep(0)
    return x


_BODY = "\n".join(f"    async def m{i}(self, a{i}, b=1):\n        return a{i}" for i in range(20))


def main(n: int, case: str) -> None:
    obj = Subject()
    loop = asyncio.new_event_loop()

    def sync_calls() -> None:
        for i in range(WARM + n):
            obj.m(i)

    async def awaits() -> None:
        for i in range(WARM + n):
            await obj.m(i)

    async def raw_awaits() -> None:
        for i in range(WARM + n):
            await raw(i)

    async def function_awaits() -> None:
        for i in range(WARM + n):
            await dual_function(i)

    async def gathers(make: object) -> None:
        for _ in range(n // 100 + 2):
            await asyncio.gather(*(make(i) for i in range(100)))  # type: ignore[operator]

    if case == "sync_main":
        sync_calls()
    elif case == "sync_worker":
        worker = threading.Thread(target=sync_calls)
        worker.start()
        worker.join()
    elif case == "sync_suspending":
        for i in range(WARM + n):
            obj.s(i)
    elif case == "floor":
        for i in range(WARM + n):
            loop.run_until_complete(raw(i))
    elif case == "floor_suspending":
        for i in range(WARM + n):
            loop.run_until_complete(raw_suspending(i))
    elif case == "await":
        asyncio.run(awaits())
    elif case == "await_raw":
        asyncio.run(raw_awaits())
    elif case == "function_await":
        asyncio.run(function_awaits())
    elif case == "function_sync":
        for i in range(WARM + n):
            dual_function(i)
    elif case == "gather_genexpr":
        asyncio.run(gathers(obj.m))
    elif case == "gather_genexpr_raw":
        asyncio.run(gathers(raw))
    elif case in ("decorate", "plain_class"):
        base = "(SmartAsync)" if case == "decorate" else ""
        code = compile(f"class C{base}:\n{_BODY}", "<classes>", "exec")
        scope = {"SmartAsync": SmartAsync}
        for _ in range(n // 10):  # a tenth of a class per call
            exec(code, scope)
    else:
        raise SystemExit(f"unknown case {case!r}")
    loop.close()


if __name__ == "__main__":
    main(int(sys.argv[1]), sys.argv[2])
