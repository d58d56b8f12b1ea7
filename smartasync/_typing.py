"""Typing facades for dual callables: the types live in `_typing.pyi`.

Nothing here is used at run time by smartasync itself.  Generated stubs
(`python -m smartasync stubgen`) decorate dual methods with `sync_first` or
`async_first`, and the mypy plugin applies `dual` to the `async def` methods
of smart classes; these runtime versions exist only so that the names import.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "async_first",
    "async_first_classmethod",
    "async_first_method",
    "async_first_staticmethod",
    "dual",
    "sync_first",
    "sync_first_classmethod",
    "sync_first_method",
    "sync_first_staticmethod",
]


def dual(fn: Any, /) -> Any:
    """The type of `@smartasync` on a function (see `_typing.pyi`); returns `fn`."""
    return fn


def sync_first(fn: Any, /) -> Any:
    """For stubs: the bare call is typed as the result; returns `fn`."""
    return fn


def async_first(fn: Any, /) -> Any:
    """For stubs: the bare call is typed as the awaitable; returns `fn`."""
    return fn


sync_first_method = sync_first_classmethod = sync_first_staticmethod = sync_first
async_first_method = async_first_classmethod = async_first_staticmethod = async_first
