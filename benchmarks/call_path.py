"""Which smartasync functions one call crosses, in order.

    python benchmarks/call_path.py            # a warm sync call, main thread
    python benchmarks/call_path.py --worker   # a warm sync call, a worker thread
    python benchmarks/call_path.py --await    # a warm `await obj.m(x)`
    python benchmarks/call_path.py --first    # the first call (add --await: awaited)

A structural measure (issue 13: the sync data path of one call), not a
timing: the functions and files a call enters, traced with sys.setprofile.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import threading
from types import FrameType
from typing import Any

from smartasync import SmartAsync


class Subject(SmartAsync):
    async def m(self, x: int) -> int:
        return x


def _profiler(seen: list[str]) -> Any:
    def profile(frame: FrameType, event: str, arg: Any) -> None:
        filename = frame.f_code.co_filename
        if event == "call" and "smartasync" in filename and "benchmarks" not in filename:
            seen.append(f"{filename.rsplit('/', 1)[-1]}:{frame.f_code.co_qualname}")

    return profile


def trace_one_call(obj: Subject) -> list[str]:
    seen: list[str] = []
    sys.setprofile(_profiler(seen))
    try:
        obj.m(1)
    finally:
        sys.setprofile(None)
    return seen


async def trace_one_await(obj: Subject, warm: int) -> list[str]:
    for i in range(warm):
        await obj.m(i)
    seen: list[str] = []
    sys.setprofile(_profiler(seen))
    try:
        await obj.m(1)
    finally:
        sys.setprofile(None)
    return seen


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--worker", action="store_true", help="call from a worker thread")
    parser.add_argument("--await", dest="awaited", action="store_true", help="an awaited call")
    parser.add_argument("--first", action="store_true", help="the first call, not a warm one")
    args = parser.parse_args()
    obj = Subject()
    result: list[list[str]] = []
    if args.awaited:
        result.append(asyncio.run(trace_one_await(obj, 0 if args.first else 10)))
    elif args.first:
        result.append(trace_one_call(obj))
    else:
        for i in range(10):  # warm: specialised, the sync loop made
            obj.m(i)
    if result:
        pass
    elif args.worker:
        thread = threading.Thread(target=lambda: result.append(trace_one_call(obj)))
        thread.start()
        thread.join()
    else:
        result.append(trace_one_call(obj))
    (seen,) = result
    files = {entry.split(":")[0] for entry in seen}
    print(f"{len(seen)} functions in {len(files)} files")
    for entry in seen:
        print(f"  {entry}")


if __name__ == "__main__":
    main()
