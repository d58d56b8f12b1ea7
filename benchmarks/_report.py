"""The report: a group's rows as JSON, and as a Markdown table."""

from __future__ import annotations

import importlib
import subprocess
from pathlib import Path
from typing import Any

from _measure import Group, Row

ROOT = Path(__file__).resolve().parent.parent


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
            rounds_us=[t * 1e6 for t in sample.per_call],
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


def accelerator_state(sa: Any) -> dict[str, Any]:
    """Whether the smartasync measured (`sa`, from wherever --pkg found it)
    runs on its C accelerator, and if not why: read from that copy's own
    `_speedups`, since another copy may load it or not for its own reasons."""
    name = f"{sa.__name__}._speedups"
    try:
        speedups = importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name != name:
            raise
        return {
            "accelerator_active": False,
            "accelerator_why_not": "this smartasync has no accelerator (no _speedups module)",
        }
    return {
        "accelerator_active": bool(speedups.ACTIVE),
        "accelerator_why_not": str(speedups.WHY_NOT),
    }


def accelerator_line(meta: dict[str, Any]) -> str:
    if meta["accelerator_active"]:
        return "C accelerator: active"
    return f"C accelerator: not active ({meta['accelerator_why_not']}): pure Python"
