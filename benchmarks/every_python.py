"""Run the benchmark on every CPython present, then regenerate the speed
tables of benchmarks/README.md from the results.

    python benchmarks/every_python.py              # full run on each, then the tables
    python benchmarks/every_python.py --render     # the tables from the last results only
    python benchmarks/every_python.py --quick --no-readme   # check it works

The interpreters are the project's virtual environments: `.venv` and every
`.venv-X.Y` (made by .ci/other_pythons.py; install the `bench` extra there
for the peers), or those given with --python.  Each run is a separate
process, one after the other (never two at once: they would time each
other), and writes benchmarks/results/python-X.Y.json.  The tables sit
between the markers below, in benchmarks/README.md (the top-level README
keeps a short summary, written by hand); only that text is replaced.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS = HERE / "results"
README = HERE / "README.md"
BEGIN = "<!-- speed tables: made by benchmarks/every_python.py, do not edit by hand -->"
END = "<!-- end of speed tables -->"
sys.path.insert(0, str(HERE))

from _targets import number  # noqa: E402

# The scenarios shown in the README, in order: (group key, heading).
SHOWN = [
    ("sync_trivial_main", "Sync call of a non-suspending coroutine, main thread"),
    ("sync_suspending_main", "Sync call of a suspending coroutine (`await asyncio.sleep(0)`)"),
    ("async_call", "`await obj.m(x)` in a tight loop"),
    ("async_fresh_caller", "`await obj.m(x)` from a fresh caller coroutine each time"),
    ("gather_genexpr", "`await asyncio.gather(*(obj.m(i) for i in xs))`, 1,000 calls"),
    ("forced_sync_in_loop", "A blocking call made while this thread's loop runs"),
    ("threads_shared", "4 threads x 2,000 sync calls at once"),
    ("decoration", "Decorating a class of 20 async methods, and first use"),
]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--python", action="append", default=[], help="an interpreter (repeatable)")
    parser.add_argument("--render", action="store_true", help="no runs: the tables only")
    parser.add_argument("--no-readme", action="store_true", help="runs only")
    parser.add_argument("--quick", action="store_true", help="pass --quick to run.py")
    parser.add_argument("--results", type=Path, default=RESULTS, help="where the JSON goes")
    args, extra = parser.parse_known_args(argv)
    pythons = [Path(p) for p in args.python] or interpreters()
    if not args.render:
        for python in pythons:
            version = python_version(python)
            out = args.results / f"python-{version}.json"
            command = [str(python), str(HERE / "run.py"), "--json", str(out), *extra]
            if args.quick:
                command.append("--quick")
            print(f"== Python {version}: {' '.join(command)}", flush=True)
            done = subprocess.run(command, cwd=ROOT, check=False)
            if done.returncode != 0:
                print(f"run.py failed on Python {version} (exit {done.returncode})")
                return done.returncode
    reports = load(args.results, [python_version(p) for p in pythons])
    print(targets_table(reports))
    if not args.no_readme:
        replace_tables(README, render(reports))
        print(f"\nRewrote the Speed tables in {README}")
    return 0


def interpreters() -> list[Path]:
    found = [ROOT / ".venv" / "bin" / "python"]
    found += sorted(ROOT.glob(".venv-3.*/bin/python"), key=lambda p: _key(p.parent.parent.name))
    return [p for p in found if p.exists()]


def _key(name: str) -> tuple[int, ...]:
    return tuple(int(part) for part in name.removeprefix(".venv-").split(".") if part.isdigit())


def python_version(python: Path) -> str:
    out = subprocess.run(
        [str(python), "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return out.stdout.strip()


def load(results: Path, versions: list[str]) -> dict[str, dict[str, Any]]:
    reports = {}
    for version in versions:
        path = results / f"python-{version}.json"
        if path.exists():
            reports[version] = json.loads(path.read_text())
        else:
            print(f"No results for Python {version} ({path}); left out")
    if not reports:
        raise SystemExit("no results to show")
    return reports


# Markdown.


def render(reports: dict[str, dict[str, Any]]) -> str:
    metas = [report["meta"] for report in reports.values()]
    versions = ", ".join(f"CPython {m['python']} ({m['date_utc']})" for m in metas)
    commits = sorted({(m.get("commit") or "?")[:10] for m in metas})
    dirty = any(m.get("smartasync_dirty") for m in metas)
    state = f"commit {', '.join(commits)}" + (
        " with uncommitted changes in `smartasync/`" if dirty else ""
    )
    quick = " **Quick runs: not for quoting.**" if any(m["quick"] for m in metas) else ""
    lines = [
        BEGIN,
        "",
        f"Measured with `python benchmarks/every_python.py` on {versions}; "
        f"{metas[0]['platform']}, {metas[0]['cpus']} shared CPUs; {state}."
        f"{quick} Cells are the median over interleaved rounds of (case / F1) in that "
        "round, then the case's best µs.",
        "",
    ]
    for key, heading in SHOWN:
        lines += scenario_table(key, heading, reports)
    lines += [
        "Targets of issues 6, 10 and 14 (median rounds; `FAIL` is a target not met):",
        "",
        targets_table(reports),
        "",
        END,
    ]
    return "\n".join(lines)


def scenario_table(key: str, heading: str, reports: dict[str, dict[str, Any]]) -> list[str]:
    groups = {v: r["groups"][key] for v, r in reports.items() if key in r["groups"]}
    if not groups:
        return []
    first = next(iter(groups.values()))
    floor = first["floors"][0]
    names: list[str] = []
    for group in groups.values():
        names += [row["name"] for row in group["rows"] if row["name"] not in names]
    head = ["case", *(f"{v}: x F1 · µs" for v in groups)]
    lines = [
        f"**{heading}** ({first['unit']}); F1 = {floor}",
        "",
        "| " + " | ".join(head) + " |",
        "|" + "---|" * len(head),
    ]
    for name in names:
        cells = [_label(name, groups)]
        for group in groups.values():
            cells.append(_cell(group, name, floor))
        lines.append("| " + " | ".join(c.replace("|", "/") for c in cells) + " |")
    return [*lines, ""]


def _label(name: str, groups: dict[str, dict[str, Any]]) -> str:
    for group in groups.values():
        for row in group["rows"]:
            if row["name"] == name and row["role"] == "peer":
                return f"peer: {name}"
            if row["name"] == name and row["role"] == "smartasync":
                return f"**{name}**"
    return name


def _cell(group: dict[str, Any], name: str, floor: str) -> str:
    rows = {row["name"]: row for row in group["rows"]}
    row, base = rows.get(name), rows.get(floor)
    if row is None:
        return "—"
    if row.get("error") is not None:
        reason = row["error"]
        return f"n/a: {reason if len(reason) <= 60 else reason[:57] + '...'}"
    ratio = "—"
    if base is not None and base.get("rounds_us"):
        pairs = zip(row["rounds_us"], base["rounds_us"], strict=True)
        ratio = f"{statistics.median(s / f for s, f in pairs):.2f}x"
    return f"{ratio} · {_us(row['best_us'])}"


def _us(value: float) -> str:
    if value >= 100:
        return f"{value:,.0f}"
    return f"{value:.3g}"


def targets_table(reports: dict[str, dict[str, Any]]) -> str:
    versions = list(reports)
    head = ["issue", "target", "budget", *versions]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    order: list[tuple[str, str]] = []
    items: dict[tuple[str, str], dict[str, dict[str, Any]]] = {}
    for version, report in reports.items():
        for item in report["targets"]:
            key = (item["issue"], item["target"])
            if key not in items:
                order.append(key)
                items[key] = {}
            items[key][version] = item
    for key in order:
        by_version = items[key]
        by_limit: dict[str, list[str]] = {}
        for version, item in by_version.items():
            limit = f"{item['comparison']} {number(item['limit'], item['unit'])}"
            by_limit.setdefault(limit, []).append(version)
        budget = (
            next(iter(by_limit))
            if len(by_limit) == 1
            else "; ".join(f"{limit} ({', '.join(vs)})" for limit, vs in by_limit.items())
        )
        cells = [key[0], key[1], budget]
        for version in versions:
            item = by_version.get(version)
            cells.append("—" if item is None else _status(item))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _status(item: dict[str, Any]) -> str:
    value = number(item["value"], item["unit"])
    status = item["status"]
    if status == "pass":
        return f"{value} pass"
    if status == "FAIL":
        return f"{value} **FAIL**"
    if status == "superseded":
        return f"{value} (superseded)"
    if status == "pure Python":  # a target of the C accelerator, measured without it
        return f"{value} (pure Python, not judged)"
    return f"{status}: {item['reason']}"


def replace_tables(path: Path, tables: str) -> None:
    """Replace the text between the markers; nothing else in the file."""
    text = path.read_text()
    start, end = text.find(BEGIN), text.find(END)
    if start < 0 or end < start:
        raise SystemExit(f"{path}: the speed-table markers are missing:\n{BEGIN}\n{END}")
    path.write_text(text[:start] + tables + text[end + len(END) :])


if __name__ == "__main__":
    sys.exit(main())
