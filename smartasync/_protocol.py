"""The rules shared by the runtime, the stub generator and the mypy plugin.

Which async protocol methods get a sync twin, and which names are never made
dual, are one decision: if the runtime adds `__enter__` for `__aenter__`, the
stubs and the plugin must say so too.  So the table lives here, in a module
that imports nothing (the mypy plugin imports it without pulling the runtime
in, and the runtime never imports mypy).
"""

from __future__ import annotations

from typing import Final

# (async protocol method, its sync twin).  The runtime pairs each with the
# twin's implementation in `_class`; stubgen and the plugin declare the twin
# with the async method's signature and its awaited return type.
TWINS: Final = (
    ("__aenter__", "__enter__"),
    ("__aexit__", "__exit__"),
    ("__aiter__", "__iter__"),
    ("__anext__", "__next__"),
)

# sync twin -> its async original
TWIN_OF: Final = {sync: async_ for async_, sync in TWINS}


def is_dunder(name: str) -> bool:
    """Dunder names are protocol methods: never made dual (Python looks them up
    on the type and calls them one way), only twinned (TWINS)."""
    return len(name) > 4 and name[:2] == "__" and name[-2:] == "__"


def is_public_inherited(name: str) -> bool:
    """An async method inherited from a base that is not smart is made dual
    when its name is public; private helpers of a third-party base are left
    as they are (they are called by that base's own async code)."""
    return not name.startswith("_")
