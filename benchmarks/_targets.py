"""The budgets the issues set, as one table: which figure of the report each
one reads, and its limit.

A figure is a pair read from one place of the report: the value from the
best rounds, and (where rounds exist) the same value from the median rounds,
which is far from the best-round one when a case is noisy.  Nothing pairs a
target with a figure but its own row of the table.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

# (from the best rounds, from the median rounds or None)
Figure = tuple[float, float | None]
Measure = Callable[[dict[str, Any]], Figure | None]

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


@dataclass(frozen=True)
class Target:
    issue: str
    what: str
    measure: Measure
    limit: float
    comparison: str = "<="  # or ">="
    unit: str = "x"
    # Left out of the table when not measured: it needs an option (--baseline).
    optional: bool = False


def find(report: dict[str, Any], group: str, name: str) -> dict[str, Any] | None:
    """The row `name` of `group` if it was timed."""
    for entry in report["groups"].get(group, {}).get("rows", []):
        if entry["name"] == name and entry.get("best_us") is not None:
            found: dict[str, Any] = entry
            return found
    return None


def ratio(group: str, subject: str, floor: str) -> Measure:
    """subject / floor."""

    def measure(report: dict[str, Any]) -> Figure | None:
        entry, base = find(report, group, subject), find(report, group, floor)
        if entry is None or base is None:
            return None
        return entry["best_us"] / base["best_us"], entry["median_us"] / base["median_us"]

    return measure


def speedup(group: str, subject: str, floor: str) -> Measure:
    """floor / subject: how many times faster the subject is."""

    def measure(report: dict[str, Any]) -> Figure | None:
        figure = ratio(group, subject, floor)(report)
        if figure is None:
            return None
        best, median = figure
        return 1 / best, None if median is None else 1 / median

    return measure


def excess_us(group: str, subject: str, floor: str) -> Measure:
    """subject - floor, in µs."""

    def measure(report: dict[str, Any]) -> Figure | None:
        entry, base = find(report, group, subject), find(report, group, floor)
        if entry is None or base is None:
            return None
        return entry["best_us"] - base["best_us"], entry["median_us"] - base["median_us"]

    return measure


def per_instance(name: str) -> Measure:
    """Bytes an instance costs over a raw one, or that calls add to it."""

    def measure(report: dict[str, Any]) -> Figure | None:
        memory = report.get("memory") or {}
        item, raw = memory.get(name), memory.get("raw class")
        if item is None or raw is None:
            return None
        value = max(
            item["bytes_per_instance"] - raw["bytes_per_instance"], item["bytes_added_by_calls"]
        )
        return value, None

    return measure


def reading(section: str, key: str) -> Measure:
    """A figure of a non-timed section (memory_growth, thread_churn)."""

    def measure(report: dict[str, Any]) -> Figure | None:
        value = (report.get(section) or {}).get(key)
        return None if value is None else (float(value), None)

    return measure


TARGETS: list[Target] = [
    # Issue 6: the first engine's targets.
    Target(
        "6, 10",
        "sync trivial, main thread: x kept-loop floor",
        ratio("sync_trivial_main", SMART, KEPT),
        1.0,
    ),
    Target(
        "6",
        "sync trivial, main thread: speed-up over asyncio.run per call",
        speedup("sync_trivial_main", SMART, ARUN),
        8.0,
        ">=",
    ),
    Target(
        "6",
        "sync suspending, main thread: x kept-loop floor",
        ratio("sync_suspending_main", SMART, KEPT),
        1.1,
    ),
    Target("6", "async call: x raw await (target)", ratio("async_call", SMART, RAW_AWAIT), 4.0),
    Target("6", "async call: x raw await (stretch)", ratio("async_call", SMART, RAW_AWAIT), 3.0),
    Target(
        "6",
        "forced sync in a running loop: x bare loop thread",
        ratio("forced_sync_in_loop", "smartasync obj.m.sync(x)", BARE_LOOP_THREAD),
        1.0,
    ),
    *(
        Target(
            "6",
            f"decoration cost, {name} (µs over a plain class)",
            excess_us("decoration", name, f"plain class, {METHODS} async methods"),
            20.0,
            unit="µs",
        )
        for name in (
            f"@smartasync class, {METHODS} methods",
            f"class C(SmartAsync), {METHODS} methods",
        )
    ),
    *(
        Target(
            "6",
            f"memory per instance, {name}: bytes over raw, or added by calls",
            per_instance(name),
            0.5,
            unit="B",
        )
        for name in ("@smartasync class", "SmartAsync base")
    ),
    # Issue 10: one sync loop per process.
    Target(
        "10",
        "sync trivial, main thread, uncontended: µs over the --baseline engine",
        excess_us("sync_trivial_main", SMART, BASELINE),
        0.3,
        unit="µs",
        optional=True,
    ),
    Target(
        "10",
        "sync call handed to a loop another thread drives: x bare loop thread",
        ratio("sync_handover", HANDED_OVER, BARE_LOOP_THREAD),
        1.0,
    ),
    Target(
        "10",
        f"{TEAM} threads at once, one shared instance: x a private kept loop each",
        ratio("threads_shared", TEAM_SHARED, TEAM_KEPT),
        1.5,
    ),
    Target(
        "10",
        "memory growth over many sync calls after warm-up: RSS bytes per call",
        reading("memory_growth", "rss_bytes_per_call"),
        0.5,
        unit="B",
    ),
    Target(
        "10",
        "memory growth over many sync calls: bytes left allocated per call (tracemalloc)",
        reading("memory_growth", "traced_bytes_per_call"),
        0.5,
        unit="B",
    ),
    Target(
        "10",
        "after many short-lived threads with one sync call each: threads over baseline",
        reading("thread_churn", "threads_over_baseline"),
        0,
        unit="",
    ),
    Target(
        "10",
        "after many short-lived threads with one sync call each: fds over baseline",
        reading("thread_churn", "fds_over_baseline"),
        0,
        unit="",
    ),
]


def evaluate(report: dict[str, Any]) -> list[dict[str, Any]]:
    """Every target against this run's report (value None: not measured)."""
    out = []
    for target in TARGETS:
        figure = target.measure(report)
        if figure is None and target.optional:
            continue
        value, median = figure if figure is not None else (None, None)
        met = None
        if value is not None:
            met = value >= target.limit if target.comparison == ">=" else value <= target.limit
        out.append(
            {
                "issue": target.issue,
                "target": target.what,
                "unit": target.unit,
                "value": value,
                "value_from_medians": median,
                "limit": target.limit,
                "comparison": target.comparison,
                "met": met,
            }
        )
    return out


def table(items: list[dict[str, Any]]) -> str:
    lines = [
        "| issue | target | figure (best rounds) | median rounds | budget | met |",
        "|---|---|---|---|---|---|",
    ]
    for item in items:
        unit = item["unit"]
        value, median = item["value"], item["value_from_medians"]
        met = {True: "pass", False: "FAIL", None: "not measured"}[item["met"]]
        lines.append(
            f"| {item['issue']} | {item['target']} | {_number(value, unit)} "
            f"| {_number(median, unit)} | {item['comparison']} {_number(item['limit'], unit)} "
            f"| {met} |"
        )
    return "\n".join(lines)


def _number(value: float | None, unit: str) -> str:
    if value is None:
        return "—"
    if unit == "":
        return f"{value:g}"
    text = f"{value:.2f}"
    return f"{text}x" if unit == "x" else f"{text} {unit}"
