"""smartasync benchmarks: µs per call, and ratios to floors and peers measured
in the same process and the same run.

    python benchmarks/run.py            # full run, ~1-2 minutes
    python benchmarks/run.py --quick    # a few seconds; what CI runs

Prints one Markdown table per scenario, the memory and thread figures and
the targets of the issues, and writes JSON (default
benchmarks/results/latest.json).  Figures are the best of several interleaved
rounds; `noise` is how far the median round was above the best one.  Only the
ratios mean anything across machines.
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import datetime
import gc
import importlib
import importlib.util
import json
import os
import platform
import subprocess
import sys
import threading
import time
import tracemalloc
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

import _targets  # noqa: E402
from _growth import churn_table, growth_table, memory_growth, thread_churn  # noqa: E402
from _peers import Peer, peers  # noqa: E402
from _subjects import (  # noqa: E402
    PassThrough,
    PassThroughExact,
    Predecessor,
    Raw,
    build_smart,
    class_namespace,
    drive,
    helper_m,
    helper_s,
    raw_f,
)
from _targets import (  # noqa: E402
    ARUN,
    BARE_LOOP_THREAD,
    BASELINE,
    HANDED_OVER,
    KEPT,
    METHODS,
    RAW_AWAIT,
    SMART,
    TEAM,
    TEAM_BARE,
    TEAM_KEPT,
    TEAM_SHARED,
)
from _threads import Holder, Team, batch_timer  # noqa: E402
from _timing import UNROLL, Sample, Timer, calibrate, compile_timer, run_rounds  # noqa: E402

SCHEMA = 1


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
    kind: str  # "sync", "async", "inloop" (see _timing.compile_timer)
    floors: list[str]
    rows: list[Row]
    unit_note: str = "µs per call"
    column: str = "µs"  # the heading of the figures' column
    # Called in the measured thread once the namespace exists: adds to it, and
    # appends to ns["closers"] what must be undone (run in reverse order).
    setup: Callable[[dict[str, Any]], None] | None = None
    # What the run found out besides timings (printed under the table).
    extra: dict[str, Any] = field(default_factory=dict)


# --------------------------------------------------------------------------
# Namespaces: built in the thread that runs the group.


class _BackgroundLoop:
    """The floor for forced sync calls: a bare loop thread of our own."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        self.loop.close()


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
        "loop": asyncio.new_event_loop(),  # the kept loop (floor), or the loop async cases run on
    }
    if baseline is not None:
        ns["base_smart"] = baseline["Smart"]()
    if group.kind == "sync":
        ns["runner"] = asyncio.Runner()
    if group.kind == "inloop":
        ns["bg"] = _BackgroundLoop()
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


# --------------------------------------------------------------------------
# Scenarios.


def sync_rows(meth: str, peer_list: list[Peer], baseline: bool) -> list[Row]:
    rows = [
        Row(KEPT, "floor", f"loop.run_until_complete(raw.{meth}(1))"),
        Row("hand-driven coro.send(None)", "floor", f"drive(raw.{meth}(1))"),
        Row(ARUN, "floor", f"asyncio.run(raw.{meth}(1))"),
        Row("asyncio.Runner.run(coro), kept runner", "floor", f"runner.run(raw.{meth}(1))"),
        Row(SMART, "smartasync", f"smart.{meth}(1)"),
        # Next to the subject in every round: the two differ by fractions of a µs.
        *([Row(BASELINE, "baseline", f"base_smart.{meth}(1)")] if baseline else []),
        Row("smartasync obj.m(x), SmartAsync base", "smartasync", f"based.{meth}(1)"),
        Row("smartasync obj.m.sync(x)", "smartasync", f"smart.{meth}.sync(1)"),
    ]
    if meth == "m":
        rows.append(Row("smartasync f(x), module-level function", "smartasync", "smart_f(1)"))
    rows += peer_rows(peer_list, f"sync_{meth}")
    return rows


def peer_rows(peer_list: list[Peer], scenario: str) -> list[Row]:
    rows = []
    for peer in peer_list:
        stmt = peer.stmts.get(scenario)
        row = Row(peer.name, "peer", stmt, note=peer.note, scenario=scenario, peer=peer)
        if peer.error is not None:
            row.error = peer.error
        elif stmt is None:
            row.error = peer.missing.get(scenario, "not offered")
        rows.append(row)
    return rows


def decoration_rows(sa: Any, peer_list: list[Peer]) -> list[Row]:
    body = class_namespace(METHODS)

    def class_timer(make: Callable[[], object]) -> Callable[[dict[str, Any]], Timer]:
        def factory(ns: dict[str, Any]) -> Timer:
            def timer(n: int) -> float:
                perf = time.perf_counter
                t0 = perf()
                for _ in range(n):
                    make()
                return perf() - t0

            return timer

        return factory

    smart_base = sa.SmartAsync
    rows = [
        Row(
            f"plain class, {METHODS} async methods",
            "floor",
            make_timer=class_timer(lambda: type("C", (), dict(body))),
            calls_per_loop=1,
        ),
        Row(
            f"@smartasync class, {METHODS} methods",
            "smartasync",
            make_timer=class_timer(lambda: sa.smartasync(type("C", (), dict(body)))),
            calls_per_loop=1,
        ),
        Row(
            f"class C(SmartAsync), {METHODS} methods",
            "smartasync",
            make_timer=class_timer(lambda: type("C", (smart_base,), dict(body))),
            calls_per_loop=1,
        ),
        Row(
            f"first use of all {METHODS} methods (lazy codegen), per class",
            "smartasync",
            note="fresh decorated class; obj.mI.aio(x) once per method; class creation not timed",
            make_timer=first_use_timer(sa, body, first=True),
            calls_per_loop=1,
        ),
        Row(
            f"later use of all {METHODS} methods, per class",
            "smartasync",
            note="the same statements on an already used instance",
            make_timer=first_use_timer(sa, body, first=False),
            calls_per_loop=1,
        ),
    ]
    for peer in peer_list:
        row = Row(f"{peer.name}, {METHODS} methods", "peer", note=peer.note, peer=peer)
        # A peer that is not installed has its error set and is not imported.
        maker = _peer_decorator(peer, body) if peer.error is None else None
        if peer.error is not None:
            row.error = peer.error
        elif maker is None:
            row.error = "decorates functions one by one; no class form"
        else:
            row.make_timer = class_timer(maker)
            row.calls_per_loop = 1
        rows.append(row)
    return rows


def _peer_decorator(peer: Peer, body: dict[str, Any]) -> Callable[[], object] | None:
    if peer.dist == "universalasync":
        wrap = importlib.import_module("universalasync").wrap
        return lambda: wrap(type("C", (), dict(body)))
    if peer.dist == "ez-a-sync":
        base = importlib.import_module("a_sync").ASyncGenericBase
        return lambda: type("C", (base,), dict(body))
    if peer.dist == "synchronicity":
        synchronizer = importlib.import_module("synchronicity").Synchronizer()
        return lambda: synchronizer.create_blocking(type("C", (), dict(body)), "C", __name__)
    return None


def first_use_timer(
    sa: Any, body: dict[str, Any], first: bool
) -> Callable[[dict[str, Any]], Timer]:
    lines = "\n".join(f"    o.m{i}.aio(1).close()" for i in range(METHODS))
    scope: dict[str, Any] = {}
    exec(f"def touch(o):\n{lines}\n", scope)
    touch: Callable[[object], None] = scope["touch"]

    def factory(ns: dict[str, Any]) -> Timer:
        reused = sa.smartasync(type("C", (), dict(body)))()
        touch(reused)

        def timer(n: int) -> float:
            if first:
                objs = [sa.smartasync(type("C", (), dict(body)))() for _ in range(n)]
            else:
                objs = [reused] * n
            perf = time.perf_counter
            t0 = perf()
            for obj in objs:
                touch(obj)
            return perf() - t0

        return timer

    return factory


def groups(
    sa: Any, smart: dict[str, Any], peer_list: list[Peer], quick: bool, baseline: bool
) -> list[Group]:
    sync_floors = [
        KEPT,
        "hand-driven coro.send(None)",
        ARUN,
        "asyncio.Runner.run(coro), kept runner",
    ]
    found = []
    for meth, what in (("m", "trivial coroutine"), ("s", "suspending coroutine (sleep(0))")):
        for thread in ("main", "worker"):
            found.append(
                Group(
                    f"sync_{'trivial' if meth == 'm' else 'suspending'}_{thread}",
                    f"Sync call, {what}, {thread} thread",
                    thread,
                    "sync",
                    sync_floors,
                    sync_rows(meth, peer_list, baseline),
                )
            )
    found.append(
        Group(
            "async_call",
            "Async call overhead: `await obj.m(x)` inside a coroutine (trivial coroutine)",
            "main",
            "async",
            [RAW_AWAIT, "pass-through wrapper (*args, **kwargs)"],
            [
                Row(RAW_AWAIT, "floor", "raw.m(1)"),
                Row("pass-through wrapper (*args, **kwargs)", "floor", "pt.m(1)"),
                Row("pass-through wrapper, exact signature", "floor", "ptx.m(1)"),
                Row("raw module-level await raw_f(x)", "floor", "raw_f(1)"),
                Row(SMART, "smartasync", "smart.m(1)"),
                Row("smartasync obj.m(x), SmartAsync base", "smartasync", "based.m(1)"),
                Row("smartasync obj.m.aio(x)", "smartasync", "smart.m.aio(1)"),
                Row("smartasync f(x), module-level function", "smartasync", "smart_f(1)"),
                *peer_rows(peer_list, "async_m"),
            ],
        )
    )
    found.append(
        Group(
            "forced_sync_in_loop",
            "Blocking call while this thread's loop runs (trivial coroutine)",
            "main",
            "inloop",
            [BARE_LOOP_THREAD],
            [
                Row(BARE_LOOP_THREAD, "floor", "rcts(raw.m(1), bg_loop).result()"),
                Row("smartasync obj.m.sync(x)", "smartasync", "smart.m.sync(1)"),
                Row(
                    "smartasync obj.m(x), instance in 'sync' mode", "smartasync", "sync_smart.m(1)"
                ),
                Row(
                    "smartasync obj.m(x) from a sync helper (auto)", "smartasync", "helper_m(smart)"
                ),
                *peer_rows(peer_list, "inloop_m"),
            ],
        )
    )
    found.append(handover_group(smart))
    found.append(team_group(100 if quick else 2000))
    found.append(
        Group(
            "decoration",
            f"Decoration: a class of {METHODS} async methods",
            "main",
            "custom",
            [f"plain class, {METHODS} async methods"],
            decoration_rows(sa, peer_list),
            unit_note="µs per class",
            column="µs/class",
        )
    )
    return found


def handover_group(smart: dict[str, Any]) -> Group:
    """Sync calls from this thread while another thread is inside a long sync
    call: with one sync loop per process they are handed to the loop that
    thread drives (see _threads.Holder)."""
    group = Group(
        "sync_handover",
        "Sync call while another thread drives the sync loop (trivial coroutine, main thread)",
        "main",
        "sync",
        [BARE_LOOP_THREAD, KEPT],
        [
            Row(BARE_LOOP_THREAD, "floor", "rcts(raw.m(1), bg_loop).result()"),
            Row(KEPT, "floor", "loop.run_until_complete(raw.m(1))"),
            Row(HANDED_OVER, "smartasync", "held.m(1)"),
            Row("smartasync obj.m(x), another instance", "smartasync", "smart.m(1)"),
            Row("smartasync obj.m.sync(x), the holder's instance", "smartasync", "held.m.sync(1)"),
        ],
    )

    def setup(ns: dict[str, Any]) -> None:
        bg = _BackgroundLoop()
        ns["closers"].append(bg.close)
        ns["bg_loop"] = bg.loop
        holder = Holder(smart["Held"]())
        ns["closers"].append(holder.close)
        ns["held"] = holder.held
        group.extra["sync_calls_from_this_thread"] = holder.ran_in()

    group.setup = setup
    return group


def team_group(calls: int) -> Group:
    """TEAM threads each making `calls` sync calls, all at once, timed by the
    wall clock of the whole batch (see _threads.Team)."""
    group = Group(
        "threads_shared",
        f"{TEAM} threads x {calls:,} sync calls at once (trivial coroutine), "
        "wall clock of the batch per call",
        "main",
        "custom",
        [TEAM_KEPT, TEAM_BARE],
        [],
        unit_note="µs of batch wall clock per call",
        column="µs (wall)",
    )

    def private(ns: dict[str, Any], index: int) -> dict[str, Any]:
        loop = asyncio.new_event_loop()  # made in team thread `index`
        ns["closers"].append(loop.close)
        return {"raw": ns["raw"], "loop": loop}

    def shared(ns: dict[str, Any], index: int) -> dict[str, Any]:
        return ns

    def case(
        name: str, role: str, stmt: str, scope: Callable[[dict[str, Any], int], dict[str, Any]]
    ) -> Row:
        def factory(ns: dict[str, Any]) -> Timer:
            return batch_timer(ns["team"], stmt, lambda index: scope(ns, index), calls)

        return Row(name, role, stmt, make_timer=factory, calls_per_loop=TEAM * calls)

    group.rows = [
        case(TEAM_KEPT, "floor", "loop.run_until_complete(raw.m(1))", private),
        case(TEAM_BARE, "floor", "rcts(raw.m(1), bg_loop).result()", shared),
        case(TEAM_SHARED, "smartasync", "smart.m(1)", shared),
    ]

    def setup(ns: dict[str, Any]) -> None:
        bg = _BackgroundLoop()
        ns["closers"].append(bg.close)
        ns["bg_loop"] = bg.loop
        team = Team(TEAM)
        ns["closers"].append(team.close)
        ns["team"] = team
        group.extra["calls_per_thread"] = calls

    group.setup = setup
    return group


# --------------------------------------------------------------------------
# Running.


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


def validate(row: Row, ns: dict[str, Any], kind: str) -> str | None:
    """Run the statement once; the reason it cannot be timed, or None."""
    assert row.stmt is not None
    try:
        if kind == "sync":
            value = eval(row.stmt, ns)
        else:
            scope = dict(ns)
            prefix = "await " if kind == "async" else ""
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
    if value != 2:
        return f"returned {value!r}, expected 2"
    return None


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
                error = execute(lambda row=row: validate(row, ns, group.kind))  # type: ignore[misc]
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


# --------------------------------------------------------------------------
# Memory.


def memory(sa: Any) -> dict[str, Any]:
    """Bytes per instance (tracemalloc): at creation, added by calls, added
    by set_mode, and at creation once set_mode was used on the class.

    Fresh classes: on CPython, once any instance of a class has had an
    attribute added (here by set_mode), the class's shared-key dict grows, and
    every later instance's inline values with it."""
    count = 2000
    results: dict[str, Any] = {}
    smart = build_smart(sa)
    classes = {
        "raw class": Raw,
        "@smartasync class": smart["Smart"],
        "SmartAsync base": smart["Based"],
    }

    def use(obj: Any) -> None:
        if isinstance(obj, Raw):
            drive(obj.m(1))
            obj.m(1).close()
        else:
            obj.m(1)  # a sync call on the thread loop
            obj.m.aio(1).close()

    def traced(step: Callable[[], Any]) -> tuple[float, Any]:
        gc.collect()
        before = tracemalloc.get_traced_memory()[0]
        kept = step()
        gc.collect()
        return (tracemalloc.get_traced_memory()[0] - before) / count, kept

    def per_instance(cls: type) -> tuple[float, list[Any], list[Any]]:
        # The slope between `count` and `2 * count` instances: the list, the
        # class's first-instance caches and allocator steps cancel out.
        _, first = traced(lambda: [cls() for _ in range(count)])
        size, second = traced(lambda: [cls() for _ in range(count)])
        return size - 8.0, second, first  # less the list's pointer to each

    for name, cls in classes.items():
        use(cls())  # warm: the thread loop and the generated types exist
        tracemalloc.start()
        try:
            created, objs, _older = per_instance(cls)
            called, _ = traced(lambda objs=objs: [use(obj) for obj in objs] and None)
            moded = later = 0.0
            if name != "raw class":
                moded, _ = traced(lambda objs=objs: [sa.set_mode(o, "auto") for o in objs] and None)
                later, _more, _older2 = per_instance(cls)
                del _more, _older2
        finally:
            tracemalloc.stop()
        results[name] = {
            "bytes_per_instance": created,
            "bytes_added_by_calls": called,
            "bytes_added_by_set_mode": moded,
            "bytes_per_instance_after_set_mode_on_class": later,
        }
        del objs, _older
    return results


def memory_table(results: dict[str, Any]) -> str:
    lines = [
        "### Memory per instance (tracemalloc, bytes)",
        "",
        "| class | per instance | added by calls | added by set_mode "
        "| new instance once set_mode was used |",
        "|---|---|---|---|---|",
    ]
    for name, item in results.items():
        lines.append(
            f"| {name} | {item['bytes_per_instance']:.1f} | {item['bytes_added_by_calls']:.1f} "
            f"| {item['bytes_added_by_set_mode']:.1f} "
            f"| {item['bytes_per_instance_after_set_mode_on_class']:.1f} |"
        )
    return "\n".join(lines)


@dataclass
class Section:
    """A part of the run that is not timed in rounds: `run()` returns its
    figures (report[key] in the JSON), `show` makes its Markdown."""

    key: str
    run: Callable[[], dict[str, Any]]
    show: Callable[[dict[str, Any]], str]


def sections(sa: Any, smart: dict[str, Any], quick: bool) -> list[Section]:
    calls = 20_000 if quick else 1_000_000
    threads = 500 if quick else 10_000
    return [
        Section("memory", lambda: memory(sa), memory_table),
        Section(
            "memory_growth",
            lambda: memory_growth(smart["Smart"](), calls, samples=5 if quick else 10),
            growth_table,
        ),
        Section("thread_churn", lambda: thread_churn(smart["Smart"](), threads), churn_table),
    ]


def load_baseline(path: Path) -> Any:
    """The smartasync package in `path` (as --pkg takes it), imported under
    another name so that it runs beside the one measured."""
    init = path.resolve() / "smartasync" / "__init__.py"
    if not init.is_file():
        raise SystemExit(f"--baseline: no smartasync package in {path} (expected {init})")
    name = "smartasync_baseline"
    spec = importlib.util.spec_from_file_location(
        name, init, submodule_search_locations=[str(init.parent)]
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


# --------------------------------------------------------------------------
# Reporting.


def row_json(row: Row, group: Group) -> dict[str, Any]:
    floors = {r.name: r for r in group.rows if r.name in group.floors}
    entry: dict[str, Any] = {
        "name": row.name,
        "role": row.role,
        "stmt": row.stmt,
        "note": row.note,
        "error": row.error,
    }
    if row.peer is not None:
        entry["peer_version"] = row.peer.version
    sample = row.sample
    if sample is not None:
        entry.update(
            best_us=sample.best * 1e6,
            median_us=sample.median * 1e6,
            noise=sample.noise,
            rounds=len(sample.per_call),
            loops=sample.loops,
            ratios={
                name: sample.best / f.sample.best
                for name, f in floors.items()
                if f.sample is not None
            },
        )
    return entry


def fmt_us(value: float) -> str:
    if value >= 100:
        return f"{value:.0f}"
    if value >= 10:
        return f"{value:.1f}"
    if value >= 1:
        return f"{value:.2f}"
    return f"{value:.3f}"


def table(group: Group, report: dict[str, Any]) -> str:
    floors = [f for f in group.floors if any(r.name == f and r.sample for r in group.rows)]
    short = {name: f"F{i + 1}" for i, name in enumerate(floors)}
    head = ["case", group.column, "noise"]
    head += [f"x {short[f]}" for f in floors]
    lines = [f"### {group.title}", ""]
    lines += ["Floors: " + "; ".join(f"{short[f]} = {f}" for f in floors), ""]
    lines.append("| " + " | ".join(head) + " |")
    lines.append("|" + "---|" * len(head))
    for entry in report["rows"]:
        name = entry["name"]
        if entry["role"] == "peer":
            version = entry.get("peer_version")
            name = f"{name} {version}" if version else name
            name = f"peer: {name}"
        elif entry["role"] == "floor":
            name = (
                f"**{short.get(entry['name'], 'floor')}** {name}"
                if entry["name"] in short
                else f"floor: {name}"
            )
        if entry["error"] is not None:
            cells = [name, "—", "—"] + ["—"] * len(floors)
            cells[1] = f"n/a: {entry['error']}"
            lines.append("| " + " | ".join(c.replace("|", "/") for c in cells) + " |")
            continue
        cells = [name, fmt_us(entry["best_us"]), f"{entry['noise'] * 100:.0f}%"]
        cells += [f"{entry['ratios'].get(f, float('nan')):.2f}" for f in floors]
        lines.append("| " + " | ".join(c.replace("|", "/") for c in cells) + " |")
    for key, value in group.extra.items():
        lines += ["", f"{key.replace('_', ' ').capitalize()}: {value}"]
    return "\n".join(lines)


def git_state() -> dict[str, Any]:
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, timeout=5
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "smartasync"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=5,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return {}
    return {"commit": commit or None, "smartasync_dirty": bool(dirty)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--quick", action="store_true", help="few short rounds: checks the suite runs"
    )
    parser.add_argument(
        "--json",
        type=Path,
        default=HERE / "results" / "latest.json",
        help="where to write the results",
    )
    parser.add_argument("--no-peers", action="store_true", help="skip the peer libraries")
    parser.add_argument("--only", default="", help="comma-separated group keys to run")
    parser.add_argument(
        "--rounds", type=int, default=None, help="rounds per group (default 9, quick 3)"
    )
    parser.add_argument(
        "--round-ms",
        type=float,
        default=None,
        help="length of one round of one case (default 30, quick 2)",
    )
    parser.add_argument(
        "--pkg",
        type=Path,
        default=None,
        help="import smartasync from this directory (a scratch copy)",
    )
    parser.add_argument(
        "--baseline",
        type=Path,
        default=None,
        help="also time the sync calls of the smartasync in this directory (e.g. a "
        "`git worktree` of the commit before a change), side by side in the same rounds",
    )
    args = parser.parse_args(argv)

    sys.path.insert(0, str((args.pkg or ROOT).resolve()))
    sa = importlib.import_module("smartasync")
    baseline = build_smart(load_baseline(args.baseline)) if args.baseline else None
    rounds = args.rounds or (3 if args.quick else 9)
    target = (args.round_ms or (2.0 if args.quick else 30.0)) / 1000

    peer_list = [] if args.no_peers else peers()
    smart = build_smart(sa)
    all_groups = groups(sa, smart, peer_list, args.quick, baseline is not None)
    all_sections = sections(sa, smart, args.quick)
    keys = [g.key for g in all_groups] + [s.key for s in all_sections]
    only = {key for key in args.only.split(",") if key}
    if only - set(keys):
        parser.error(
            f"--only: unknown {', '.join(sorted(only - set(keys)))}; keys: {', '.join(keys)}"
        )
    selected = [g for g in all_groups if not only or g.key in only]

    report: dict[str, Any] = {
        "schema": SCHEMA,
        "meta": {
            "python": platform.python_version(),
            "implementation": platform.python_implementation(),
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "date_utc": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
            "smartasync_version": getattr(sa, "__version__", None),
            "smartasync_path": str(Path(sa.__file__).parent),
            "baseline_path": str(args.baseline.resolve()) if args.baseline else None,
            "quick": args.quick,
            "rounds": rounds,
            "round_ms": target * 1000,
            "unroll": UNROLL,
            **git_state(),
        },
        "peers": {
            p.name: {"distribution": p.dist, "version": p.version, "error": p.error, "note": p.note}
            for p in peer_list
        },
        "peers_skipped": "--no-peers" if args.no_peers else None,
        "groups": {},
        **{section.key: None for section in all_sections},
        "targets": [],
    }
    started = time.perf_counter()
    worker = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="bench-worker")

    def in_main(job: Callable[[], Any]) -> Any:
        return job()

    def in_worker(job: Callable[[], Any]) -> Any:
        return worker.submit(job).result()

    try:
        for group in selected:
            execute = in_main if group.thread == "main" else in_worker
            run_group(group, sa, smart, baseline, execute, rounds, target)
            report["groups"][group.key] = {
                "title": group.title,
                "thread": group.thread,
                "unit": group.unit_note,
                "floors": group.floors,
                "rows": [row_json(row, group) for row in group.rows],
                "extra": group.extra,
            }
            print(table(group, report["groups"][group.key]), end="\n\n", flush=True)
    finally:
        worker.shutdown()
    for section in all_sections:
        if not only or section.key in only:
            report[section.key] = section.run()
            print(section.show(report[section.key]), end="\n\n", flush=True)
    report["targets"] = _targets.evaluate(report)
    report["meta"]["seconds"] = time.perf_counter() - started
    print("### Targets (issues 6 and 10)\n")
    print(_targets.table(report["targets"]))
    if baseline is None:
        print(
            "\nThe uncontended cost of a change to the engine (issue 10: <= 0.3 µs): "
            "run with --baseline DIR, DIR holding the smartasync before the change."
        )
    print()
    skipped = [
        f"{name}: {info['error']}" for name, info in report["peers"].items() if info["error"]
    ]
    if args.no_peers:
        print("Peers skipped (--no-peers).")
    for line in skipped:
        print(f"Peer skipped: {line}")
    meta = report["meta"]
    print(
        f"Python {meta['python']} ({meta['implementation']}), {meta['platform']}, "
        f"{meta['cpus']} CPUs, {meta['date_utc']}; best of {rounds} rounds; "
        f"{meta['seconds']:.1f} s"
    )
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=2, default=str) + "\n")
    print(f"JSON: {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
