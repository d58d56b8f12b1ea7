"""The timed scenarios: which statements each group times, against which
floors, in which thread.  Row and floor names come from _targets where a
target reads them, so a rename cannot silently unpair a target.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from _decoration import decoration_group
from _measure import Group, Row
from _peers import Peer
from _targets import (
    ARUN,
    BARE_LOOP_THREAD,
    BASELINE,
    FRESH_RAW,
    FRESH_SMART,
    GATHER_RAW,
    GATHER_SMART,
    GATHERED,
    HANDED_OVER,
    KEPT,
    RAW_AWAIT,
    SMART,
    TEAM,
    TEAM_BARE,
    TEAM_KEPT,
    TEAM_SHARED,
)
from _threads import BackgroundLoop, Holder, Team, batch_timer
from _timing import Timer


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
    found.append(gather_group(peer_list))
    found.append(fresh_group(peer_list))
    found.append(decoration_group(sa, peer_list))
    return found


def gather_group(peer_list: list[Peer]) -> Group:
    """The README's idiom: gather over a generator expression of calls (and,
    beside it, over a list comprehension), each timed as one statement."""

    def gathered(call: str) -> str:
        return f"asyncio.gather(*({call} for i in xs))"

    rows = [
        Row(GATHER_RAW, "floor", gathered("raw.m(i)")),
        Row(
            f"raw: gather(*[raw.m(i) for i in xs]), {GATHERED:,} calls",
            "floor",
            "asyncio.gather(*[raw.m(i) for i in xs])",
        ),
        Row(GATHER_SMART, "smartasync", gathered("smart.m(i)")),
        Row(
            f"smartasync: gather(*[obj.m(i) for i in xs]), {GATHERED:,} calls",
            "smartasync",
            "asyncio.gather(*[smart.m(i) for i in xs])",
        ),
    ]
    for row in peer_rows(peer_list, "async_m"):
        if row.stmt is not None:
            row.stmt = gathered(row.stmt.replace("(1)", "(i)"))
        rows.append(row)
    return Group(
        "gather_genexpr",
        f"`await asyncio.gather(*(obj.m(i) for i in xs))`, {GATHERED:,} calls (trivial coroutine)",
        "main",
        "async",
        [GATHER_RAW],
        rows,
        unit_note=f"µs per gather of {GATHERED:,} calls",
        column="µs/gather",
        expected=[i + 1 for i in range(GATHERED)],
    )


def fresh_group(peer_list: list[Peer]) -> Group:
    """Each await made by a caller coroutine of its own (a request handler):
    `async def caller(): return await obj.m(1)`, awaited once per call."""
    return Group(
        "async_fresh_caller",
        "Async call from a fresh caller coroutine each time: "
        "`await caller()`, `async def caller(): return await obj.m(x)`",
        "main",
        "fresh",
        [FRESH_RAW],
        [
            Row(FRESH_RAW, "floor", "raw.m(1)"),
            Row("pass-through wrapper (*args, **kwargs), fresh caller", "floor", "pt.m(1)"),
            Row(FRESH_SMART, "smartasync", "smart.m(1)"),
            Row("smartasync: await obj.m.aio(x), fresh caller", "smartasync", "smart.m.aio(1)"),
            Row(
                "smartasync: await f(x), module-level function, fresh caller",
                "smartasync",
                "smart_f(1)",
            ),
            *peer_rows(peer_list, "async_m"),
        ],
    )


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
        bg = BackgroundLoop()
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
        bg = BackgroundLoop()
        ns["closers"].append(bg.close)
        ns["bg_loop"] = bg.loop
        team = Team(TEAM)
        ns["closers"].append(team.close)
        ns["team"] = team
        group.extra["calls_per_thread"] = calls

    group.setup = setup
    return group
