"""A notes service written once with `async def`, behind a CLI and an HTTP API.

python -m examples.notes demo      # the two-second tour
python -m examples.notes --help    # the CLI
"""

from __future__ import annotations

from .api import create_app as create_app
from .api import serve_in_thread as serve_in_thread
from .service import FetchError as FetchError
from .service import ImportResult as ImportResult
from .service import InvalidNote as InvalidNote
from .service import Note as Note
from .service import Notes as Notes
from .service import NotesError as NotesError
from .service import NotFound as NotFound

__all__ = [
    "FetchError",
    "ImportResult",
    "InvalidNote",
    "NotFound",
    "Note",
    "Notes",
    "NotesError",
    "create_app",
    "serve_in_thread",
]
