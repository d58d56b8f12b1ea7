"""`python -m examples.notes demo`: the CLI side and the API side on one database.

No network needed: the API runs on a free loopback port in a background
thread, and the pages imported are the API's own HTML views of notes.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

import httpx

from smartasync import SmartAsync

from .api import serve_in_thread
from .cli import ProgressBar
from .service import Notes, NotFound


class Web(SmartAsync, httpx.AsyncClient):
    """httpx's async client made dual by inheritance: `with Web() as web: web.get(...)`."""


def step(call: str, result: object) -> None:
    print(f"   {call:<46} -> {result}")


def response(r: httpx.Response) -> str:
    if r.status_code == 204:
        return "204"
    body = r.json()
    if isinstance(body, list):
        return f"{r.status_code} {[note['title'] for note in body]}"
    if "id" in body:
        return f"{r.status_code} #{body['id']} {body['title']}"
    return f"{r.status_code} {json.dumps(body)}"


def run_demo(db: str | None = None) -> int:
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="notes-demo-") as tmp:
        path = Path(db) if db else Path(tmp) / "notes.db"
        print("smartasync notes demo: one class, Notes, whose async methods sync code calls")
        print("directly and the HTTP API's handlers await. No method is written twice.\n")
        print(f"database  {path}")
        with serve_in_thread(path) as base:
            print(f"API       {base}  (Starlette + uvicorn in a background thread)\n")
            with Notes(path) as notes, Web(base_url=base) as web:
                _tour(notes, web, base)
        print(f"\ndone in {time.perf_counter() - started:.1f} s: API stopped, database closed.")
        print("Next: python -m examples.notes --help")
    return 0


def _tour(notes: Notes, web: Web, base: str) -> None:
    print("1. sync code calls the async methods, no await, no asyncio.run")
    for title, body in [("Buy milk", "and bread"), ("Call Ada", "about the demo")]:
        note = notes.add(title, body)
        step(f"notes.add({title!r}, {body!r})", f"#{note.id} {note.title}")

    print("2. the API reads and writes the same file (httpx, over loopback)")
    step("GET  /notes", response(web.get("/notes")))
    step(
        'POST /notes {"title": "Water the plants"}',
        response(web.post("/notes", json={"title": "Water the plants"})),
    )

    print("3. sync code sees what the API wrote")
    step("notes.list_notes()", [note.title for note in notes.list_notes()])

    print("4. import web pages: the API's HTML view of each note, 3 at a time")
    urls = [f"{base}/notes/{note.id}.html" for note in notes.list_notes()]
    bar = ProgressBar(len(urls), stream=sys.stdout, width=24, indent="   ")
    imported = []
    for result in notes.import_many(urls, concurrency=3):  # an async generator, iterated by `for`
        bar.advance(result.url.removeprefix(base))
        if result.note is not None:
            imported.append(result.note)
    bar.finish()
    step("notes.import_many(urls)", ", ".join(f"#{n.id} {n.title}" for n in imported))

    print("5. bad input is refused on both sides, and nothing is written")
    before = notes.count()
    step("GET  /notes/999", response(web.get("/notes/999")))
    step("POST /notes '{oops'", response(web.post("/notes", content=b"{oops")))
    step('POST /notes {"title": ""}', response(web.post("/notes", json={"title": ""})))
    try:
        notes.get(999)
    except NotFound as exc:
        step("notes.get(999)", f"NotFound: {exc}")
    step("notes.count()", f"{notes.count()} (was {before})")

    print("6. delete through the API; gone for sync code too")
    step("DELETE /notes/1", response(web.delete("/notes/1")))
    try:
        notes.get(1)
    except NotFound as exc:
        step("notes.get(1)", f"NotFound: {exc}")
