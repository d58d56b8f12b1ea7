"""mypy's incremental cache and the plugin: a changed plugin rechecks.

mypy notices an edit of the plugin's entry module (`smartasync/mypy.py`) by
itself; the plugin's rules also live in the smartasync modules it imports,
and a new smartasync brings new facades.  `report_config_data` puts a
fingerprint of those in every module's cache entry, so mypy rechecks a
module whose entry was written under another plugin.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("mypy")

ROOT = Path(__file__).resolve().parent.parent

APP = """\
from smartasync import SmartAsync


class Shop(SmartAsync):
    async def count(self) -> int:
        return 1


total: int = Shop().count()
"""


def _mypy(project: Path) -> str:
    """mypy -v on the project, the plugin imported from its copy of
    smartasync; the log (stderr), after checking that nothing was reported."""
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "-v", "--config-file", "mypy.ini", "app.py"],
        cwd=project,
        env={"PYTHONPATH": str(project / "site"), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout + result.stderr[-3000:]
    return result.stderr


@pytest.fixture
def project(tmp_path: Path) -> Path:
    shutil.copytree(
        ROOT / "smartasync",
        tmp_path / "site" / "smartasync",
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    (tmp_path / "app.py").write_text(APP)
    (tmp_path / "mypy.ini").write_text(
        "[mypy]\nstrict = True\nplugins = smartasync.mypy\nmypy_path = site\n"
    )
    return tmp_path


def test_a_changed_plugin_module_rechecks_the_cache(project: Path) -> None:
    first = _mypy(project)
    assert "Metadata abandoned for app" not in first or "plugin configuration" not in first
    again = _mypy(project)
    assert "Metadata fresh for app" in again, again[-3000:]  # the cache is used as it is
    protocol = project / "site" / "smartasync" / "_protocol.py"
    protocol.write_text(protocol.read_text() + "\n# a rule changed\n")
    changed = _mypy(project)
    assert "Metadata abandoned for app: plugin configuration differs" in changed, changed[-3000:]


def test_the_fingerprint_names_the_version_and_the_sources() -> None:
    import smartasync
    from smartasync import mypy as plugin_module

    fingerprint = plugin_module._fingerprint()
    assert fingerprint.startswith(f"{smartasync.__version__}:")
    assert fingerprint == plugin_module._fingerprint()  # the same plugin, the same answer
