"""The budgets the issues set, as one declarative table.

Each row names where its figure is read: a group of the report, a subject
and a floor (both row names of that group), and how the two combine (a
ratio, a speed-up, µs over the floor) -- or, for the sections that are not
timed, an entry and one of its readings.  Nothing is paired by position: a
figure is found by its names, and a subject or floor that is absent, failed,
or present twice makes the target *missing*, which the quick check treats as
a failure.

Timed targets are judged on the median of the per-round figures (every
round times the subject and its floor back to back, so a burst of load on a
shared machine hits both); the figure from the best rounds is shown beside
it.

Some budgets hold only with the C accelerator (issue 21: "pure-Python
figures reported, not gated").  In a run whose smartasync did not load it
(the report's meta says so), such a target is shown as `pure Python`: its
figure is read as usual, and not judged.
"""

from __future__ import annotations

import statistics
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

KEPT = "kept loop: loop.run_until_complete(coro)"
ARUN = "asyncio.run(coro) per call"
SMART = "smartasync obj.m(x), @smartasync class"
RAW_AWAIT = "raw await raw.m(x)"
BARE_LOOP_THREAD = "bare loop thread: run_coroutine_threadsafe(...).result()"
BASELINE = "baseline obj.m(x), @smartasync class (--baseline)"
HANDED_OVER = "smartasync obj.m(x), the holder's instance"
TEAM = 4  # threads in the shared-instance group
TEAM_KEPT = f"{TEAM} threads, a private kept loop each: loop.run_until_complete(coro)"
TEAM_BARE = f"{TEAM} threads, one bare loop thread: run_coroutine_threadsafe(...).result()"
TEAM_SHARED = f"{TEAM} threads, one shared instance: obj.m(x)"
METHODS = 20  # methods in the decorated class
GATHERED = 1000  # calls in one gather
GATHER_RAW = f"raw: gather(*(raw.m(i) for i in xs)), {GATHERED:,} calls"
GATHER_SMART = f"smartasync: gather(*(obj.m(i) for i in xs)), {GATHERED:,} calls"
FRESH_RAW = "raw: await raw.m(x) in a fresh caller coroutine"
FRESH_SMART = "smartasync: await obj.m(x) in a fresh caller coroutine"
PLAIN_CLASS = f"plain class, {METHODS} async methods"
FIRST_USE = f"first use of all {METHODS} methods (lazy codegen), per class"
LATER_USE = f"later use of all {METHODS} methods, per class"
RAW_CLASS = "raw class"
# Entries of the memory_growth section: one per kind of call.
GROWTH_SYNC = "sync call: obj.m(1)"
GROWTH_SUSPENDING = "sync call, suspending: obj.s(1)"
GROWTH_AWAIT = "await obj.m(1)"

# How a target's figure is made from its subject and floor.
#   ratio       subject / floor
#   speedup     floor / subject
#   excess_us   (subject - floor) / per, in µs
#   bytes_over  memory section: bytes per instance over the floor class, or
#               bytes added to an instance by calls, whichever is larger
#   anything else: a reading of a section's entry (subject), no floor
Figure = Literal["ratio", "speedup", "excess_us", "bytes_over"] | str
TIMED = ("ratio", "speedup", "excess_us")
# The status of a needs_accelerator target in a run without the accelerator.
PURE_PYTHON = "pure Python"


@dataclass(frozen=True)
class Target:
    issue: str
    what: str
    group: str
    subject: str | None
    floor: str | None
    limit: float
    figure: Figure = "ratio"
    # Limits that apply from a Python version on (the newest that fits wins).
    since: Mapping[tuple[int, int], float] = field(default_factory=dict)
    comparison: Literal["<=", ">="] = "<="
    unit: str = "x"
    per: int = 1  # excess_us: divide by this (per method, ...)
    # Its floor is the --baseline copy: left out of runs without that option.
    needs_baseline: bool = False
    # Replaced by a later issue's target: shown, never judged.
    superseded_by: str | None = None
    # A budget for the C accelerator: judged only in runs where it is active.
    needs_accelerator: bool = False

    def limit_for(self, version: tuple[int, int]) -> float:
        limit = self.limit
        for start, value in sorted(self.since.items()):
            if version >= start:
                limit = value
        return limit


def _growth(issue: str, entry: str, label: str) -> list[Target]:
    return [
        Target(
            issue,
            f"no growth over many {label}: resident size, bytes per call",
            "memory_growth",
            entry,
            None,
            0.5,
            "rss_bytes_per_call",
            unit="B",
        ),
        Target(
            issue,
            f"no growth over many {label}: bytes left allocated per call (tracemalloc)",
            "memory_growth",
            entry,
            None,
            0.5,
            "traced_bytes_per_call",
            unit="B",
        ),
    ]


TARGETS: list[Target] = [
    # Sync calls.
    Target(
        "6, 10",
        "sync call, non-suspending: x kept-loop floor",
        "sync_trivial_main",
        SMART,
        KEPT,
        1.0,
    ),
    Target(
        "14, 21",
        "sync call, non-suspending: x kept-loop floor (per Python)",
        "sync_trivial_main",
        SMART,
        KEPT,
        0.8,
        since={(3, 12): 0.35},
    ),
    Target(
        "6",
        "sync call, non-suspending: speed-up over asyncio.run per call",
        "sync_trivial_main",
        SMART,
        ARUN,
        8.0,
        "speedup",
        comparison=">=",
    ),
    Target(
        "6", "sync call, suspending: x kept-loop floor", "sync_suspending_main", SMART, KEPT, 1.1
    ),
    Target(
        "14", "sync call, suspending: x kept-loop floor", "sync_suspending_main", SMART, KEPT, 0.85
    ),
    Target(
        "10",
        "sync call, uncontended: µs over the --baseline engine",
        "sync_trivial_main",
        SMART,
        BASELINE,
        0.3,
        "excess_us",
        unit="µs",
        needs_baseline=True,
    ),
    # Async calls.
    Target(
        "6",
        "await in a tight loop: x raw await (target)",
        "async_call",
        SMART,
        RAW_AWAIT,
        4.0,
        superseded_by="14",
    ),
    Target(
        "6",
        "await in a tight loop: x raw await (stretch)",
        "async_call",
        SMART,
        RAW_AWAIT,
        3.0,
        superseded_by="14",
    ),
    Target("14", "await in a tight loop: x raw await", "async_call", SMART, RAW_AWAIT, 6.0),
    Target(
        "21",
        "await in a tight loop: x raw await (C accelerator)",
        "async_call",
        SMART,
        RAW_AWAIT,
        2.5,
        needs_accelerator=True,
    ),
    Target(
        "14",
        "await from a fresh caller coroutine: x raw",
        "async_fresh_caller",
        FRESH_SMART,
        FRESH_RAW,
        3.0,
    ),
    Target(
        "21",
        "await from a fresh caller coroutine: x raw (C accelerator)",
        "async_fresh_caller",
        FRESH_SMART,
        FRESH_RAW,
        2.5,
        needs_accelerator=True,
    ),
    Target(
        "14",
        f"gather over a generator expression of {GATHERED:,} calls: x raw",
        "gather_genexpr",
        GATHER_SMART,
        GATHER_RAW,
        1.15,
    ),
    # Blocking calls inside a running loop, and other threads.
    Target(
        "6",
        "forced sync in a running loop: x bare loop thread",
        "forced_sync_in_loop",
        "smartasync obj.m.sync(x)",
        BARE_LOOP_THREAD,
        1.0,
    ),
    Target(
        "10",
        "sync call handed to a loop another thread drives: x bare loop thread",
        "sync_handover",
        HANDED_OVER,
        BARE_LOOP_THREAD,
        1.0,
    ),
    Target(
        "10, 14",
        f"{TEAM} threads at once, one shared instance: x a private kept loop each",
        "threads_shared",
        TEAM_SHARED,
        TEAM_KEPT,
        1.5,
    ),
    # Decoration and first use (issue 21 restates both budgets).
    *(
        Target(
            "6, 14, 21",
            f"decoration, {name}: µs over a plain class",
            "decoration",
            name,
            PLAIN_CLASS,
            20.0,
            "excess_us",
            unit="µs",
        )
        for name in (
            f"@smartasync class, {METHODS} methods",
            f"class C(SmartAsync), {METHODS} methods",
        )
    ),
    Target(
        "14, 21",
        "first use of a method: µs over a later use, per method",
        "decoration",
        FIRST_USE,
        LATER_USE,
        15.0,
        "excess_us",
        unit="µs",
        per=METHODS,
    ),
    # Memory.
    *(
        Target(
            "6, 14",
            f"memory per instance, {name}: bytes over raw, or added by calls",
            "memory",
            name,
            RAW_CLASS,
            0.5,
            "bytes_over",
            unit="B",
        )
        for name in ("@smartasync class", "SmartAsync base")
    ),
    *_growth("10, 14", GROWTH_SYNC, "sync calls"),
    *_growth("14", GROWTH_SUSPENDING, "suspending sync calls"),
    *_growth("14", GROWTH_AWAIT, "awaited calls"),
    Target(
        "10",
        "after many short-lived threads with one sync call each: threads over baseline",
        "thread_churn",
        None,
        None,
        0,
        "threads_over_baseline",
        unit="",
    ),
    Target(
        "10",
        "after many short-lived threads with one sync call each: fds over baseline",
        "thread_churn",
        None,
        None,
        0,
        "fds_over_baseline",
        unit="",
    ),
]


class Missing(Exception):
    """A target's figure cannot be read; the message says why."""


def evaluate(
    report: dict[str, Any], version: tuple[int, int] | None = None
) -> list[dict[str, Any]]:
    """Every target against this run's report.

    status: "pass", "FAIL", "missing" (its group ran, the figure is not
    there), "not run" (its group was not selected), "superseded", or
    PURE_PYTHON (a needs_accelerator target read in a run whose meta does not
    say the accelerator was active: the figure is there, not judged)."""
    version = version or sys.version_info[:2]
    accelerated = report["meta"].get("accelerator_active") is True
    out = []
    for target in TARGETS:
        if target.needs_baseline and not report["meta"].get("baseline_path"):
            continue
        ran = _ran(report, target.group)
        limit = target.limit_for(version)
        item: dict[str, Any] = {
            "issue": target.issue,
            "target": target.what,
            "group": target.group,
            "subject": target.subject,
            "floor": target.floor,
            "figure": target.figure,
            "unit": target.unit,
            "limit": limit,
            "comparison": target.comparison,
            "value": None,
            "value_from_best": None,
            "needs_accelerator": target.needs_accelerator,
            "status": "not run",
            "reason": None,
        }
        if ran:
            try:
                judged, best = figure(report, target)
            except Missing as missing:
                item.update(status="missing", reason=str(missing))
            else:
                item.update(value=judged, value_from_best=best)
                met = judged >= limit if target.comparison == ">=" else judged <= limit
                item["status"] = "pass" if met else "FAIL"
        if target.superseded_by is not None:
            item.update(status="superseded", reason=f"by issue {target.superseded_by}")
        elif target.needs_accelerator and not accelerated and item["status"] in ("pass", "FAIL"):
            item.update(status=PURE_PYTHON, reason="needs the C accelerator")
        out.append(item)
    return out


def figure(report: dict[str, Any], target: Target) -> tuple[float, float | None]:
    """(the figure judged, the figure from the best rounds or None)."""
    if target.figure in TIMED:
        subject = _row(report, target.group, target.subject)
        floor = _row(report, target.group, target.floor)
        pairs = list(zip(subject["rounds_us"], floor["rounds_us"], strict=True))
        if target.figure == "excess_us":
            per = target.per
            return (
                statistics.median((s - f) / per for s, f in pairs),
                (subject["best_us"] - floor["best_us"]) / per,
            )
        ratio = statistics.median(s / f for s, f in pairs)
        best = subject["best_us"] / floor["best_us"]
        if target.figure == "speedup":
            return 1 / ratio, 1 / best
        return ratio, best
    section = report.get(target.group)
    if not isinstance(section, dict):
        raise Missing(f"no {target.group} section in the report")
    if target.figure == "bytes_over":
        item, raw = _entry(section, target.subject), _entry(section, target.floor)
        over = item["bytes_per_instance"] - raw["bytes_per_instance"]
        return max(over, item["bytes_added_by_calls"]), None
    entry = section if target.subject is None else _entry(section, target.subject)
    value = entry.get(target.figure)
    if value is None:
        raise Missing(f"{target.group}: no reading {target.figure!r}")
    return float(value), None


def _ran(report: dict[str, Any], group: str) -> bool:
    return group in report.get("groups", {}) or report.get(group) is not None


def _row(report: dict[str, Any], group: str, name: str | None) -> dict[str, Any]:
    rows = [r for r in report["groups"][group]["rows"] if r["name"] == name]
    if len(rows) != 1:
        raise Missing(f"{group}: {len(rows)} rows named {name!r}, expected one")
    row: dict[str, Any] = rows[0]
    if row.get("error") is not None or not row.get("rounds_us"):
        raise Missing(f"{group}: {name!r} was not timed ({row.get('error')})")
    return row


def _entry(section: dict[str, Any], name: str | None) -> dict[str, Any]:
    entry = section.get(name) if name is not None else None
    if not isinstance(entry, dict):
        raise Missing(f"no entry {name!r}")
    return entry


def table(items: list[dict[str, Any]]) -> str:
    lines = [
        "| issue | target | median rounds | best rounds | budget | status |",
        "|---|---|---|---|---|---|",
    ]
    for item in items:
        unit = item["unit"]
        status = item["status"]
        if item["reason"]:
            status = f"{status}: {item['reason']}"
        lines.append(
            f"| {item['issue']} | {item['target']} | {number(item['value'], unit)} "
            f"| {number(item['value_from_best'], unit)} "
            f"| {item['comparison']} {number(item['limit'], unit)} | {status} |"
        )
    return "\n".join(lines)


def number(value: float | None, unit: str) -> str:
    if value is None:
        return "—"
    if unit == "":
        return f"{value:g}"
    text = f"{value:.2f}"
    return f"{text}x" if unit == "x" else f"{text} {unit}"
