"""The optional C accelerator (DESIGN §8): loaded here or not at all.

`_smartasync_speedups` is a companion distribution (`speedups/` in the
repository, `smartasync-speedups` once published).  When it is importable,
`_dual` builds `DualFunction` and `DualBound` on its C base types, and a
specialised method is bound and called in C (its fast path, the generated
`__call__`'s, is the C vectorcall; everything else stays Python).  Without
it every behaviour is the same, only slower.

It is not loaded when:
* `SMARTASYNC_NO_EXTENSIONS=1` (the aiohttp/yarl/multidict convention);
* the interpreter is a free-threaded build: the module declares nothing about
  running without the GIL, and nobody has verified that it can;
* it is not CPython, or the module's ABI number is not the one this code was
  written for (a companion from another smartasync version);
* importing it fails for any reason (a wheel built for another Python, a
  subinterpreter that refuses single-phase modules);
* another interpreter of this process uses it (its C state is per process:
  a legacy subinterpreter shares it with the main one).
`WHY_NOT` says which, for tests and bug reports (`python -m smartasync info`).
"""

from __future__ import annotations

import os
import sys
from types import ModuleType
from typing import Final

# The C module's ABI number (its `ABI` constant) that this code is written for.
ABI: Final = 2
ENV: Final = "SMARTASYNC_NO_EXTENSIONS"


def _free_threaded() -> bool:
    # Free-threaded builds exist from 3.13 on; before, sysconfig (and its
    # build data, ~1.7 ms) is not imported just to say no.
    if sys.version_info < (3, 13):
        return False
    import sysconfig

    return bool(sysconfig.get_config_var("Py_GIL_DISABLED"))


# A free-threaded build of Python (whether or not the GIL is on right now).
FREE_THREADED: Final = _free_threaded()


def _load() -> tuple[ModuleType | None, str]:
    if os.environ.get(ENV, "") not in ("", "0"):
        return None, f"{ENV} is set"
    if sys.implementation.name != "cpython":  # (not `platform`: ~2 ms to import)
        return None, f"not CPython ({sys.implementation.name})"
    if FREE_THREADED:
        return None, "a free-threaded build: the accelerator is not verified without the GIL"
    try:
        # (an extension module without stubs: typed as Any here)
        import _smartasync_speedups as module  # type: ignore[import-not-found,unused-ignore]
    except ImportError as exc:
        return None, f"not installed ({exc})"
    found = getattr(module, "ABI", None)
    if found != ABI:
        return None, f"its ABI is {found}, this smartasync needs {ABI}: reinstall it"
    if not module.usable():
        # Its C state serves one interpreter; a legacy subinterpreter (one
        # per WSGI application under mod_wsgi) shares the loaded module.
        return None, "in use by another interpreter of this process"
    return module, ""


speedups, WHY_NOT = _load()
ACTIVE: Final = speedups is not None
