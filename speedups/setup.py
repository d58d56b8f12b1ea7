"""The C accelerator's build.  A compiler error is not fatal: the
distribution then installs without the extension, and smartasync (which
imports it only if present) runs pure Python, as it does without this
distribution.  SMARTASYNC_SPEEDUPS_REQUIRED=1 makes a build failure fail
the install instead (the test command sets it, so that CI cannot silently
test pure Python twice)."""

from __future__ import annotations

import os
import sys

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext


class OptionalBuildExt(build_ext):
    def run(self) -> None:
        try:
            super().run()
        except Exception as exc:  # the compiler itself missing: DistutilsPlatformError, ...
            self._give_up(exc)

    def build_extension(self, ext: Extension) -> None:
        try:
            super().build_extension(ext)
        except Exception as exc:  # CompileError, LinkError
            self._give_up(exc)

    def _give_up(self, exc: Exception) -> None:
        if os.environ.get("SMARTASYNC_SPEEDUPS_REQUIRED") == "1":
            raise exc
        sys.stderr.write(
            f"smartasync-speedups: the C extension was not built ({exc}); "
            "smartasync will run in pure Python.\n"
        )


setup(
    ext_modules=[
        Extension(
            "_smartasync_speedups",
            ["_smartasync_speedups.c"],
        )
    ],
    cmdclass={"build_ext": OptionalBuildExt},
)
