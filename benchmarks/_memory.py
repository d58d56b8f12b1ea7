"""Memory per instance (tracemalloc): what a smartasync instance costs over a
plain one, and what calls and set_mode add to it."""

from __future__ import annotations

import gc
import tracemalloc
from collections.abc import Callable
from typing import Any

from _subjects import Raw, build_smart, drive
from _targets import RAW_CLASS


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
        RAW_CLASS: Raw,
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
        # Warm: the sync loop and the generated types exist.  A method is
        # specialised on its fourth use (smartasync._dual.SPECIALISE_AT): a
        # one-time cost per method, not per instance or per call.
        for _ in range(8):
            use(cls())
        tracemalloc.start()
        try:
            created, objs, _older = per_instance(cls)
            called, _ = traced(lambda objs=objs: [use(obj) for obj in objs] and None)
            moded = later = 0.0
            if name != RAW_CLASS:
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
