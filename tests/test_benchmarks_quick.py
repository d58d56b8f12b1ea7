"""The benchmark suite must keep running: `benchmarks/run.py --quick` in a
fresh interpreter, checked for a clean exit and well-formed JSON.  Timings
are never asserted (shared, noisy machines)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
RUN = ROOT / "benchmarks" / "run.py"

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
    assert report["schema"] == 1
    assert {"meta", "peers", "groups", "memory", "memory_growth", "thread_churn", "targets"} <= set(
        report
    )
    assert report["meta"]["quick"] is True
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
    for item in report["memory"].values():
        assert {"bytes_per_instance", "bytes_added_by_calls"} <= set(item)
    assert report["memory_growth"]["calls"] > 0
    assert report["thread_churn"]["failed_calls"] == 0, report["thread_churn"]["first_failure"]
    for item in report["targets"]:
        assert {"target", "value", "limit", "met"} <= set(item)
        assert item["met"] in (True, False)


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
