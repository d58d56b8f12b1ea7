"""The typing case corpus (tests/typing/) through mypy, with the plugin on and off.

Each case file says what mypy must report, on the line itself::

    client.get(1)  # E: Argument 1 to "__call__" of "DualBound" has ...  [arg-type]

and checks types with `assert_type(...)`, which mypy reports when it fails.
With the plugin (`plugins = smartasync.mypy`) the output must be exactly the
expected errors.  Without it, the bare call is `Any` (no checker can type it
without knowing the caller), so the output is compared with a golden file
under tests/typing/expected/mypy-noplugin/; regenerate those with
`SMARTASYNC_UPDATE_GOLDEN=1 python -m pytest tests/test_mypy_plugin.py`.
The explicit forms (`case_explicit.py`) must pass identically without it.
"""

from __future__ import annotations

import gc
import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

mypy_api = pytest.importorskip("mypy.api")

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "tests" / "typing"
GOLDEN = CORPUS / "expected" / "mypy-noplugin"
UPDATE = os.environ.get("SMARTASYNC_UPDATE_GOLDEN") == "1"
CASES = sorted(p.name for p in CORPUS.glob("case_*.py"))
# The shop application: a library and the sync and async code that uses it,
# written as a user would (the same files go through pyright, pyrefly and ty
# on generated stubs).  Its `# E:` lines carry mypy's message with the plugin.
APP = ["shoplib.py", "shop_cli.py", "shop_api.py"]
FILES = ["plainlib.py", "smartlib.py", *CASES, *APP]

# What the plugin still gets wrong, each a strict xfail that says why.
KNOWN_WRONG: dict[str, str] = {}

_EXPECT = re.compile(r"#\s*E:\s*(.+?)(?=\s+#\s*E:|$)")
_LINE = re.compile(r"^(?P<file>[^:]+):(?P<line>\d+): (?P<severity>error|note): (?P<rest>.*)$")
# mypy before 2.x (python/mypy#21410) files "Too many positional arguments"
# under [misc]; the case files carry today's [call-arg].
_OLD_CODE = re.compile(r"^(Too many positional arguments .*)  \[misc\]$")


def _message(rest: str) -> str:
    return _OLD_CODE.sub(r"\1  [call-arg]", rest)


def expected_errors(name: str) -> list[str]:
    """`line: message  [code]` for every `# E:` comment in a case file."""
    found = []
    for number, text in enumerate((CORPUS / name).read_text().splitlines(), 1):
        for match in _EXPECT.finditer(text):
            found.append(f"{number}: {match.group(1).strip()}")
    return found


def _config(tmp: Path, plugin: bool, mypy_path: Path = CORPUS) -> Path:
    lines = [
        "[mypy]",
        "python_version = 3.11",
        "strict = True",
        "warn_unused_ignores = True",
        "enable_error_code = ignore-without-code, redundant-expr, truthy-bool",
        f"mypy_path = {mypy_path}",
        "pretty = False",
        "show_column_numbers = False",
    ]
    if plugin:
        lines.append("plugins = smartasync.mypy")
    path = tmp / f"{'plugin' if plugin else 'noplugin'}-{mypy_path.name}.ini"
    path.write_text("\n".join(lines) + "\n")
    return path


def _modules() -> list[str]:
    # By module name on mypy_path: tests/ is a package, so by path these
    # files would be tests.typing.<name> and smartlib would be found twice.
    return [arg for name in FILES for arg in ("-m", name.removesuffix(".py"))]


def run_mypy(config: Path, cache: Path) -> dict[str, list[str]]:
    """Run mypy on the corpus; errors per file as `line: message  [code]`."""
    stdout, stderr, _status = mypy_api.run(
        [
            "--config-file",
            str(config),
            "--cache-dir",
            str(cache),
            "--no-error-summary",
            *_modules(),
        ]
    )
    assert not stderr, stderr
    per_file: dict[str, list[str]] = {name: [] for name in FILES}
    for line in stdout.splitlines():
        match = _LINE.match(line)
        assert match is not None, f"unexpected mypy output: {line}"
        if match.group("severity") == "note":
            continue
        name = Path(match.group("file")).name
        per_file.setdefault(name, []).append(f"{match.group('line')}: {_message(match['rest'])}")
    return per_file


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("mypy-corpus")


@pytest.fixture(autouse=True, scope="module")
def _restore_the_garbage_collector() -> Iterator[None]:
    # mypy in-process raises the collector's thresholds for the whole process
    # (build.py: gc.set_threshold(200_000, ...)); later tests that rely on
    # objects being collected (thread loops) must not run under that.
    threshold = gc.get_threshold()
    yield
    gc.set_threshold(*threshold)
    gc.collect()


@pytest.fixture(scope="module")
def with_plugin(workdir: Path) -> dict[str, list[str]]:
    return run_mypy(_config(workdir, True), ROOT / ".mypy_cache" / "corpus-plugin")


@pytest.fixture(scope="module")
def without_plugin(workdir: Path) -> dict[str, list[str]]:
    return run_mypy(_config(workdir, False), ROOT / ".mypy_cache" / "corpus-noplugin")


def test_the_corpus_is_not_empty() -> None:
    assert len(CASES) >= 6
    assert sum(len(expected_errors(name)) for name in CASES) >= 20


@pytest.mark.parametrize(
    "name",
    [
        pytest.param(name, marks=pytest.mark.xfail(reason=KNOWN_WRONG[name]))
        if name in KNOWN_WRONG
        else name
        for name in FILES
    ],
)
def test_corpus_with_the_plugin(name: str, with_plugin: dict[str, list[str]]) -> None:
    assert with_plugin[name] == expected_errors(name)


@pytest.mark.parametrize("name", FILES)
def test_corpus_without_the_plugin(name: str, without_plugin: dict[str, list[str]]) -> None:
    golden = GOLDEN / name.replace(".py", ".txt")
    actual = "".join(f"{line}\n" for line in without_plugin[name])
    if UPDATE:
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text(actual)
    assert golden.exists(), f"no golden file {golden}; run with SMARTASYNC_UPDATE_GOLDEN=1"
    assert actual == golden.read_text()


def test_explicit_forms_need_no_plugin(without_plugin: dict[str, list[str]]) -> None:
    # All but one: `.aio(...)` is `types.CoroutineType` as the facades declare
    # it (what other checkers infer for an `async def`), and mypy's
    # unused-coroutine check knows `typing.Coroutine` only, which the plugin
    # gives it.  Without the plugin a forgotten await of `.aio(...)` is
    # mypy's `unused-awaitable` (off by default).
    expected = [
        line for line in expected_errors("case_explicit.py") if "[unused-coroutine]" not in line
    ]
    assert without_plugin["case_explicit.py"] == expected


def test_without_the_plugin_the_bare_call_is_any(without_plugin: dict[str, list[str]]) -> None:
    # What the plugin adds: without it, assert_type on a bare call sees Any.
    sync_scope = without_plugin["case_sync_scope.py"]
    assert any('Expression is of type "Any", not "int"' in line for line in sync_scope)


def test_the_incremental_cache_gives_the_same_answers(
    workdir: Path, with_plugin: dict[str, list[str]]
) -> None:
    cache = workdir / "incremental-cache"
    config = _config(workdir, True)
    first = run_mypy(config, cache)
    second = run_mypy(config, cache)  # everything from the cache this time
    assert first == second == with_plugin


def test_an_edited_file_checked_against_cached_libraries(
    workdir: Path, with_plugin: dict[str, list[str]]
) -> None:
    # The cases are rechecked while smartlib comes from the cache: what the
    # plugin recorded (smart classes, twins, dual methods) must survive it.
    corpus = workdir / "edited"
    shutil.copytree(CORPUS, corpus, ignore=shutil.ignore_patterns("expected"))
    config = _config(workdir, True, mypy_path=corpus)
    cache = workdir / "edited-cache"
    run_mypy(config, cache)
    for name in CASES:
        with (corpus / name).open("a") as case:
            case.write("\n# edited\n")
    assert run_mypy(config, cache) == with_plugin


def test_dmypy_gives_the_same_answers(workdir: Path, with_plugin: dict[str, list[str]]) -> None:
    status_file = workdir / "dmypy.json"
    config = _config(workdir, True)
    common = ["--status-file", str(status_file)]
    try:
        stdout, stderr, _ = mypy_api.run_dmypy(
            [
                *common,
                "run",
                "--",
                "--config-file",
                str(config),
                "--no-error-summary",
                *_modules(),
            ]
        )
    finally:
        mypy_api.run_dmypy([*common, "stop"])
    errors = []
    for line in stdout.splitlines():
        match = _LINE.match(line)
        if match is not None and match.group("severity") == "error":
            name = Path(match.group("file")).name
            errors.append(f"{name}:{match.group('line')}: {_message(match['rest'])}")
    expected = [f"{name}:{entry}" for name in FILES for entry in with_plugin[name]]
    assert sorted(errors) == sorted(expected), stdout + stderr


def test_the_plugin_declares_the_mypy_versions_it_supports() -> None:
    from smartasync import mypy as plugin_module

    low, high = plugin_module.SUPPORTED_MYPY
    assert plugin_module.plugin(f"{low[0]}.{low[1]}.0") is plugin_module.SmartAsyncPlugin
    with pytest.raises(RuntimeError, match=r"smartasync\.mypy supports mypy >= "):
        plugin_module.plugin("0.991")
    with pytest.raises(RuntimeError, match=r"remove `smartasync\.mypy` from `plugins`"):
        plugin_module.plugin(f"{high[0]}.{high[1]}.0")


def tally(actual: dict[str, list[str]], names: list[str]) -> dict[str, int]:
    """Expected errors found / missed, spurious errors, assert_type mismatches."""
    counts = dict.fromkeys(("found", "missed", "spurious", "assert_type mismatches"), 0)
    for name in names:
        expected = expected_errors(name)
        got = actual.get(name, [])
        counts["found"] += sum(1 for line in expected if line in got)
        counts["missed"] += sum(1 for line in expected if line not in got)
        for line in got:
            if line in expected:
                continue
            key = "assert_type mismatches" if "[assert-type]" in line else "spurious"
            counts[key] += 1
    return counts


if __name__ == "__main__":  # python tests/test_mypy_plugin.py: the corpus numbers
    import sys
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        result = run_mypy(_config(Path(tmp), True), Path(tmp) / "cache")
    for name in FILES:
        expected = expected_errors(name)
        for line in result.get(name, []):
            if line not in expected:
                print(f"unexpected {name}:{line}")
        for line in expected:
            if line not in result.get(name, []):
                print(f"missed     {name}:{line}")
    for label, names in (("corpus", FILES[: -len(APP)]), ("shop app", APP)):
        counts = tally(result, names)
        print(f"{label}: " + ", ".join(f"{key}: {value}" for key, value in counts.items()))
    sys.exit(0)
