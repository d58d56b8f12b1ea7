"""Command line: `python -m smartasync stubgen MODULE_OR_PACKAGE [-o DIR] [--async-first] [--check]`,
`python -m smartasync info`."""

from __future__ import annotations

import sys
from collections.abc import Sequence

_USAGE = (
    "usage: python -m smartasync stubgen MODULE_OR_PACKAGE [...] [-o DIR] [--async-first] [--check]\n"
    "commands:\n"
    "  stubgen   write .pyi stubs typing dual methods for checkers without a plugin\n"
    "            (default directory typings/, where pyright and basedpyright look;\n"
    "            --check writes nothing and exits 1 with a diff if they are stale)\n"
    "  info      the version, the Python, and whether the C accelerator is in use\n"
    "            (and if not, why): for bug reports\n"
)


def main(argv: Sequence[str] | None = None) -> int:
    """Dispatch the subcommand; returns the exit status."""
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help"):
        sys.stdout.write(_USAGE)
        return 0 if args else 2
    if args[0] == "stubgen":
        from ._stubgen import main as stubgen

        return stubgen(args[1:])
    if args[0] == "info":
        return info()
    sys.stderr.write(f"python -m smartasync: unknown command {args[0]!r}\n{_USAGE}")
    return 2


def info() -> int:
    import platform

    from . import __file__ as where
    from . import __version__, _speedups

    threading = "free-threaded" if _speedups.FREE_THREADED else "with the GIL"
    accelerator = "active" if _speedups.ACTIVE else f"not in use ({_speedups.WHY_NOT})"
    sys.stdout.write(
        f"smartasync {__version__} ({where.rpartition('/')[0]})\n"
        f"Python {platform.python_version()} ({platform.python_implementation()}, {threading})\n"
        f"C accelerator: {accelerator}\n"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
