"""The HTTP API: Starlette handlers that `await` the methods of `Notes`.

The handlers only translate between HTTP and the service: parse the request,
await one method, turn the result or the service's error into a response.
"""

from __future__ import annotations

import contextlib
import html
import json
import threading
import time
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from .service import FetchError, InvalidNote, Notes, NotesError, NotFound

_Handler = Callable[[Request], Coroutine[Any, Any, Response]]


def create_app(db_path: str | Path) -> Starlette:
    """The API over the notes in `db_path`, one `Notes` for the app's lifetime."""

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with Notes(db_path) as notes:
            app.state.notes = notes
            yield

    def notes_of(request: Request) -> Notes:
        notes: Notes = request.app.state.notes
        return notes

    async def list_notes(request: Request) -> Response:
        search = request.query_params.get("q")
        try:
            limit = int(request.query_params.get("limit", "100"))
        except ValueError:
            return _error(422, "limit must be an integer")
        notes = await notes_of(request).list_notes(search, limit)
        return JSONResponse([note.to_dict() for note in notes])

    async def add_note(request: Request) -> Response:
        data = await _json_object(request, required={"title"}, optional={"body"})
        note = await notes_of(request).add(data["title"], data.get("body", ""))
        return JSONResponse(note.to_dict(), status_code=201)

    async def get_note(request: Request) -> Response:
        note = await notes_of(request).get(request.path_params["note_id"])
        return JSONResponse(note.to_dict())

    async def note_page(request: Request) -> Response:
        note = await notes_of(request).get(request.path_params["note_id"])
        body = "".join(f"<p>{html.escape(line)}</p>\n" for line in note.body.splitlines())
        return HTMLResponse(
            f"<!doctype html>\n<html><head><title>{html.escape(note.title)}</title></head>\n"
            f"<body><h1>{html.escape(note.title)}</h1>\n{body}</body></html>\n"
        )

    async def delete_note(request: Request) -> Response:
        await notes_of(request).delete(request.path_params["note_id"])
        return Response(status_code=204)

    async def import_url(request: Request) -> Response:
        data = await _json_object(request, required={"url"})
        note = await notes_of(request).import_url(data["url"])
        return JSONResponse(note.to_dict(), status_code=201)

    async def service_error(request: Request, exc: Exception) -> Response:
        if isinstance(exc, NotFound):
            return _error(404, str(exc))
        if isinstance(exc, FetchError):
            return _error(502, str(exc))
        return _error(422, str(exc))

    return Starlette(
        routes=[
            Route("/notes", list_notes, methods=["GET"]),
            Route("/notes", add_note, methods=["POST"]),
            Route("/notes/{note_id:int}", get_note, methods=["GET"]),
            Route("/notes/{note_id:int}", delete_note, methods=["DELETE"]),
            Route("/notes/{note_id:int}.html", note_page, methods=["GET"]),
            Route("/import", import_url, methods=["POST"]),
        ],
        exception_handlers={NotesError: service_error},
        lifespan=lifespan,
    )


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


async def _json_object(
    request: Request, required: set[str], optional: frozenset[str] | set[str] = frozenset()
) -> dict[str, str]:
    """The request body as a JSON object of string fields.

    Raises:
        InvalidNote: (answered with 422) the body is not such an object.
    """
    try:
        data = json.loads(await request.body())
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidNote(f"the request body is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise InvalidNote("the request body must be a JSON object")
    missing = sorted(required - data.keys())
    if missing:
        raise InvalidNote(f"missing field(s): {', '.join(missing)}")
    unknown = sorted(data.keys() - required - optional)
    if unknown:
        raise InvalidNote(f"unknown field(s): {', '.join(unknown)}")
    wrong = sorted(key for key, value in data.items() if not isinstance(value, str))
    if wrong:
        raise InvalidNote(f"field(s) must be strings: {', '.join(wrong)}")
    return data


def serve(db_path: str | Path, host: str, port: int, log_level: str = "info") -> None:
    """Serve the API until Ctrl-C (blocking)."""
    uvicorn.run(create_app(db_path), host=host, port=port, log_level=log_level)


@contextlib.contextmanager
def serve_in_thread(db_path: str | Path, host: str = "127.0.0.1", port: int = 0) -> Iterator[str]:
    """Run the API with uvicorn in a background thread; yield its base URL.

    `port=0` picks a free port.  The server is stopped and its thread joined
    on exit from the block.
    """
    config = uvicorn.Config(create_app(db_path), host=host, port=port, log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="notes-api", daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            thread.join(5)
            raise RuntimeError(f"the notes API did not start on {host}:{port}")
        time.sleep(0.01)
    bound_port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://{host}:{bound_port}"
    finally:
        server.should_exit = True
        thread.join(15)
