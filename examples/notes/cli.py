"""The command line: plain functions that call the methods of `Notes` with no `await`.

    python -m examples.notes add "Buy milk" --body "and bread"
    python -m examples.notes list
    python -m examples.notes get 1
    python -m examples.notes delete 1
    python -m examples.notes import https://example.org/ https://example.com/
    python -m examples.notes serve --host 127.0.0.1 --port 8000
    python -m examples.notes demo

Exit status: 0 on success, 1 when the service refuses (unknown id, bad
input, a page that cannot be fetched), 2 for a usage error.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Sequence
from typing import TextIO

from .service import Note, Notes, NotesError

DEFAULT_DB = os.environ.get("NOTES_DB", "notes.db")


class ProgressBar:
    """A one-line text progress bar: `[#######.............]  3/10  label`.

    On a terminal it redraws in place; otherwise (a pipe, a log) it writes
    only the final line, so captured output stays readable.
    """

    def __init__(
        self, total: int, stream: TextIO = sys.stderr, width: int = 30, indent: str = ""
    ) -> None:
        self.total, self.done, self.stream, self.width, self.indent = (
            total,
            0,
            stream,
            width,
            indent,
        )
        self.live = stream.isatty()
        self.label = ""
        if self.live:
            self.draw()

    def advance(self, label: str = "") -> None:
        self.done += 1
        self.label = label
        if self.live:
            self.draw()

    def draw(self) -> None:
        filled = self.width * self.done // max(self.total, 1)
        bar = "#" * filled + "." * (self.width - filled)
        count = f"{self.done:>{len(str(self.total))}}/{self.total}"
        line = f"{self.indent}[{bar}] {count}  {self.label[:40]:<40}"
        self.stream.write(f"\r{line}" if self.live else line.rstrip())
        self.stream.flush()

    def finish(self) -> None:
        self.label = "done"
        self.draw()
        self.stream.write("\n")
        self.stream.flush()


def show(note: Note, as_json: bool) -> None:
    if as_json:
        print(json.dumps(note.to_dict()))
    else:
        source = f"  <{note.url}>" if note.url else ""
        print(f"#{note.id}  {note.title}{source}")


# -- command handlers: each calls the service synchronously ------------------


def cmd_add(notes: Notes, args: argparse.Namespace) -> int:
    show(notes.add(args.title, args.body), args.json)
    return 0


def cmd_list(notes: Notes, args: argparse.Namespace) -> int:
    found = notes.list_notes(args.search, args.limit)
    if args.json:
        print(json.dumps([note.to_dict() for note in found]))
    else:
        for note in found:
            show(note, False)
        print(f"({len(found)} note{'s' if len(found) != 1 else ''})")
    return 0


def cmd_get(notes: Notes, args: argparse.Namespace) -> int:
    note = notes.get(args.id)
    if args.json:
        show(note, True)
    else:
        show(note, False)
        if note.body:
            print(note.body)
    return 0


def cmd_delete(notes: Notes, args: argparse.Namespace) -> int:
    note = notes.delete(args.id)
    print(f"deleted #{note.id}  {note.title}")
    return 0


def cmd_import(notes: Notes, args: argparse.Namespace) -> int:
    bar = ProgressBar(len(args.urls))
    failed: list[str] = []
    imported: list[Note] = []
    # An async generator method, iterated by a plain `for`: the fetches run
    # concurrently on this thread's loop between steps.
    for result in notes.import_many(args.urls, args.concurrency):
        bar.advance(result.url)
        if result.note is not None:
            imported.append(result.note)
        else:
            failed.append(f"{result.error}")
    bar.finish()
    for note in sorted(imported, key=lambda n: n.id):
        show(note, args.json)
    for error in failed:
        print(f"error: {error}", file=sys.stderr)
    print(f"imported {len(imported)} of {len(args.urls)}", file=sys.stderr)
    return 1 if failed else 0


def cmd_serve(args: argparse.Namespace) -> int:
    from .api import serve

    serve(args.db or DEFAULT_DB, args.host, args.port)
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from .demo import run_demo

    return run_demo(args.db)


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="python -m examples.notes",
        description="Notes in a SQLite file: one smartasync class behind a CLI and an HTTP API.",
    )
    top.add_argument("--db", default=None, help=f"SQLite file (default: $NOTES_DB or {DEFAULT_DB})")
    sub = top.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, handler: Callable[..., int], help: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help, description=help)
        p.set_defaults(handler=handler)
        return p

    def json_flag(p: argparse.ArgumentParser) -> None:
        p.add_argument("--json", action="store_true", help="print JSON")

    p = command("add", cmd_add, "add a note")
    p.add_argument("title")
    p.add_argument("--body", default="")
    json_flag(p)

    p = command("list", cmd_list, "list notes")
    p.add_argument("--search", "-s", default=None, help="only notes containing this text")
    p.add_argument("--limit", type=int, default=100)
    json_flag(p)

    p = command("get", cmd_get, "show one note")
    p.add_argument("id", type=int)
    json_flag(p)

    p = command("delete", cmd_delete, "delete one note")
    p.add_argument("id", type=int)

    p = command(
        "import", cmd_import, "import web pages as notes (title and text), with a progress bar"
    )
    p.add_argument("urls", nargs="+", metavar="URL")
    p.add_argument("--concurrency", type=int, default=4)
    json_flag(p)

    p = command("serve", cmd_serve, "serve the HTTP API with uvicorn")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)

    command("demo", cmd_demo, "a two-second tour: CLI calls and the HTTP API on one database")
    return top


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if args.command in {"serve", "demo"}:
        return int(args.handler(args))
    try:
        # `with`, not `async with`: the sync twin of Notes.__aenter__/__aexit__.
        with Notes(args.db or DEFAULT_DB) as notes:
            return int(args.handler(notes, args))
    except NotesError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
