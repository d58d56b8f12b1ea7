"""Which smartasync functions one warm sync call crosses, in order.

    python benchmarks/call_path.py            # main thread
    python benchmarks/call_path.py --worker   # a worker thread

A structural measure (issue 13: the sync data path of one call), not a
timing: the functions and files a call enters, traced with sys.setprofile.
"""

from __future__ import annotations

import argparse
import sys
import threading
from types import FrameType
from typing import Any

from smartasync import SmartAsync


class Subject(SmartAsync):
    async def m(self, x: int) -> int:
        return x


def trace_one_call(obj: Subject) -> list[str]:
    seen: list[str] = []

    def profile(frame: FrameType, event: str, arg: Any) -> None:
        filename = frame.f_code.co_filename
        if event == "call" and "smartasync" in filename and "benchmarks" not in filename:
            seen.append(f"{filename.rsplit('/', 1)[-1]}:{frame.f_code.co_qualname}")

    sys.setprofile(profile)
    try:
        obj.m(1)
    finally:
        sys.setprofile(None)
    return seen


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--worker", action="store_true", help="call from a worker thread")
    args = parser.parse_args()
    obj = Subject()
    for i in range(10):  # warm: specialised, the sync loop made
        obj.m(i)
    result: list[list[str]] = []
    if args.worker:
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
