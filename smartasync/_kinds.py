"""What an `async def` is, as far as smartasync is concerned: its *kind*.

The kind decides the shape of the sync face: a coroutine function's sync call
returns the value, an async generator function's a plain iterator, an
`@asynccontextmanager` function's a `with`-able context manager.
"""

from __future__ import annotations

import contextlib
import inspect
from collections.abc import AsyncIterator
from inspect import CO_ASYNC_GENERATOR, CO_COROUTINE
from types import FunctionType
from typing import Final, Literal, TypeAlias

Kind: TypeAlias = Literal["coroutine", "async generator", "async context manager"]

# Compared with `is` on the hot path: every dual callable holds one of these
# very objects.
COROUTINE: Final[Kind] = "coroutine"
ASYNCGEN: Final[Kind] = "async generator"
CONTEXT_MANAGER: Final[Kind] = "async context manager"


async def _probe() -> AsyncIterator[None]:
    yield


# Every @asynccontextmanager function shares its helper's code object: the one
# exact test for "made with asynccontextmanager".
ACM_HELPER_CODE: Final = contextlib.asynccontextmanager(_probe).__code__


def kind_of(fn: object) -> Kind | None:
    """Which dual shape `fn` has, or None if it is not something we make dual."""
    if type(fn) is FunctionType:  # the common case, read straight from the flags
        code = fn.__code__
        if code is ACM_HELPER_CODE:
            return CONTEXT_MANAGER
        flags = code.co_flags
        if flags & CO_ASYNC_GENERATOR:
            return ASYNCGEN
        if flags & CO_COROUTINE:
            return COROUTINE
        if not hasattr(fn, "_is_coroutine_marker"):  # inspect.markcoroutinefunction
            return None
    if getattr(fn, "__code__", None) is ACM_HELPER_CODE:
        return CONTEXT_MANAGER  # a @contextlib.asynccontextmanager function
    if inspect.isasyncgenfunction(fn):
        return ASYNCGEN
    if inspect.iscoroutinefunction(fn):
        return COROUTINE
    return None
