"""Ctrl-C at every instant of a sync call: `with` entries and exits, method
calls, async property reads, iteration.

The real-SIGINT sweep (test_sigint_sweep.py) sends a signal at timed instants,
and a narrow window can hide between them: the CI sweep once hit, in 1 run of
32 on 3.12, a Ctrl-C landing between the making of `__aexit__`'s coroutine
and the engine taking it over.  The exit was dropped, the resource stayed
taken, and "never awaited" was printed.

Here the instants are counted instead of timed.  Python runs a pending signal
handler at the start of a Python function, when a call into C returns, and
at a loop's backward jump.  A profile function sees the first two (not the
jumps), and raises a real SIGINT at the k-th such event, in any frame
(smartasync's, asyncio's, the user's), for every k, in a fresh interpreter.

Each subject records its start and runs an awaited cleanup.  What must hold
for every k:
- a `with` is never left entered without its exit having run, and a call
  that started has run its cleanup;
- KeyboardInterrupt reaches the caller;
- nothing is printed (no "never awaited", no task destroyed pending).

One instant is left out and counted: the start of smartasync's `__exit__`
itself.  Python may raise there before any code of the callee runs, for any
`__exit__` written in Python, and the `with` statement then propagates the
interrupt without an exit.
"""

from __future__ import annotations

import asyncio
import json

import pytest

from .conftest import run_python
from .test_faults import assert_clean

CHILD = r"""
import asyncio, contextlib, itertools, json, signal, sys
from smartasync import SmartAsync


async def cleanup(subject):
    # An awaited cleanup.  A Ctrl-C landing while it awaits cancels it (the
    # one cancellation of the call lands where the coroutine is): it counts as
    # run, as in the real-SIGINT sweep.  Never reached is what must not happen.
    try:
        await asyncio.sleep(0)
    finally:
        subject.exited += 1


class Res(SmartAsync):
    def __init__(self):
        self.entered = self.exited = 0

    async def __aenter__(self):
        await asyncio.sleep(0)
        self.entered += 1
        return self

    async def __aexit__(self, exc_type, exc, tb):
        try:
            await asyncio.sleep(0)
        finally:
            await cleanup(self)


class Owner(SmartAsync):
    def __init__(self):
        self.entered = self.exited = 0

    @contextlib.asynccontextmanager
    async def session(self):
        await asyncio.sleep(0)
        self.entered += 1
        try:
            yield self
        finally:
            await cleanup(self)

    async def work(self):
        self.entered += 1
        try:
            await asyncio.sleep(0)
        finally:
            await cleanup(self)

    @property
    async def value(self):
        return await self.work()

    async def items(self):
        self.entered += 1
        try:
            for i in range(2):
                await asyncio.sleep(0)
                yield i
        finally:
            await cleanup(self)


class Born(Owner, loop_bound=True):
    # Lives on the loop of the code that made it: the sync loop here (made by
    # `attempt`, a plain function), so an await in asyncio.run is carried there.
    pass


class Steps(SmartAsync):
    # An async iterator of its own (`for x in obj` runs the sync twins).
    def __init__(self):
        self.entered = self.exited = self.steps = 0

    def __aiter__(self):
        return self

    async def __anext__(self):
        if self.steps == 2:
            raise StopAsyncIteration
        self.steps += 1
        self.entered += 1
        try:
            await asyncio.sleep(0)
        finally:
            await cleanup(self)
        return self.steps


flavour, phase, context = sys.argv[1:4]
# smartasync's `__exit__` functions (the sync twin, the dual context manager's).
EXITS = ("twin_exit", "__exit__")


def whole(entered, exited, interrupted):
    # An uninterrupted run: entered (each step, for an iterator) and exited.
    return entered == exited >= 1 and not interrupted


def flush():
    pass  # a call: Python runs a pending signal handler at its start


def attempt(k):
    # One `with` (sync code) or `async with` (in asyncio.run), with SIGINT
    # raised at the k-th instant of its entry or exit (0: never).  Returns
    # what happened, and whether the instant was the entry of `__exit__`.
    subject = (
        Res() if flavour == "twin"
        else Steps() if flavour == "steps"
        else Born() if flavour == "born"
        else Owner()
    )
    manager = subject.session() if flavour == "acm" else subject  # (a `with` only)
    instants = 0
    at_exit_entry = raised = False
    where = None

    def profiler(frame, event, arg):
        # The instants where Python runs a pending signal handler: a Python
        # function's start, the return of a call into C.
        nonlocal instants, at_exit_entry, raised, where
        if event == "call" or event == "c_return":
            instants += 1
            if instants == k:
                code = frame.f_code
                at_exit_entry = (
                    event == "call" and code.co_name in EXITS and code.co_filename.endswith("_contexts.py")
                )
                raised = True
                where = f"{event} in {code.co_qualname} ({code.co_filename}:{frame.f_lineno})"
                signal.raise_signal(signal.SIGINT)

    def sync_call():
        try:
            sys.setprofile(profiler)
            if flavour in ("method", "born"):
                subject.work()
            elif flavour == "sync_form":
                subject.work.sync()
            elif flavour == "property":
                subject.value
            else:
                for _ in subject.items() if flavour == "agen" else subject:
                    pass
        finally:
            sys.setprofile(None)
        flush()

    async def async_call():
        try:
            sys.setprofile(profiler)
            if flavour in ("method", "born"):
                await subject.work()
            elif flavour == "property":
                await subject.value
            else:
                async for _ in subject.items() if flavour == "agen" else subject:
                    pass
        finally:
            sys.setprofile(None)
        await asyncio.sleep(0)

    def sync_with():
        try:
            if phase == "enter":
                sys.setprofile(profiler)
            with manager:
                sys.setprofile(profiler if phase == "exit" else None)
        finally:
            sys.setprofile(None)
        flush()

    async def async_with():
        try:
            if phase == "enter":
                sys.setprofile(profiler)
            async with manager:
                sys.setprofile(profiler if phase == "exit" else None)
        finally:
            sys.setprofile(None)
        await asyncio.sleep(0)

    interrupted = False
    try:
        if phase == "call":
            sync_call() if context == "sync" else asyncio.run(async_call())
        elif context == "sync":
            sync_with()
        else:
            asyncio.run(async_with())
    except KeyboardInterrupt:
        interrupted = True
    flush()
    return subject.entered, subject.exited, interrupted, raised, at_exit_entry, where


attempt(0)  # a first use: compiling, the first loop
assert whole(*attempt(0)[:3])
failures = []
left_out = []
swept = misses = 0
for k in itertools.count(1):
    # Until the count runs past the end (an attempt's count of instants may
    # vary by a few: loop bookkeeping), three times.
    entered, exited, interrupted, raised, at_exit_entry, where = attempt(k)
    if not raised:
        misses += 1
        if misses == 3:
            break
        continue
    swept += 1
    if at_exit_entry:  # the start of `__exit__` (see the module's docstring)
        left_out.append(k)
        continue
    whole_exit = phase != "exit" or (entered, exited) == (1, 1)
    if entered != exited or not whole_exit or not interrupted:
        failures.append(
            {"instant": k, "at": where, "entered": entered, "exited": exited, "interrupted": interrupted}
        )
# A next `with` still works, on the same engine.
assert whole(*attempt(0)[:3])
print(json.dumps({"instants": swept, "left_out": left_out, "failures": failures}))
"""

# `-X dev` puts smartasync's loops in debug mode: the ordinary path
# (create_task + run_forever).  Without it, sync calls are driven inline.
LOOPS = {"inline": ("-W", "error::ResourceWarning"), "debug": ("-X", "dev")}


def _sweep(flavour: str, phase: str, context: str, loops: str) -> None:
    result = run_python(CHILD, flavour, phase, context, flags=LOOPS[loops], timeout=240)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    # The sweep went through the whole entry or exit, not only its first instants.
    assert report["instants"] >= 20, report
    assert report["failures"] == [], report
    # Only the start of smartasync's own `__exit__` is left out (sync code's exit).
    assert len(report["left_out"]) == (1 if (context, phase) == ("sync", "exit") else 0), report
    assert_clean(result.stderr)


CASES = [("twin", "enter"), ("twin", "exit"), ("acm", "enter"), ("acm", "exit")]
CASES += [("method", "call"), ("property", "call"), ("agen", "call"), ("steps", "call")]
CASES += [("born", "call")]  # an object with a birth home (DESIGN §3 rule 3)


@pytest.mark.timeout(600)
@pytest.mark.parametrize("loops", sorted(LOOPS))
@pytest.mark.parametrize(("flavour", "phase"), [*CASES, ("sync_form", "call")])
def test_ctrl_c_at_every_instant_in_sync_code(flavour: str, phase: str, loops: str) -> None:
    """`with obj:` (the sync twins of `__aenter__`/`__aexit__`), `with
    obj.session():` (an @asynccontextmanager method), `obj.work()` and
    `obj.work.sync()`, the async property `obj.value`, `for x in obj.items()` (an async generator
    method) and `for x in obj` (the twin of `__anext__`), in sync code."""
    _sweep(flavour, phase, "sync", loops)


@pytest.mark.timeout(600)
@pytest.mark.asyncio
@pytest.mark.parametrize(("flavour", "phase"), CASES)
async def test_ctrl_c_at_every_instant_in_async_code(flavour: str, phase: str) -> None:
    """The same in async code under asyncio.run, whose own handler cancels
    the main task: the exit and the cleanup still run, KeyboardInterrupt
    still comes out."""
    await asyncio.to_thread(_sweep, flavour, phase, "async", "inline")
