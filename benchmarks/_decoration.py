"""Decoration: what making a class of async methods costs with smartasync and
the peers, and what the first use of each method costs (smartasync builds
a method's generated types lazily, on first use).
"""

from __future__ import annotations

import importlib
import time
from collections.abc import Callable
from typing import Any

from _measure import Group, Row
from _peers import Peer
from _subjects import class_namespace
from _targets import FIRST_USE, LATER_USE, METHODS, PLAIN_CLASS
from _timing import Timer


def decoration_group(sa: Any, peer_list: list[Peer]) -> Group:
    return Group(
        "decoration",
        f"Decoration: a class of {METHODS} async methods",
        "main",
        "custom",
        [PLAIN_CLASS],
        decoration_rows(sa, peer_list),
        unit_note="µs per class",
        column="µs/class",
    )


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
            PLAIN_CLASS,
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
            FIRST_USE,
            "smartasync",
            note="fresh decorated class; obj.mI.aio(x) once per method; class creation not timed",
            make_timer=first_use_timer(sa, body, first=True),
            calls_per_loop=1,
        ),
        Row(
            LATER_USE,
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
