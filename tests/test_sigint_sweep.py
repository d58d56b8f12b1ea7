"""Ctrl-C at any instant (DESIGN.md rule 7), with real SIGINTs: for each
scenario, fresh interpreters (`-X dev`) are interrupted at delays swept across
a sync call, and every run must be clean: no hang, the cleanup finished before
KeyboardInterrupt reached the caller, no completion afterwards, nothing on
stderr, the next call works.  See tests/sigint_sweep.py (also a CLI).

A reduced sweep by default; SMARTASYNC_FULL_SWEEP=1 runs the full one."""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
import time

import pytest

from . import sigint_sweep as sweep

FULL = os.environ.get("SMARTASYNC_FULL_SWEEP") == "1"
DELAYS = 120 if FULL else 30
REPS = 3 if FULL else 1
JOBS = 4


def _report(failures: list[sweep.Outcome], total: int) -> str:
    shown = sweep._examples(failures, per_kind=3)
    kinds = sorted({kind for o in failures for kind in o.kinds})
    return (
        f"{len(failures)} of {total} runs failed ({', '.join(kinds)}); "
        f"failing delays: {sorted({o.run.delay_ms for o in failures}, key=lambda d: d or -1)}\n\n"
        + "\n\n".join(o.describe() for o in shown)
    )


# Also with smartasync's loops outside asyncio debug mode (which -X dev
# turns on): sync calls then drive their task inline (see _eager), with the
# first step taken in the Task constructor on 3.12+.
LOOP_MODES = ["debug", "inline"]


@pytest.mark.timeout(3600 if FULL else 120)
@pytest.mark.parametrize("loops", LOOP_MODES)
@pytest.mark.parametrize("scenario", sweep.SCENARIOS)
def test_ctrl_c_at_any_instant_of_a_sync_call(
    scenario: str, loops: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    if loops == "inline":
        monkeypatch.setenv(sweep.LOOP_DEBUG_ENV, "0")
    else:
        monkeypatch.delenv(sweep.LOOP_DEBUG_ENV, raising=False)
    (report,) = sweep.sweep(
        [scenario], delays=DELAYS, reps=REPS, jobs=JOBS, controls=3 if FULL else 1
    )
    assert len(report.outcomes) == DELAYS * REPS
    # The sweep reached inside the call, not only around it.
    assert any(o.landing == "running" for o in report.outcomes), sweep.table([report])
    failures = report.failures
    assert not failures, _report(failures, len(report.outcomes) + len(report.controls))


async def _child(run: sweep.Run) -> sweep.Outcome:
    start = time.monotonic()
    proc = await asyncio.create_subprocess_exec(
        *sweep.child_command(sys.executable, run),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=sweep.child_env(sweep.ROOT),
        cwd=str(sweep.ROOT),
    )
    try:
        out, err = await asyncio.wait_for(proc.communicate(), sweep.CHILD_TIMEOUT)
    except TimeoutError:
        proc.kill()
        out, err = await proc.communicate()
        timed_out = True
    else:
        timed_out = False
    return sweep.classify(
        run,
        sweep.ROOT,
        proc.returncode,
        out.decode(),
        err.decode(),
        timed_out,
        time.monotonic() - start,
    )


@pytest.mark.timeout(3600 if FULL else 120)
@pytest.mark.asyncio
async def test_ctrl_c_in_a_sync_helper_driven_from_an_async_test() -> None:
    # The helper_in_asyncio_run case (a plain `def` helper calling without
    # `await` inside asyncio.run), with the children run from an async test.
    scenario = "helper_in_asyncio_run"
    limit = asyncio.Semaphore(JOBS)

    async def run(r: sweep.Run) -> sweep.Outcome:
        async with limit:
            return await _child(r)

    controls = await asyncio.gather(*(run(sweep.Run(scenario, None, w)) for w in (False, True)))
    times = [o.result["call_ms"] for o in controls if o.result and o.result.get("call_ms")]
    top = statistics.median(times) * 1.5 + 0.5 if times else 20.0
    count = DELAYS if FULL else 12
    runs = [
        sweep.Run(scenario, d, i % 2 == 1) for i, d in enumerate(sweep.delays_for(count, top, REPS))
    ]
    outcomes = await asyncio.gather(*(run(r) for r in runs))
    failures = [o for o in [*controls, *outcomes] if not o.ok]
    assert not failures, _report(failures, len(controls) + len(outcomes))
