"""What a measurement is (a Row: one statement or timer; a Group: rows
timed together in interleaved rounds, against its floors) and how a group is
run: its namespace built in the measured thread, every statement run once
and checked, then calibrated and timed.
"""

from __future__ import annotations

import asyncio
import gc
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from _peers import Peer
from _subjects import (
    PassThrough,
    PassThroughExact,
    Predecessor,
    Raw,
    drive,
    helper_m,
    helper_s,
    raw_f,
)
from _targets import GATHERED
from _threads import BackgroundLoop
from _timing import UNROLL, Sample, Timer, calibrate, compile_timer, run_rounds


@dataclass
class Row:
    name: str
    role: str  # "floor", "smartasync" or "peer"
    stmt: str | None = None
    note: str = ""
    # A custom timer maker, called in the measured thread with the namespace.
    make_timer: Callable[[dict[str, Any]], Timer] | None = None
    calls_per_loop: int = UNROLL
    scenario: str | None = None  # for peers: the peer statement's scenario
    peer: Peer | None = None
    error: str | None = None
    sample: Sample | None = None


@dataclass
class Group:
    key: str
    title: str
    thread: str  # "main" or "worker"
    kind: str  # "sync", "async", "fresh", "inloop", "custom" (see _timing.compile_timer)
    floors: list[str]
    rows: list[Row]
    unit_note: str = "µs per call"
    column: str = "µs"  # the heading of the figures' column
    # Called in the measured thread once the namespace exists: adds to it, and
    # appends to ns["closers"] what must be undone (run in reverse order).
    setup: Callable[[dict[str, Any]], None] | None = None
    # What the run found out besides timings (printed under the table).
    extra: dict[str, Any] = field(default_factory=dict)
    # What every statement must return when run once before timing.
    expected: Any = 2


def run_group(
    group: Group,
    sa: Any,
    smart: dict[str, Any],
    baseline: dict[str, Any] | None,
    execute: Callable[[Callable[[], Any]], Any],
    rounds: int,
    target: float,
) -> None:
    ns: dict[str, Any] = execute(lambda: make_namespace(sa, smart, group, baseline))
    try:
        if group.setup is not None:
            setup = group.setup
            execute(lambda: setup(ns))
        ns.update(execute(lambda: build_peer_namespace(group.rows)))
        live: list[Row] = []
        timers: list[Timer] = []
        for row in group.rows:
            if row.error is not None:
                continue
            if row.make_timer is not None:
                make = row.make_timer
                timer: Timer = execute(lambda make=make: make(ns))  # type: ignore[misc]
            else:
                assert row.stmt is not None
                error = execute(lambda row=row: validate(row, ns, group))  # type: ignore[misc]
                if error is not None:
                    row.error = error
                    continue
                timer = compile_timer(row.stmt, ns, group.kind, ns["loop"])
            live.append(row)
            timers.append(timer)
        loops = [
            execute(lambda t=t, r=r: calibrate(t, target, r.calls_per_loop))  # type: ignore[misc]
            for t, r in zip(timers, live, strict=True)
        ]
        samples = run_rounds(timers, loops, [r.calls_per_loop for r in live], rounds, execute)
        for row, sample in zip(live, samples, strict=True):
            row.sample = sample
    finally:
        execute(lambda: close_namespace(ns))


def make_namespace(
    sa: Any, smart: dict[str, Any], group: Group, baseline: dict[str, Any] | None
) -> dict[str, Any]:
    sync_smart = smart["Smart"]()
    sa.set_mode(sync_smart, "sync")
    ns: dict[str, Any] = {
        "closers": [],
        "asyncio": asyncio,
        "drive": drive,
        "raw": Raw(),
        "raw_f": raw_f,
        "pt": PassThrough(),
        "ptx": PassThroughExact(),
        "pred": Predecessor(),
        "smart": smart["Smart"](),
        "based": smart["Based"](),
        "smart_f": smart["smart_f"],
        "sync_smart": sync_smart,
        "helper_m": helper_m,
        "helper_s": helper_s,
        "rcts": asyncio.run_coroutine_threadsafe,
        "xs": range(GATHERED),
        "loop": asyncio.new_event_loop(),  # the kept loop (floor), or the loop async cases run on
    }
    if baseline is not None:
        ns["base_smart"] = baseline["Smart"]()
    if group.kind == "sync":
        ns["runner"] = asyncio.Runner()
    if group.kind == "inloop":
        ns["bg"] = BackgroundLoop()
        ns["bg_loop"] = ns["bg"].loop
    return ns


def close_namespace(ns: dict[str, Any]) -> None:
    for close in reversed(ns["closers"]):
        close()
    if "runner" in ns:
        ns["runner"].close()
    if "bg" in ns:
        ns["bg"].close()
    ns["loop"].close()


def build_peer_namespace(rows: list[Row]) -> dict[str, Any]:
    """The peers' objects, built in the measured thread; a failing build is
    recorded on the peer's rows."""
    ns: dict[str, Any] = {}
    built: set[str] = set()
    for row in rows:
        peer = row.peer
        if peer is None or row.error is not None or row.stmt is None or peer.name in built:
            continue
        built.add(peer.name)
        try:
            ns.update(peer.build())
        except Exception as exc:
            peer.error = one_line(f"build failed: {type(exc).__name__}: {exc}")
    for row in rows:
        if row.peer is not None and row.peer.error is not None and row.error is None:
            row.error = row.peer.error
    return ns


def one_line(text: str, limit: int = 160) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def validate(row: Row, ns: dict[str, Any], group: Group) -> str | None:
    """Run the statement once; the reason it cannot be timed, or None."""
    assert row.stmt is not None
    try:
        if group.kind == "sync":
            value = eval(row.stmt, ns)
        else:
            scope = dict(ns)
            prefix = "" if group.kind == "inloop" else "await "
            exec(f"async def __check():\n    return {prefix}{row.stmt}\n", scope)
            value = ns["loop"].run_until_complete(scope["__check"]())
    except BaseException as exc:
        if isinstance(exc, KeyboardInterrupt):
            raise
        with warnings.catch_warnings():  # the peer's coroutine, made and dropped
            warnings.simplefilter("ignore", RuntimeWarning)
            gc.collect()
        return one_line(f"{type(exc).__name__}: {exc}")
    if asyncio.iscoroutine(value):
        value.close()
        return "returned a coroutine instead of the value"
    if value != group.expected:
        return one_line(f"returned {value!r}, expected {group.expected!r}")
    return None
