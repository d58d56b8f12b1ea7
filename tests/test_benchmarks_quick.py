"""The benchmark suite must keep running: `benchmarks/run.py --quick` in a
fresh interpreter, checked for a clean exit and well-formed JSON, and every
target of the issues read from exactly one subject and one floor.  Timings
are never asserted (shared, noisy machines): a target may pass or fail, but
never be missing.  A target for the C accelerator is judged exactly when the
run says the accelerator was active; otherwise it is shown as pure Python.
Run the file with and without SMARTASYNC_NO_EXTENSIONS=1 to check both."""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
RUN = ROOT / "benchmarks" / "run.py"
sys.path.insert(0, str(ROOT / "benchmarks"))
# The benchmarks are scripts beside the package, not part of it (nor of the
# files mypy checks): their target table is loaded by name.
_targets: Any = importlib.import_module("_targets")

GROUPS = {
    "sync_trivial_main",
    "sync_trivial_worker",
    "sync_suspending_main",
    "sync_suspending_worker",
    "async_call",
    "forced_sync_in_loop",
    "sync_handover",
    "threads_shared",
    "decoration",
    "gather_genexpr",
    "async_fresh_caller",
}


def run_quick(tmp_path: Path, *extra: str) -> dict[str, Any]:
    out = tmp_path / "bench.json"
    completed = subprocess.run(
        [sys.executable, str(RUN), "--quick", "--json", str(out), *extra],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=110,
        check=False,
    )
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    assert "### Targets" in completed.stdout
    report: dict[str, Any] = json.loads(out.read_text())
    return report


def check_report(report: dict[str, Any]) -> None:
    assert report["schema"] == 2
    assert {"meta", "peers", "groups", "memory", "memory_growth", "thread_churn", "targets"} <= set(
        report
    )
    assert report["meta"]["quick"] is True
    check_accelerator(report["meta"])
    assert set(report["groups"]) == GROUPS
    for key, group in report["groups"].items():
        assert group["floors"], key
        rows = {row["name"]: row for row in group["rows"]}
        for floor in group["floors"]:
            assert rows[floor]["error"] is None, (key, rows[floor])
        for row in group["rows"]:
            if row["role"] == "peer":
                continue  # a peer may be missing or fail: it says why
            assert row["error"] is None, (key, row)
            assert row["best_us"] > 0
            assert row["median_us"] >= row["best_us"]
            assert set(row["ratios"]) == set(group["floors"])
            assert len(row["rounds_us"]) == report["meta"]["rounds"]
    for item in report["memory"].values():
        assert {"bytes_per_instance", "bytes_added_by_calls"} <= set(item)
    for entry, item in report["memory_growth"].items():
        assert item["calls"] > 0, entry
    assert report["thread_churn"]["failed_calls"] == 0, report["thread_churn"]["first_failure"]
    check_targets(report)


def check_accelerator(meta: dict[str, Any]) -> None:
    """The run says whether the smartasync it measured ran on the C
    accelerator, and if not why (the run inherits this environment)."""
    active, why_not = meta["accelerator_active"], meta["accelerator_why_not"]
    assert isinstance(active, bool), meta
    assert isinstance(why_not, str), meta
    assert active == (why_not == ""), meta
    if os.environ.get("SMARTASYNC_NO_EXTENSIONS", "") not in ("", "0"):
        assert not active, meta
        assert "SMARTASYNC_NO_EXTENSIONS" in why_not, meta


def check_targets(report: dict[str, Any]) -> None:
    """Every target was read, from one subject and one floor row of its group;
    a target for the accelerator is judged exactly when it was active."""
    judged = [t for t in _targets.TARGETS if not t.needs_baseline]
    assert len(report["targets"]) == len(judged)
    active = report["meta"]["accelerator_active"]
    for target, item in zip(judged, report["targets"], strict=True):
        assert item["target"] == target.what
        assert item["needs_accelerator"] is target.needs_accelerator, item
        if target.superseded_by is not None:
            assert item["status"] == "superseded", item
        elif target.needs_accelerator and not active:
            assert item["status"] == _targets.PURE_PYTHON, item
        else:
            assert item["status"] in ("pass", "FAIL"), item
        assert item["value"] is not None, item
        if target.figure in _targets.TIMED:
            names = [row["name"] for row in report["groups"][target.group]["rows"]]
            assert names.count(target.subject) == 1, (target.what, target.subject)
            assert names.count(target.floor) == 1, (target.what, target.floor)


@pytest.mark.timeout(240)
def test_quick_run_with_whatever_peers_are_installed(tmp_path: Path) -> None:
    report = run_quick(tmp_path)
    check_report(report)
    for name, peer in report["peers"].items():
        if peer["distribution"] is not None:  # not the in-file predecessor
            assert peer["version"] is not None or peer["error"], name


@pytest.mark.timeout(240)
def test_quick_run_without_peers(tmp_path: Path) -> None:
    report = run_quick(tmp_path, "--no-peers")
    check_report(report)
    assert report["peers"] == {}
    assert report["peers_skipped"] == "--no-peers"


def test_every_target_reads_distinct_names() -> None:
    """No two targets read the same figure against the same limit, and no
    target pairs a row with itself."""
    seen = set()
    for target in _targets.TARGETS:
        key = (target.group, target.subject, target.floor, target.figure, target.limit)
        assert key not in seen, target.what
        seen.add(key)
        if target.floor is not None:
            assert target.subject != target.floor, target.what


def _report(*rows: tuple[str, list[float]]) -> dict[str, Any]:
    return {
        "meta": {},
        "groups": {
            "sync_trivial_main": {
                "rows": [
                    {"name": name, "error": None, "best_us": min(us), "rounds_us": us}
                    for name, us in rows
                ]
            }
        },
    }


def _item(report: dict[str, Any], what: str) -> dict[str, Any]:
    return next(item for item in _targets.evaluate(report, (3, 11)) if item["target"] == what)


WHAT = "sync call, non-suspending: x kept-loop floor"


def test_a_target_reads_its_own_floor_by_name() -> None:
    report = _report(
        (_targets.ARUN, [50.0, 60.0, 55.0]),
        (_targets.SMART, [4.0, 5.0, 4.5]),
        (_targets.KEPT, [5.0, 5.0, 5.0]),
    )
    item = _item(report, WHAT)
    assert item["status"] == "pass"
    assert item["value"] == pytest.approx(0.9)  # median of 0.8, 1.0, 0.9
    assert item["value_from_best"] == pytest.approx(0.8)


def test_a_target_without_its_floor_is_missing_not_paired_with_another() -> None:
    report = _report((_targets.ARUN, [50.0]), (_targets.SMART, [4.0]))
    item = _item(report, WHAT)
    assert item["status"] == "missing"
    assert item["value"] is None
    assert "0 rows named" in item["reason"]


def test_a_target_with_two_rows_of_its_name_is_missing() -> None:
    report = _report((_targets.SMART, [4.0]), (_targets.KEPT, [5.0]), (_targets.KEPT, [6.0]))
    item = _item(report, WHAT)
    assert item["status"] == "missing"
    assert "2 rows named" in item["reason"]


def _accelerated(active: bool | None) -> list[dict[str, Any]]:
    """The items of the accelerator's targets in a run whose meta says
    `active` (None: says nothing, as a report from before the accelerator)."""
    report = _report((_targets.SMART, [2.0, 2.2]), (_targets.RAW_AWAIT, [1.0, 1.0]))
    report["groups"]["async_call"] = report["groups"].pop("sync_trivial_main")
    if active is not None:
        report["meta"]["accelerator_active"] = active
    return [
        item
        for item in _targets.evaluate(report, (3, 11))
        if item["needs_accelerator"] and item["group"] == "async_call"
    ]


def test_an_accelerator_target_is_judged_only_when_the_run_had_it() -> None:
    (judged,) = _accelerated(True)
    assert judged["status"] == "pass"  # 2.1x, the median of 2.0x and 2.2x
    for active in (False, None):
        (shown,) = _accelerated(active)
        assert shown["status"] == _targets.PURE_PYTHON
        assert shown["value"] == judged["value"]  # the figure is still read
        assert shown["value_from_best"] == judged["value_from_best"]


def test_per_python_limits() -> None:
    target = next(t for t in _targets.TARGETS if t.since)
    assert target.limit_for((3, 11)) == 0.8
    assert target.limit_for((3, 12)) == 0.35
    assert target.limit_for((3, 13)) == 0.35


HOMES = ROOT / "benchmarks" / "homes.py"


def test_homes_benchmark_runs_and_reports_every_budget() -> None:
    # Its figures are never asserted here (see the module docstring): only
    # that each budget of homes at birth is measured and printed.
    proc = subprocess.run(
        [sys.executable, str(HOMES), "--quick"],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for name in (
        "sync call, born in sync code / no home",
        "sync call, entered with `with` / no home",
        "await, born on the caller's loop / no home",
        "await, `async with` on the caller's loop / no home",
        "await carried to the sync loop / wrap_future(run_coroutine_threadsafe)",
        "construction, sync code, over a class without resources",
        "construction, async code (a home on its loop), over the same",
    ):
        assert name in proc.stdout, proc.stdout
    assert proc.stderr == "", proc.stderr
