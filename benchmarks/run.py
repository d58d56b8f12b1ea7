"""smartasync benchmarks: µs per call, and ratios to floors and peers measured
in the same process and the same run.

    python benchmarks/run.py            # full run, a few minutes
    python benchmarks/run.py --quick    # a few seconds; what CI runs

Prints whether the smartasync measured runs on its C accelerator, one
Markdown table per scenario, the memory and thread figures and the targets
of the issues, and writes JSON (default benchmarks/results/latest.json).
Figures are the best of several interleaved rounds; `noise` is how far the
median round was above the best one.  Only the ratios mean anything across
machines.  `every_python.py` runs this on each CPython present and
regenerates the tables in benchmarks/README.md.

    SMARTASYNC_NO_EXTENSIONS=1 python benchmarks/run.py   # pure-Python figures

Targets that hold only with the accelerator (issue 21) are then shown as
`pure Python`: their figures are read, not judged.

Modules: _scenarios (what each group times), _decoration, _measure (running a
group), _timing (timing loops), _threads, _memory, _growth (what a long run
leaves behind), _peers, _subjects, _targets (the issues' budgets), _report.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import datetime
import importlib
import importlib.util
import json
import os
import platform
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

import _targets  # noqa: E402
from _growth import churn_table, growth_of_each_kind, growth_table, thread_churn  # noqa: E402
from _measure import run_group  # noqa: E402
from _memory import memory, memory_table  # noqa: E402
from _peers import peers  # noqa: E402
from _report import accelerator_line, accelerator_state, git_state, row_json, table  # noqa: E402
from _scenarios import groups  # noqa: E402
from _subjects import build_smart  # noqa: E402
from _timing import UNROLL  # noqa: E402

SCHEMA = 2


@dataclass
class Section:
    """A part of the run that is not timed in rounds: `run()` returns its
    figures (report[key] in the JSON), `show` makes its Markdown."""

    key: str
    run: Callable[[], dict[str, Any]]
    show: Callable[[dict[str, Any]], str]


def sections(sa: Any, smart: dict[str, Any], calls: int, quick: bool) -> list[Section]:
    threads = 500 if quick else 10_000
    return [
        Section("memory", lambda: memory(sa), memory_table),
        Section(
            "memory_growth",
            lambda: growth_of_each_kind(smart["Smart"](), calls, samples=5 if quick else 10),
            growth_table,
        ),
        Section("thread_churn", lambda: thread_churn(smart["Smart"](), threads), churn_table),
    ]


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
    parser.add_argument(
        "--growth-calls",
        type=int,
        default=None,
        help="calls of each kind in memory_growth (default 1,000,000, quick 20,000)",
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
    calls = args.growth_calls or (20_000 if args.quick else 1_000_000)
    all_sections = sections(sa, smart, calls, args.quick)
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
            **accelerator_state(sa),
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
    meta = report["meta"]
    print(
        f"smartasync {meta['smartasync_version']} ({meta['smartasync_path']}); "
        f"{accelerator_line(meta)}",
        end="\n\n",
        flush=True,
    )
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
    meta["seconds"] = time.perf_counter() - started
    print("### Targets (issues 6, 10, 14 and 21; judged on the median of per-round figures)\n")
    print(_targets.table(report["targets"]))
    if not meta["accelerator_active"]:
        print(
            f"\nTargets for the C accelerator (issue 21) are shown as `{_targets.PURE_PYTHON}`, "
            f"not judged: it was not active ({meta['accelerator_why_not']})."
        )
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
    print(
        f"Python {meta['python']} ({meta['implementation']}), {meta['platform']}, "
        f"{meta['cpus']} CPUs, {meta['date_utc']}; {accelerator_line(meta)}; "
        f"best of {rounds} rounds; {meta['seconds']:.1f} s"
    )
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=2, default=str) + "\n")
    print(f"JSON: {args.json}")
    return 0


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


if __name__ == "__main__":
    sys.exit(main())
