"""Ctrl-C at any instant (DESIGN.md section 3, rule 7): a real-SIGINT sweep.

Each run is a fresh interpreter (`-X dev`, with a timeout) that starts one
sync call of a smart object and has a real SIGINT sent to its main thread
`delay` after the call began; the delays sweep the whole call, from 0 to a bit
past its end.  The run catches KeyboardInterrupt wherever it lands (before,
during or after the call: recorded), waits, makes one more sync call so that
the loop runs again, and prints one JSON line of counters.  This parent then
classifies the run:

    hang              the child did not finish (faulthandler watchdog or timeout)
    crash             no result line, or a non-zero exit status
    no_interrupt_seen the signal was sent but no KeyboardInterrupt reached the caller
    lost_cleanup      a coroutine that started had not finished its cleanup when
                      KeyboardInterrupt reached the caller (or never did)
    cleanup_cut       a cancelled coroutine's awaited cleanup was cancelled again
    late_completion   the interrupted coroutine started or completed after the
                      caller had seen KeyboardInterrupt
    dirty_stderr      anything on stderr ("Task was destroyed", "never awaited",
                      "Exception ignored", a traceback, ...)
    next_call_failed  the next sync call raised or returned a wrong result
    thread_call_failed  (threads) another thread's sync call failed or got stuck

Only the public API is used (`from smartasync import SmartAsync`), so the same
sweep measures any version of the package: `--pkg DIR` puts DIR first on the
children's PYTHONPATH (the default is this checkout), and every child reports
the file it imported, which the parent checks.

    python tests/sigint_sweep.py [--scenarios a,b] [--delays N] [--reps R]
        [--max-delay-ms X] [--jobs J] [--pkg DIR] [--python EXE] [--json FILE]

The pytest wrapper is tests/test_sigint_sweep.py.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, Final

ROOT: Final = Path(__file__).resolve().parent.parent
SCRIPT: Final = Path(__file__).resolve()

SCENARIOS: Final = (
    "plain",
    "helper_in_asyncio_run",
    "async_generator",
    "context_manager",
    "threads",
    "birth_home",
)
# Every failure kind, in the order the table shows them.
KINDS: Final = (
    "hang",
    "crash",
    "no_interrupt_seen",
    "lost_cleanup",
    "cleanup_cut",
    "late_completion",
    "dirty_stderr",
    "next_call_failed",
    "thread_call_failed",
)
# Where the KeyboardInterrupt reached the caller (information, not a failure).
LANDINGS: Final = ("before", "pre_start", "running", "finished", "after", "none")

RESULT_PREFIX: Final = "SIGINT-SWEEP-RESULT "
CHILD_TIMEOUT: Final = 10.0  # seconds; the parent kills the child after this
WATCHDOG: Final = 6.0  # the child's faulthandler dumps every stack and exits after this
STEPS: Final = 3  # the coroutine awaits STEPS x STEP, then a CLEANUP await in `finally`
STEP: Final = 0.0006
CLEANUP: Final = 0.0008
SETTLE: Final = 0.03  # wait after the interrupt, and after the next call
RAN_ON_MS: Final = 2.0
CONTROLS: Final = 3  # control runs per cold/warm mode
SWITCH_INTERVAL: Final = 0.0001  # so the sender thread gets the GIL within ~0.1 ms
COUNT_KEYS: Final = ("started", "entered", "completed", "cleaned", "cleanup_cancelled")
# The tags whose coroutines the interrupt may hit, per scenario.
VICTIMS: Final[dict[str, tuple[str, ...]]] = {
    "plain": ("victim",),
    "helper_in_asyncio_run": ("victim",),
    "async_generator": ("victim",),
    "context_manager": ("victim", "body"),
    "threads": ("victim",),
    "birth_home": ("victim",),
}
DIRTY_MARKERS: Final = (
    "Task was destroyed",
    "never awaited",
    "Exception ignored",
    "Traceback",
    "was never retrieved",
    "ResourceWarning",
    "Fatal Python error",
)
_WATCHDOG_RE: Final = re.compile(r"^Timeout \(\d+:\d\d:\d\d(\.\d+)?\)!", re.MULTILINE)

Counts = dict[str, dict[str, int]]


# -- the child: one interrupted call in a fresh interpreter -------------------------------


class _Sender:
    """Sends one real SIGINT to the main thread `delay` seconds after `go()`.

    A thread that waits with the GIL released; the child runs with a short
    switch interval, so that the signal can land at any bytecode of the main
    thread, not only where the main thread happens to block."""

    def __init__(self, delay: float | None) -> None:
        self.delay = delay
        self.t0 = 0.0
        self.sent_at: float | None = None
        self._go = threading.Event()
        self._sent = threading.Event()
        self._main = threading.main_thread().ident
        self._thread: threading.Thread | None = None
        if delay is not None:
            self._thread = threading.Thread(target=self._run, name="sigint-sender", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        self._go.wait()
        assert self.delay is not None and self._main is not None
        rest = self.t0 + self.delay - time.perf_counter()
        if rest > 0:
            time.sleep(rest)
        signal.pthread_kill(self._main, signal.SIGINT)
        self.sent_at = time.perf_counter()
        self._sent.set()

    def go(self) -> None:
        self.t0 = time.perf_counter()
        self._go.set()

    @property
    def sent(self) -> bool:
        return self._sent.is_set()

    def wait_sent(self) -> None:
        """Wait until the signal has been sent and has had time to land."""
        if self._thread is not None:
            self._sent.wait(WATCHDOG)
        time.sleep(SETTLE)


def _child(scenario: str, delay_ms: float | None, warm: bool) -> None:
    import asyncio
    import faulthandler
    import gc
    import logging
    import warnings

    # A hang dumps every thread's stack to stderr (the parent reads it) and exits.
    faulthandler.dump_traceback_later(WATCHDOG, exit=True)
    # Python's own SIGINT handler, as in an interactive program: a parent
    # started in the background by a shell without job control (`cmd &` in a
    # script, nohup, CI) hands SIGINT down ignored, and nothing would land.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    sys.setswitchinterval(SWITCH_INTERVAL)
    # Expected in this test, so not noise: the debug-mode warning for a sync
    # helper blocking a running loop (scenario helper_in_asyncio_run), and
    # debug mode's slow-callback log line on a loaded machine.
    warnings.filterwarnings(
        "ignore",
        message=r"(?s)(?!.*never awaited)(?!.*Task was destroyed).*(blocked|blocking) the running",
        category=RuntimeWarning,
    )
    logging.getLogger("asyncio").addFilter(
        lambda record: not record.getMessage().startswith("Executing ")
    )

    import smartasync
    from smartasync import SmartAsync

    if os.environ.get(LOOP_DEBUG_ENV) == "0":
        # -X dev turns asyncio's debug mode on, and in debug mode a sync call
        # runs its task the ordinary way (run_forever): the inline path (see
        # smartasync._eager) is swept only with the loops' debug mode off.
        def quiet_loop() -> asyncio.AbstractEventLoop:
            loop = asyncio.new_event_loop()
            loop.set_debug(False)
            return loop

        smartasync.set_loop_factory(quiet_loop)

    events: list[tuple[str, str]] = []  # list.append is atomic: no lock a signal could break
    done_at: dict[str, float] = {}

    def rec(tag: str, key: str) -> None:
        events.append((tag, key))
        if key == "completed":
            done_at.setdefault(tag, time.perf_counter())

    def counts() -> Counts:
        out: Counts = {}
        for tag, key in list(events):
            out.setdefault(tag, dict.fromkeys(COUNT_KEYS, 0))[key] += 1
        return out

    async def cleanup(tag: str) -> None:
        try:
            await asyncio.sleep(CLEANUP)
        except asyncio.CancelledError:
            rec(tag, "cleanup_cancelled")
            raise
        finally:
            rec(tag, "cleaned")

    class Obj(SmartAsync):
        async def work(self, tag: str) -> int:
            rec(tag, "started")
            try:
                for _ in range(STEPS):
                    await asyncio.sleep(STEP)
                rec(tag, "completed")
                return 42
            finally:
                await cleanup(tag)

        async def items(self, tag: str, n: int) -> AsyncIterator[int]:
            rec(tag, "started")
            try:
                for i in range(n):
                    await asyncio.sleep(STEP)
                    yield i
                rec(tag, "completed")
            finally:
                await cleanup(tag)

    class Res(Obj):
        """An async context manager that releases what it took if entering fails."""

        def __init__(self, tag: str) -> None:
            self.tag = tag

        async def __aenter__(self) -> Res:
            rec(self.tag, "started")
            try:
                for _ in range(2):
                    await asyncio.sleep(STEP)
            except BaseException:
                await cleanup(self.tag)
                raise
            rec(self.tag, "entered")
            return self

        async def __aexit__(
            self,
            exc_type: type[BaseException] | None,
            exc: BaseException | None,
            tb: TracebackType | None,
        ) -> None:
            try:
                await asyncio.sleep(STEP)
                if exc_type is None:
                    rec(self.tag, "completed")
            finally:
                await cleanup(self.tag)

    class Born(Obj, loop_bound=True):
        """Lives on the loop of the code that made it (DESIGN §3 rule 3)."""

    # birth_home: made in sync code, so it lives on the sync loop, and its
    # calls take the birth-home paths (the fast path's `plain` test).
    obj = Born() if scenario == "birth_home" else Obj()
    sender = _Sender(None if delay_ms is None else delay_ms / 1000)
    phase = "before"
    call_ms: float | None = None

    def helper(tag: str) -> int:
        # A plain function: its bare call runs to completion, although a loop
        # runs in this thread (the library runs it elsewhere meanwhile).
        return obj.work(tag)

    async def helper_main(tag: str, signalled: bool) -> int:
        nonlocal phase, call_ms
        if not signalled:
            return helper(tag)
        phase = "call"
        sender.go()
        value = helper(tag)
        call_ms = (time.perf_counter() - sender.t0) * 1000
        phase = "after"
        # Let the signal land while this task still runs (asyncio.run's own
        # handler cancels the main task, and raises only once it is done).
        while not sender.sent and sender.delay is not None:
            await asyncio.sleep(0.001)
        await asyncio.sleep(SETTLE)
        return value

    def one_call(tag: str) -> object:
        """One sync call of the scenario's kind, uninterrupted; its result."""
        if scenario == "helper_in_asyncio_run":
            return asyncio.run(helper_main(tag, signalled=False))
        if scenario == "async_generator":
            return list(obj.items(tag, 3))
        if scenario == "context_manager":
            with Res(tag) as res:
                return res.work(tag + "-body")
        return obj.work(tag)

    expected: object = [0, 1, 2] if scenario == "async_generator" else 42

    # -- threads: other threads keep making sync calls on the same instance --
    stop = threading.Event()
    thread_errors: list[str] = []
    thread_calls = [0]

    def other_thread() -> None:
        while not stop.is_set():
            try:
                value = obj.work("bg")
                if value != 42:
                    thread_errors.append(f"returned {value!r}")
            except BaseException as exc:
                thread_errors.append(repr(exc))
            thread_calls[0] += 1

    others: list[threading.Thread] = []
    if scenario == "threads":
        others = [threading.Thread(target=other_thread, name=f"caller-{i}") for i in range(3)]
        for thread in others:
            thread.daemon = True
            thread.start()
        while thread_calls[0] < 3 and not thread_errors:
            time.sleep(0.001)

    if warm:
        one_call("warm")

    # -- the interrupted call --
    ki = False
    caught_at: float | None = None
    at_ki: Counts | None = None
    try:
        if scenario == "helper_in_asyncio_run":
            asyncio.run(helper_main("victim", signalled=True))
        else:
            phase = "call"
            sender.go()
            if scenario == "async_generator":
                for _ in obj.items("victim", STEPS):
                    pass
            elif scenario == "context_manager":
                with Res("victim") as res:
                    res.work("body")
            else:
                obj.work("victim")
            call_ms = (time.perf_counter() - sender.t0) * 1000
            phase = "after"
        sender.wait_sent()
    except KeyboardInterrupt:
        caught_at = time.perf_counter()
        at_ki = counts()
        ki = True
    where = phase if ki else None

    # -- afterwards: the loop runs again; nothing of the interrupted call may --
    time.sleep(SETTLE)
    before_next = counts()
    next_error: str | None = None
    try:
        value = one_call("next")
        if value != expected:
            next_error = f"returned {value!r}, expected {expected!r}"
    except BaseException as exc:
        next_error = repr(exc)
    time.sleep(SETTLE)
    stop.set()
    stuck = 0
    for thread in others:
        thread.join(3)
        stuck += thread.is_alive()
    gc.collect()
    final = counts()

    def ms(t: float | None) -> float | None:
        return None if t is None else round((t - sender.t0) * 1000, 3)

    result = {
        "scenario": scenario,
        "delay_ms": delay_ms,
        "warm": warm,
        "package": smartasync.__file__,
        "python": sys.version.split()[0],
        "ki": ki,
        "where": where,
        "sent_ms": ms(sender.sent_at),
        "caught_ms": ms(caught_at),
        "victim_done_ms": ms(done_at.get("victim")),
        "call_ms": None if call_ms is None else round(call_ms, 3),
        "at_ki": at_ki,
        "before_next": before_next,
        "final": final,
        "next_error": next_error,
        "thread_errors": thread_errors[:5],
        "thread_error_count": len(thread_errors),
        "threads_stuck": stuck,
        "thread_calls": thread_calls[0],
    }
    print(RESULT_PREFIX + json.dumps(result), flush=True)


# -- the parent: run children, classify, summarise ----------------------------------------


@dataclass(frozen=True)
class Run:
    scenario: str
    delay_ms: float | None  # None: a control run, no signal
    warm: bool


@dataclass
class Outcome:
    run: Run
    kinds: list[str]
    landing: str
    returncode: int | None
    stdout: str
    stderr: str
    result: dict[str, Any] | None
    seconds: float
    notes: list[str] = field(default_factory=list)

    @property
    def ran_on(self) -> bool:
        """The victim completed well after the signal was sent (information)."""
        res = self.result or {}
        sent, done = res.get("sent_ms"), res.get("victim_done_ms")
        return sent is not None and done is not None and done > sent + RAN_ON_MS

    @property
    def ok(self) -> bool:
        return not self.kinds

    def describe(self, stderr_lines: int = 40) -> str:
        run = self.run
        delay = "control" if run.delay_ms is None else f"delay {run.delay_ms:.3f} ms"
        head = (
            f"[{run.scenario}, {delay}, {'warm' if run.warm else 'cold'}] "
            f"{', '.join(self.kinds) or 'ok'}; landed: {self.landing}"
        )
        lines = [head, *(f"  {note}" for note in self.notes)]
        res = self.result
        if res is not None:
            keys = ("sent_ms", "caught_ms", "victim_done_ms", "call_ms", "next_error")
            lines.append("  " + ", ".join(f"{k}={res.get(k)}" for k in keys))
            lines.append(f"  counters at KeyboardInterrupt: {_fmt_counts(res.get('at_ki'))}")
            lines.append(f"  counters at the end:           {_fmt_counts(res.get('final'))}")
        if self.stderr.strip():
            err = self.stderr.strip().splitlines()
            cut = err[:stderr_lines] + (
                [f"... ({len(err) - stderr_lines} more lines)"] if len(err) > stderr_lines else []
            )
            lines.append("  stderr:")
            lines.extend("    " + line for line in cut)
        return "\n".join(lines)


def _fmt_counts(counts: Counts | None) -> str:
    if counts is None:
        return "-"
    return "; ".join(
        f"{tag}: " + " ".join(f"{k}={v}" for k, v in sorted(c.items()) if v)
        for tag, c in sorted(counts.items())
    )


# "0": the children's smartasync loops run outside asyncio debug mode, so that
# sync calls drive their task inline (see `_child`).
LOOP_DEBUG_ENV: Final = "SMARTASYNC_SWEEP_LOOP_DEBUG"


def child_command(python: str, run: Run) -> list[str]:
    # -P: the script's directory (tests/, which holds a `typing` folder) stays
    # off sys.path, so that only PYTHONPATH decides which smartasync is imported.
    cmd = [python, "-X", "dev", "-P", str(SCRIPT), "--child", run.scenario]
    if run.delay_ms is not None:
        cmd += ["--delay-ms", repr(run.delay_ms)]
    if run.warm:
        cmd.append("--warm")
    return cmd


def child_env(pkg: Path) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("PYTHONASYNCIODEBUG", "PYTHONWARNINGS", "PYTHONDEVMODE", "PYTHONPATH")
    }
    env["PYTHONPATH"] = str(pkg)
    env["PYTHONFAULTHANDLER"] = "1"
    return env


def _get(counts: Counts | None, tag: str, key: str) -> int:
    if counts is None:
        return 0
    return counts.get(tag, {}).get(key, 0)


def _landing(res: dict[str, Any], victims: Sequence[str]) -> str:
    if not res.get("ki"):
        return "none"
    where = res.get("where")
    if where in ("before", "after"):
        return str(where)
    at = res.get("at_ki")
    if not any(_get(at, t, "started") for t in victims):
        return "pre_start"
    if _get(at, victims[0], "completed"):
        return "finished"
    return "running"


def classify(
    run: Run,
    pkg: Path,
    returncode: int | None,
    stdout: str,
    stderr: str,
    timed_out: bool,
    seconds: float,
) -> Outcome:
    """Turn one child's exit status and output into an Outcome."""
    kinds: list[str] = []
    notes: list[str] = []
    result: dict[str, Any] | None = None
    for line in stdout.splitlines():
        if line.startswith(RESULT_PREFIX):
            result = json.loads(line[len(RESULT_PREFIX) :])
    hung = timed_out or bool(_WATCHDOG_RE.search(stderr))
    if hung:
        kinds.append("hang")
        if result is not None:
            notes.append("the result line was printed: the hang came afterwards (exit)")
    elif result is None or returncode != 0:
        kinds.append("crash")
        notes.append(f"exit status {returncode}, result line {'present' if result else 'missing'}")
    if result is None:
        return Outcome(run, kinds, "unknown", returncode, stdout, stderr, None, seconds, notes)

    imported = Path(str(result.get("package"))).resolve()
    if not imported.is_relative_to(pkg.resolve()):  # the harness itself is misconfigured
        raise RuntimeError(f"the child imported {imported}, not the package under {pkg}")

    victims = VICTIMS[run.scenario]
    at_ki: Counts | None = result.get("at_ki")
    final: Counts = result.get("final") or {}
    signalled = run.delay_ms is not None
    if signalled and not result.get("ki"):
        kinds.append("no_interrupt_seen")
    if not signalled and result.get("ki"):  # a control run: nothing may interrupt it
        kinds.append("crash")
        notes.append("KeyboardInterrupt in a run that sent no signal")
    at = at_ki if at_ki is not None else final
    if any(_get(at, t, "cleaned") != _get(at, t, "started") for t in victims) or any(
        _get(final, t, "cleaned") != _get(final, t, "started") for t in victims
    ):
        kinds.append("lost_cleanup")
        if any(_get(final, t, "cleaned") != _get(final, t, "started") for t in victims):
            notes.append("the cleanup never ran")
        else:
            notes.append("the cleanup ran after KeyboardInterrupt had reached the caller")
    if any(
        _get(final, t, "cleanup_cancelled") > _get(final, t, "completed")
        and _get(final, t, "cleanup_cancelled")
        for t in victims
    ):
        kinds.append("cleanup_cut")
    if at_ki is not None and any(
        _get(final, t, key) > _get(at_ki, t, key)
        for t in victims
        for key in ("started", "entered", "completed")
    ):
        kinds.append("late_completion")
    if stderr.strip() and not hung:
        kinds.append("dirty_stderr")
    next_ok = result.get("next_error") is None and all(
        _get(final, "next", k) == 1 for k in ("started", "completed", "cleaned")
    )
    if not next_ok:
        kinds.append("next_call_failed")
    if run.scenario == "threads" and (
        result.get("thread_error_count")
        or result.get("threads_stuck")
        or not (
            _get(final, "bg", "started")
            == _get(final, "bg", "completed")
            == _get(final, "bg", "cleaned")
            > 0
        )
    ):
        kinds.append("thread_call_failed")
    landing = _landing(result, victims)
    return Outcome(run, kinds, landing, returncode, stdout, stderr, result, seconds, notes)


def _text(data: object) -> str:
    if isinstance(data, bytes):
        return data.decode(errors="replace")
    return data if isinstance(data, str) else ""


def run_child(run: Run, pkg: Path, python: str = sys.executable) -> Outcome:
    start = time.monotonic()
    try:
        proc = subprocess.run(
            child_command(python, run),
            capture_output=True,
            text=True,
            timeout=CHILD_TIMEOUT,
            env=child_env(pkg),
            cwd=str(pkg),
        )
    except subprocess.TimeoutExpired as exc:
        # (bytes here even with text=True)
        out, err = _text(exc.stdout), _text(exc.stderr)
        return classify(run, pkg, None, out, err, True, time.monotonic() - start)
    return classify(
        run, pkg, proc.returncode, proc.stdout, proc.stderr, False, time.monotonic() - start
    )


def delays_for(count: int, max_delay_ms: float, reps: int) -> list[float]:
    """`count` delays from 0 to `max_delay_ms`, `reps` times, each repetition
    offset by a fraction of a step so that they interleave."""
    step = max_delay_ms / max(count - 1, 1)
    return [
        round(min(max_delay_ms, (i + r / reps) * step), 4)
        for r in range(reps)
        for i in range(count)
    ]


@dataclass
class ScenarioReport:
    scenario: str
    max_delay_ms: float
    call_ms: float
    outcomes: list[Outcome]
    controls: list[Outcome]

    @property
    def failures(self) -> list[Outcome]:
        return [o for o in self.outcomes + self.controls if not o.ok]

    def count(self, kind: str) -> int:
        return sum(kind in o.kinds for o in self.outcomes)

    def markers(self) -> Counter[str]:
        found: Counter[str] = Counter()
        for o in self.outcomes:
            if "dirty_stderr" in o.kinds:
                hits = [m for m in DIRTY_MARKERS if m in o.stderr]
                found.update(hits or ["other"])
        return found


def _map(
    runs: Sequence[Run],
    pkg: Path,
    python: str,
    jobs: int,
    progress: Callable[[int, int], None] | None,
) -> list[Outcome]:
    with concurrent.futures.ThreadPoolExecutor(max_workers=jobs) as pool:
        futures = [pool.submit(run_child, run, pkg, python) for run in runs]
        for done, _ in enumerate(concurrent.futures.as_completed(futures), 1):
            if progress is not None:
                progress(done, len(runs))
    outcomes = [future.result() for future in futures]
    return outcomes


def sweep(
    scenarios: Iterable[str],
    delays: int,
    reps: int = 1,
    max_delay_ms: float | None = None,
    jobs: int = 3,
    pkg: Path = ROOT,
    python: str = sys.executable,
    warm: str = "both",
    progress: Callable[[str, int, int], None] | None = None,
    controls: int = CONTROLS,
) -> list[ScenarioReport]:
    """Calibrate (uninterrupted control runs time the call), then sweep."""
    reports = []
    for scenario in scenarios:
        if scenario not in SCENARIOS:
            raise ValueError(f"unknown scenario {scenario!r}; known: {', '.join(SCENARIOS)}")
        modes = {"cold": [False], "warm": [True], "both": [False, True]}[warm]
        # Control runs (no signal) time the call under the same load, and
        # show that the harness itself leaves stderr clean and counts right.
        control_runs = [Run(scenario, None, w) for _ in range(controls) for w in modes]
        control_outcomes = _map(control_runs, pkg, python, jobs, None)
        times = [
            o.result["call_ms"] for o in control_outcomes if o.result and o.result.get("call_ms")
        ]
        call_ms = statistics.median(times) if times else 10.0
        top = max_delay_ms if max_delay_ms is not None else round(call_ms * 1.5 + 0.5, 3)
        runs = [
            Run(scenario, d, modes[i % len(modes)])
            for i, d in enumerate(delays_for(delays, top, reps))
        ]

        def tick(done: int, total: int, scenario: str = scenario) -> None:
            if progress is not None:
                progress(scenario, done, total)

        outcomes = _map(runs, pkg, python, jobs, tick)
        reports.append(ScenarioReport(scenario, top, call_ms, outcomes, control_outcomes))
    return reports


_COLUMNS: Final = (
    ("runs", "runs"),
    ("ok", "ok"),
    ("hang", "hangs"),
    ("lost_cleanup", "lost cleanup"),
    ("late_completion", "late compl."),
    ("dirty_stderr", "dirty stderr"),
    ("next_call_failed", "next failed"),
    ("no_interrupt_seen", "no KI"),
    ("cleanup_cut", "cleanup cut"),
    ("thread_call_failed", "thread failed"),
    ("crash", "crash"),
)


def table(reports: Sequence[ScenarioReport]) -> str:
    head = ["scenario", *(title for _, title in _COLUMNS)]
    rows = []
    for rep in reports:
        row = [rep.scenario, str(len(rep.outcomes)), str(sum(o.ok for o in rep.outcomes))]
        row += [str(rep.count(kind)) for kind, _ in _COLUMNS[2:]]
        rows.append(row)
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head))]
    lines = [
        "  ".join(
            c.ljust(w) if i == 0 else c.rjust(w)
            for i, (c, w) in enumerate(zip(r, widths, strict=True))
        )
        for r in [head, *rows]
    ]
    lines.insert(1, "-" * len(lines[0]))
    out = ["\n".join(lines), ""]
    for rep in reports:
        landed = Counter(o.landing for o in rep.outcomes)
        control_bad = sum(not o.ok for o in rep.controls)
        out.append(
            f"{rep.scenario}: call {rep.call_ms:.2f} ms (median control run), delays 0-"
            f"{rep.max_delay_ms:.2f} ms; KeyboardInterrupt landed "
            + ", ".join(f"{k} {landed[k]}" for k in LANDINGS if landed[k])
            + f"; control runs {len(rep.controls)} ({control_bad} failed)"
        )
        ran_on = sum(o.ran_on for o in rep.outcomes)
        if ran_on:
            out.append(
                f"  (info) {ran_on} runs: the call completed > {RAN_ON_MS} ms after the signal "
                "was sent (the interrupt did not stop it)"
            )
        markers = rep.markers()
        if markers:
            out.append("  dirty stderr: " + ", ".join(f"{k!r} x{v}" for k, v in markers.items()))
    return "\n".join(out)


def _main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--delay-ms", type=float, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--warm", nargs="?", const="warm", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--scenarios", default=",".join(SCENARIOS))
    parser.add_argument("--delays", type=int, default=120, help="delays per scenario")
    parser.add_argument("--reps", type=int, default=3, help="repetitions of the delay sweep")
    parser.add_argument("--max-delay-ms", type=float, default=None, help="default: calibrated")
    parser.add_argument("--jobs", type=int, default=4)
    parser.add_argument("--pkg", type=Path, default=ROOT, help="where smartasync is imported from")
    parser.add_argument("--python", default=sys.executable, help="the children's interpreter")
    parser.add_argument("--calls", choices=("cold", "warm", "both"), default="both")
    parser.add_argument("--json", type=Path, default=None, help="write every outcome here")
    parser.add_argument("--verbose", "-v", action="count", default=0)
    parser.add_argument(
        "--no-loop-debug",
        action="store_true",
        help="smartasync's loops outside asyncio debug mode (sweeps the inline path)",
    )
    args = parser.parse_args(argv)
    if args.child:
        _child(args.child, args.delay_ms, args.warm is not None)
        return 0
    if args.no_loop_debug:
        os.environ[LOOP_DEBUG_ENV] = "0"  # children inherit it (child_env)

    def progress(scenario: str, done: int, total: int) -> None:
        if done % 50 == 0 or done == total:
            print(f"  {scenario}: {done}/{total}", file=sys.stderr, flush=True)

    start = time.monotonic()
    reports = sweep(
        [s.strip() for s in args.scenarios.split(",") if s.strip()],
        delays=args.delays,
        reps=args.reps,
        max_delay_ms=args.max_delay_ms,
        jobs=args.jobs,
        pkg=args.pkg,
        python=args.python,
        warm=args.calls,
        progress=progress,
    )
    version = subprocess.run(
        [args.python, "-c", "import sys; print(sys.version.split()[0])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    print(f"\nsmartasync from {args.pkg}, Python {version}, {time.monotonic() - start:.0f} s\n")
    print(table(reports))
    failures = [o for rep in reports for o in rep.failures]
    if failures:
        shown = failures if args.verbose else _examples(failures)
        print(f"\n{len(failures)} failing runs; {'all' if args.verbose else 'examples'}:")
        for outcome in shown:
            print(outcome.describe(stderr_lines=200 if args.verbose > 1 else 25))
    if args.json is not None:
        args.json.write_text(
            json.dumps(
                [
                    {
                        "scenario": o.run.scenario,
                        "delay_ms": o.run.delay_ms,
                        "warm": o.run.warm,
                        "kinds": o.kinds,
                        "landing": o.landing,
                        "returncode": o.returncode,
                        "stderr": o.stderr,
                        "result": o.result,
                        "notes": o.notes,
                    }
                    for rep in reports
                    for o in rep.controls + rep.outcomes
                ],
                indent=1,
            )
        )
    return 1 if failures else 0


def _examples(failures: Sequence[Outcome], per_kind: int = 2) -> list[Outcome]:
    """A couple of failing runs per (scenario, kind)."""
    seen: Counter[tuple[str, str]] = Counter()
    shown: list[Outcome] = []
    for o in failures:
        keys = [(o.run.scenario, k) for k in o.kinds]
        if any(seen[k] < per_kind for k in keys):
            shown.append(o)
            seen.update(keys)
    return shown


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
