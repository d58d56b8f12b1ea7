"""smartasync: write an `async def` once, call it from sync code and from async code."""

from __future__ import annotations

from ._api import async_only as async_only
from ._api import get_mode as get_mode
from ._api import set_mode as set_mode
from ._api import smartasync as smartasync
from ._class import SmartAsync as SmartAsync
from ._loops import set_loop_factory as set_loop_factory
from ._modes import Mode as Mode
from ._runner import set_hang_warning as set_hang_warning

__version__ = "1.0.0a1"

__all__ = [
    "Mode",
    "SmartAsync",
    "async_only",
    "get_mode",
    "set_hang_warning",
    "set_loop_factory",
    "set_mode",
    "smartasync",
]
