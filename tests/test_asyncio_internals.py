"""asyncio's private parts behind one module (`_asyncio_internals`): its table
names every one, nothing else reaches them, and the fallbacks work, forced
by the environment or chosen on a Python newer than the newest one read.

The whole runtime suite also runs once with the fallbacks forced (CI's
`.ci/other_pythons.py`); the tests here check the switch itself and the
main paths in a fresh interpreter, whatever the environment of this run.
"""

from __future__ import annotations

import asyncio
import json
import re
import sys
import textwrap
from pathlib import Path

import pytest

from smartasync import _asyncio_internals

from .conftest import ROOT, run_python

_TABLE_ROW = re.compile(r"^\| (\S.*?) +\|(.*)\|$", re.MULTILINE)


def _table() -> dict[str, list[str]]:
    doc = _asyncio_internals.__doc__ or ""
    rows = {
        name: [cell.strip() for cell in cells.split("|")] for name, cells in _TABLE_ROW.findall(doc)
    }
    rows.pop("internal", None)  # the header
    rows.pop("-" * 32, None)
    return {name: cells for name, cells in rows.items() if not set(name) <= {"-"}}


def test_every_internal_of_the_module_has_a_row_in_the_table() -> None:
    table = _table()
    assert set(table) == set(_asyncio_internals.report())
    for name, cells in table.items():
        # 3.11 .. 3.15, then the fallback, which is never left blank.
        assert len(cells) == 6, name
        assert all(cells), name
        assert cells[4] == "check", f"{name}: 3.15 is newer than CHECKED_UP_TO, so checked"


def test_checked_up_to_is_the_newest_column_read_and_run() -> None:
    versions = [(3, minor) for minor in range(11, 16)]
    for name, cells in _table().items():
        # "yes"/"no" (or a note) up to CHECKED_UP_TO, never "check" or "read".
        trusted = [
            v for v, cell in zip(versions, cells[:5], strict=True) if cell not in ("read", "check")
        ]
        assert max(trusted) == _asyncio_internals.CHECKED_UP_TO, name


# What the library may write where (a fast path inlines these; every other
# use goes through the module).  The pattern finds asyncio's private names,
# as attributes (`loop._run_once`, `asyncio._get_running_loop`) or as strings
# (`getattr(loop, "_thread_id")`).
_PRIVATE = re.compile(
    r"(?:asyncio\.|\.|[\"'])(_(?:get_running_loop|set_running_loop|run_once|stopping|thread_id"
    r"|debug|closed|task_factory|asyncgens|default_executor|asyncgen_firstiter_hook"
    r"|asyncgen_finalizer_hook|log_destroy_pending|on_sigint|run_forever_setup"
    r"|run_forever_cleanup))\b"
)
_INLINED: dict[str, set[str]] = {
    # `_lead`'s inline run, where `_asyncio_internals.INLINE` allows it.
    "_engine.py": {"_debug", "_closed", "_task_factory", "_thread_id", "_run_once", "_stopping"},
    # When a loop may be run inline, and the hooks it then installs.
    "_eager.py": {
        "_debug",
        "_closed",
        "_task_factory",
        "_thread_id",
        "_asyncgen_firstiter_hook",
        "_asyncgen_finalizer_hook",
        "_run_forever_setup",
        "_run_forever_cleanup",
    },
}
# Not wired to the module yet (being restructured by another change); each
# should take `running_loop` and `HOT_BY_THREAD` from `_asyncio_internals`,
# and then leave this list.
_NOT_YET_WIRED: dict[str, set[str]] = {
    # The generated fast path's 3.11 home test reads `loop._thread_id`, only
    # where _asyncio_internals.HOT_BY_THREAD allows it; _modes names it.
    "_rule.py": {"_thread_id"},
    "_modes.py": {"_get_running_loop", "_thread_id"},
}


def test_no_other_module_reaches_asyncio_internals() -> None:
    runtime = ROOT / "smartasync"
    found: dict[str, set[str]] = {}
    for path in sorted(runtime.glob("*.py")):
        if path.name in ("_asyncio_internals.py", "mypy.py") or path.name.startswith("_stub"):
            continue
        code = "\n".join(
            line.split("#", 1)[0] for line in path.read_text(encoding="utf-8").splitlines()
        )
        names = set(_PRIVATE.findall(code))
        allowed = _INLINED.get(path.name, set()) | _NOT_YET_WIRED.get(path.name, set())
        if names - allowed:
            found[path.name] = names - allowed
    assert not found, "asyncio internals outside _asyncio_internals: " + repr(found)


_REPORT = """\
import json, sys
from smartasync import _asyncio_internals as m
print(json.dumps({
    "forced": m.FORCED, "trusted": m.TRUSTED, "inline": m.INLINE,
    "eager": m.EAGER_START, "hot_by_thread": m.HOT_BY_THREAD, "used": m.report(),
}))
"""


def _report(code: str, forced: str) -> dict[str, object]:
    result = run_python(code, env={_asyncio_internals.ENV_VAR: forced}, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    answer: dict[str, object] = json.loads(result.stdout.splitlines()[-1])
    return answer


def test_the_environment_variable_forces_every_fallback() -> None:
    """Every exact fallback; the two internals without one are checked (and
    here pass the check)."""
    answer = _report(_REPORT, "1")
    assert answer["forced"] is True
    assert answer["trusted"] is False
    assert answer["inline"] is answer["eager"] is answer["hot_by_thread"] is False
    used = answer["used"]
    assert isinstance(used, dict)
    assert [name for name, on in used.items() if on] == list(_asyncio_internals._NO_EXACT_FALLBACK)


def test_on_a_version_read_every_internal_is_used() -> None:
    answer = _report(_REPORT, "0")
    assert answer["trusted"] is True
    assert answer["eager"] is (sys.version_info >= (3, 12))
    assert answer["hot_by_thread"] is (sys.version_info < (3, 12))
    used = answer["used"]
    assert isinstance(used, dict)
    assert [name for name, on in used.items() if not on] == (
        [] if sys.version_info >= (3, 12) else ["Task(eager_start=True)"]
    )


# A newer Python than CHECKED_UP_TO, simulated: the module reads the version
# when it is imported (asyncio is imported first, with the real one).
_NEWER = """\
import asyncio, sys
sys.version_info = (3, 99, 0, "final", 0)
"""


def test_a_newer_python_uses_what_the_checks_prove() -> None:
    """On this interpreter every internal behaves as read, so the checks
    prove all of them (but `eager_start`, which 3.11's Task lacks)."""
    answer = _report(_NEWER + _REPORT, "0")
    assert answer["trusted"] is False
    assert answer["hot_by_thread"] is False  # never on a version not read
    used = answer["used"]
    assert isinstance(used, dict)
    unproven = [name for name, on in used.items() if not on]
    assert unproven == ([] if sys.version_info >= (3, 12) else ["Task(eager_start=True)"])


def test_a_newer_python_falls_back_where_a_check_fails() -> None:
    """An internal that is no longer what was read (here `Runner._on_sigint`
    with another signature) gets its fallback; the others are kept, and a
    sync call and an await still work, asyncio.run's handler recognised."""
    code = _NEWER + textwrap.dedent(
        """
        _on_sigint = asyncio.Runner._on_sigint
        def _changed(self, signum, frame, main_task, extra=None):
            return _on_sigint(self, signum, frame, main_task)
        asyncio.Runner._on_sigint = _changed
        """
    )
    answer = _report(code + _SCENARIO + _REPORT, "0")
    used = answer["used"]
    assert isinstance(used, dict)
    assert used.pop("asyncio.Runner._on_sigint") is False
    assert used.pop("Task(eager_start=True)") is (sys.version_info >= (3, 12))
    assert all(used.values()), used


# A sync call, an await, a nested blocking call, an async generator left
# early, the default executor, and an exception, each checked in the child.
_SCENARIO = """\
import asyncio, signal, threading
from smartasync import SmartAsync, _asyncio_internals as m

class Service(SmartAsync):
    async def value(self, x):
        await asyncio.sleep(0)
        return x * 2

    async def nested(self, x):
        return helper(self, x)  # a blocking call from code on a loop

    async def numbers(self):
        for i in range(5):
            yield i

    async def worker_thread(self):
        return await asyncio.to_thread(lambda: threading.current_thread().name)

    async def fail(self):
        raise LookupError("missing")

def helper(service, x):
    return service.value(x) + 1

def sync_side():
    s = Service()
    assert s.value(2) == 4
    assert s.nested(3) == 7
    for i in s.numbers():
        if i == 2:
            break
    assert s.worker_thread()
    try:
        s.fail()
    except LookupError:
        pass
    else:
        raise AssertionError("no LookupError")

async def async_side():
    assert m.is_runner_handler(signal.getsignal(signal.SIGINT))
    s = Service()
    assert await s.value(5) == 10
    assert helper(s, 1) == 3  # a sync helper inside async code
    assert await s.nested(4) == 9
    assert [i async for i in s.numbers()] == [0, 1, 2, 3, 4]

sync_side()
asyncio.run(async_side())
sync_side()  # after asyncio.run: the sync loop goes on
"""


def test_sync_calls_with_the_fallbacks_forced() -> None:
    answer = _report(_SCENARIO + _REPORT, "1")
    assert answer["inline"] is False


@pytest.mark.asyncio
async def test_awaits_with_the_fallbacks_forced() -> None:
    """From inside a running loop: the awaited calls, the sync helper that
    goes to the sync loop's driver thread, and asyncio.run's SIGINT handler
    recognised without its private name."""
    code = textwrap.dedent(
        """
        import asyncio, signal
        from smartasync import SmartAsync, _asyncio_internals as m

        class Service(SmartAsync):
            async def value(self, x):
                await asyncio.sleep(0)
                return x + 1

        def helper(s):
            return s.value(1)

        async def main():
            s = Service()
            assert await s.value(1) == 2
            assert helper(s) == 2
            assert m.running_loop() is asyncio.get_running_loop()
            assert m.is_runner_handler(signal.getsignal(signal.SIGINT))
            return "ok"

        assert m.FORCED and not m.INLINE
        assert m.running_loop() is None
        print(asyncio.run(main()))
        """
    )
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-W",
        "error",
        "-c",
        code,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        cwd=str(ROOT),
        env=_child_env("1"),
    )
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 0, err.decode()
    assert out.decode().split() == ["ok"]
    assert err == b""


@pytest.mark.asyncio
async def test_the_running_loop_reader_answers_alike_in_async_code() -> None:
    """In this interpreter, whichever reader it got."""
    assert _asyncio_internals.running_loop() is asyncio.get_running_loop()


def test_the_running_loop_reader_answers_none_outside_a_loop() -> None:
    assert _asyncio_internals.running_loop() is None


def _child_env(forced: str) -> dict[str, str]:
    import os

    env = {k: v for k, v in os.environ.items() if k != "PYTHONASYNCIODEBUG"}
    env["PYTHONPATH"] = str(Path(ROOT))
    env[_asyncio_internals.ENV_VAR] = forced
    return env
