"""What a long run leaves behind: memory over many sync calls, and threads
and file descriptors after many short-lived threads that each made one.

Nothing here is timed.  The figures are differences from a baseline taken
after a warm-up, so what an engine makes once (a loop, its self-pipe, a
driver thread) is not counted; what it makes per call or per thread is.
"""

from __future__ import annotations

import asyncio
import gc
import os
import sys
import threading
import time
import tracemalloc
from typing import Any

from _targets import GROWTH_AWAIT, GROWTH_SUSPENDING, GROWTH_SYNC
from _timing import UNROLL, compile_timer

PATIENCE = 120.0  # seconds a thread join may take before the run fails


def rss_bytes() -> int | None:
    """Resident memory now (Linux); None where /proc is missing."""
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return None


def _count_dir(path: str) -> int | None:
    try:
        return len(os.listdir(path))
    except OSError:
        return None


def open_fds() -> int | None:
    return _count_dir("/proc/self/fd") or _count_dir("/dev/fd")


def os_threads() -> int | None:
    return _count_dir("/proc/self/task")


# The kinds of call whose growth is measured: (entry, statement, timer kind).
KINDS = [
    (GROWTH_SYNC, "obj.m(1)", "sync"),
    (GROWTH_SUSPENDING, "obj.s(1)", "sync"),
    (GROWTH_AWAIT, "obj.m(1)", "async"),
]


def growth_of_each_kind(obj: Any, calls: int, samples: int) -> dict[str, dict[str, Any]]:
    """memory_growth() for every kind of call, one after the other on the
    same instance; awaited calls on a kept loop of their own."""
    loop = asyncio.new_event_loop()
    try:
        return {
            entry: memory_growth(stmt, {"obj": obj}, kind, loop, calls, samples)
            for entry, stmt, kind in KINDS
        }
    finally:
        loop.close()


def memory_growth(
    stmt: str,
    namespace: dict[str, Any],
    kind: str,
    loop: asyncio.AbstractEventLoop,
    calls: int,
    samples: int = 10,
) -> dict[str, Any]:
    """`calls` runs of `stmt` in this thread (kind as compile_timer takes it)
    after a warm-up of a twentieth as many, with the resident size and the
    number of memory blocks allocated sampled `samples` times; then a
    fiftieth as many calls under tracemalloc (several times slower), for the
    bytes each leaves allocated.

    Not `len(gc.get_objects())`: the big list it builds moves glibc's mmap
    threshold, and the resident size with it, by a few hundred KiB."""
    warmup = max(1000, calls // 20)
    window = max(1000, calls // 50)
    chunk = max(UNROLL, calls // samples // UNROLL * UNROLL)
    timer = compile_timer(stmt, namespace, kind, loop)
    started = time.perf_counter()
    timer(warmup // UNROLL)

    def sample(done: int) -> dict[str, Any]:
        gc.collect()
        return {
            "calls": done,
            "rss_bytes": rss_bytes(),
            "allocated_blocks": sys.getallocatedblocks(),
        }

    points = [sample(0)]
    done = 0
    while done < calls:
        timer(chunk // UNROLL)
        done += chunk
        points.append(sample(done))
    seconds = time.perf_counter() - started
    gc.collect()
    traced_started = time.perf_counter()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        timer(window // UNROLL)
        gc.collect()
        traced = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    first, last = points[0], points[-1]
    rss_growth = (
        None
        if first["rss_bytes"] is None or last["rss_bytes"] is None
        else last["rss_bytes"] - first["rss_bytes"]
    )
    return {
        "statement": stmt if kind == "sync" else f"await {stmt}",
        "calls": done,
        "warmup_calls": warmup,
        "rss_growth_bytes": rss_growth,
        "rss_bytes_per_call": None if rss_growth is None else rss_growth / done,
        "allocated_blocks_growth": last["allocated_blocks"] - first["allocated_blocks"],
        "traced_calls": window,
        "traced_bytes_per_call": traced / window,
        "samples": points,
        "seconds": seconds,
        "traced_seconds": time.perf_counter() - traced_started,
    }


def thread_churn(obj: Any, threads: int, wave: int = 8) -> dict[str, Any]:
    """`threads` short-lived threads, `wave` alive at a time, each making one
    sync call `obj.m(1)` on the same instance; the threads, file descriptors
    and resident size of the process before and after."""
    failures: list[str] = []

    def one() -> None:
        try:
            value = obj.m(1)
        except Exception as exc:
            failures.append(f"{type(exc).__name__}: {exc}")
        else:
            if value != 2:
                failures.append(f"returned {value!r}, expected 2")

    def run(count: int) -> None:
        done = 0
        while done < count:
            batch = [threading.Thread(target=one) for _ in range(min(wave, count - done))]
            for thread in batch:
                thread.start()
            for thread in batch:
                thread.join(PATIENCE)
                if thread.is_alive():
                    raise RuntimeError("a short-lived thread's sync call did not return")
            done += len(batch)

    one()
    run(wave)  # warm-up: what the engine makes once for other threads exists now
    baseline = _settled(None)
    started = time.perf_counter()
    run(threads)
    seconds = time.perf_counter() - started
    settle_started = time.perf_counter()
    after = _settled(baseline)
    return {
        "statement": "obj.m(1)",
        "threads": threads,
        "alive_at_once": wave,
        "failed_calls": len(failures),
        "first_failure": failures[0] if failures else None,
        "before": baseline,
        "after": after,
        "threads_over_baseline": _over(after, baseline, "os_threads", "python_threads"),
        "fds_over_baseline": _over(after, baseline, "fds"),
        "rss_growth_bytes": _over(after, baseline, "rss_bytes"),
        "seconds": seconds,
        "settle_seconds": time.perf_counter() - settle_started,
    }


def _probe() -> dict[str, int | None]:
    gc.collect()  # a loop closed only by its finaliser is counted closed
    return {
        "python_threads": threading.active_count(),
        "os_threads": os_threads(),
        "fds": open_fds(),
        "rss_bytes": rss_bytes(),
    }


def _settled(baseline: dict[str, int | None] | None, limit: float = 2.0) -> dict[str, int | None]:
    """A probe once the counts stop moving (no baseline) or are back to the
    baseline, polling for at most `limit` seconds: thread exit and finalisers
    may trail the last join by a moment."""
    keys = ("python_threads", "os_threads", "fds")
    deadline = time.perf_counter() + limit
    last = _probe()
    while time.perf_counter() < deadline:
        time.sleep(0.01)
        now = _probe()
        if baseline is None:
            if all(now[k] == last[k] for k in keys):
                return now
        elif all((_over(now, baseline, k) or 0) <= 0 for k in keys):
            return now
        last = now
    return last


def _over(after: dict[str, int | None], before: dict[str, int | None], *keys: str) -> int | None:
    """after - before for the first key both probes measured."""
    for key in keys:
        a, b = after.get(key), before.get(key)
        if a is not None and b is not None:
            return a - b
    return None


# Markdown.


def growth_table(items: dict[str, dict[str, Any]]) -> str:
    first = next(iter(items.values()))
    lines = [
        f"### Memory over {first['calls']:,} calls of each kind in one thread, "
        f"after {first['warmup_calls']:,} warm-up calls",
        "",
        "| calls | resident size (RSS) | RSS per call | memory blocks (sys.getallocatedblocks) "
        "| bytes left allocated per call (tracemalloc) | RSS at each sample, KiB over the first "
        "| seconds |",
        "|---|---|---|---|---|---|---|",
    ]
    for entry, item in items.items():
        rss = item["rss_growth_bytes"]
        start = item["samples"][0]["rss_bytes"]
        trail = ", ".join(
            f"{(point['rss_bytes'] - start) / 1024:+.0f}"
            for point in item["samples"]
            if start is not None and point["rss_bytes"] is not None
        )
        growth = "—" if rss is None else f"{rss / 1024:+.0f} KiB"
        per_call = "—" if rss is None else f"{item['rss_bytes_per_call']:.3f} B"
        lines.append(
            f"| {entry} | {growth} | {per_call} "
            f"| {item['allocated_blocks_growth']:+d} "
            f"| {item['traced_bytes_per_call']:.3f} ({item['traced_calls']:,} calls) "
            f"| {trail or '—'} | {item['seconds']:.1f} + {item['traced_seconds']:.1f} |"
        )
    return "\n".join(lines)


def churn_table(item: dict[str, Any]) -> str:
    before, after = item["before"], item["after"]

    def line(label: str, key: str, scale: int = 1) -> str:
        b, a = before[key], after[key]
        if b is None or a is None:
            return f"| {label} | — | — | — |"
        return f"| {label} | {b // scale} | {a // scale} | {(a - b) // scale:+d} |"

    failures = f"Failed calls: {item['failed_calls']}"
    if item["first_failure"]:
        failures += f" (first: {item['first_failure']})"
    return "\n".join(
        [
            f"### After {item['threads']:,} short-lived threads, each one sync call "
            f"`{item['statement']}` on one shared instance ({item['alive_at_once']} alive at a time)",
            "",
            "| | before | after | over baseline |",
            "|---|---|---|---|",
            line("threads (OS)", "os_threads"),
            line("threads (Python)", "python_threads"),
            line("file descriptors", "fds"),
            line("resident size (RSS), KiB", "rss_bytes", 1024),
            "",
            f"{failures}. {item['seconds']:.1f} s; back to the baseline (or gave up) "
            f"{item['settle_seconds']:.2f} s after the last join.",
        ]
    )
