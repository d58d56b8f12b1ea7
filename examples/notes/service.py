"""The notes service: the one class that both the CLI and the HTTP API use.

Every method is written once, as an `async def`.  Because `Notes` inherits
from `SmartAsync`, the CLI (plain functions) calls them and gets the value,
and the Starlette handlers (`async def`) `await` them.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Iterable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path
from types import TracebackType
from typing import Any, Final

import aiosqlite
import httpx

from smartasync import SmartAsync

MAX_TITLE: Final = 200
MAX_BODY: Final = 10_000

_SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS notes (
    id      INTEGER PRIMARY KEY AUTOINCREMENT,
    title   TEXT NOT NULL,
    body    TEXT NOT NULL DEFAULT '',
    url     TEXT,
    created TEXT NOT NULL
)
"""


class NotesError(Exception):
    """Base of the errors the service raises on bad input; the message is for the user."""


class NotFound(NotesError):
    """No note has this id."""

    def __init__(self, note_id: int) -> None:
        super().__init__(f"no note with id {note_id}")
        self.note_id = note_id


class InvalidNote(NotesError):
    """The note's fields are not acceptable (empty title, too long, wrong type)."""


class FetchError(NotesError):
    """A URL could not be fetched for import."""


@dataclass(frozen=True)
class Note:
    id: int
    title: str
    body: str
    url: str | None
    created: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class ImportResult:
    """One URL of `import_many`: the note made from it, or why there is none."""

    url: str
    note: Note | None = None
    error: str | None = None


class Notes(SmartAsync):
    """Notes kept in a SQLite file, with import from web pages.

    The connection (aiosqlite) and the HTTP pool (httpx) are opened on first
    use and kept until `close()`, so sync callers reuse them across calls:
    smartasync runs every sync call of a thread on that thread's one loop.
    Use one instance per thread (the HTTP pool belongs to the loop that made it).

        with Notes("notes.db") as notes:          # sync code
            note = notes.add("Buy milk")

        async with Notes("notes.db") as notes:    # async code
            note = await notes.add("Buy milk")
    """

    def __init__(self, path: str | Path = "notes.db", *, timeout: float = 10.0) -> None:
        self.path = Path(path)
        self.timeout = timeout
        self._db: aiosqlite.Connection | None = None
        self._http: httpx.AsyncClient | None = None

    # -- lifecycle -----------------------------------------------------------

    async def open(self) -> None:
        """Open the database (creating the file and table if needed)."""
        if self._db is None:
            db = await aiosqlite.connect(self.path)
            try:
                db.row_factory = aiosqlite.Row
                # WAL: the API server and CLI processes read and write one file.
                await db.execute("PRAGMA journal_mode=WAL")
                await db.execute("PRAGMA busy_timeout=5000")
                await db.execute(_SCHEMA)
                await db.commit()
            except BaseException:
                await db.close()
                raise
            self._db = db

    async def close(self) -> None:
        """Close the database connection and the HTTP pool."""
        db, self._db = self._db, None
        http, self._http = self._http, None
        if http is not None:
            await http.aclose()
        if db is not None:
            await db.close()

    async def __aenter__(self) -> Notes:
        await self.open()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def _conn(self) -> aiosqlite.Connection:
        await self.open()
        assert self._db is not None
        return self._db

    # -- notes ---------------------------------------------------------------

    async def add(self, title: str, body: str = "", url: str | None = None) -> Note:
        """Store a new note and return it.

        Raises:
            InvalidNote: the title is empty or too long, or the body is too long.
        """
        title, body = _checked(title, body)
        db = await self._conn()
        created = datetime.now(UTC).isoformat(timespec="seconds")
        cursor = await db.execute(
            "INSERT INTO notes (title, body, url, created) VALUES (?, ?, ?, ?)",
            (title, body, url, created),
        )
        await db.commit()
        note_id = cursor.lastrowid
        assert note_id is not None
        return Note(note_id, title, body, url, created)

    async def get(self, note_id: int) -> Note:
        """The note with this id.

        Raises:
            NotFound: no note has this id.
        """
        db = await self._conn()
        async with db.execute("SELECT * FROM notes WHERE id = ?", (note_id,)) as cursor:
            row = await cursor.fetchone()
        if row is None:
            raise NotFound(note_id)
        return _note(row)

    async def list_notes(self, search: str | None = None, limit: int = 100) -> list[Note]:
        """Notes, oldest first; `search` keeps those whose title or body contains it."""
        return [note async for note in self.iter_notes(search, limit)]

    async def iter_notes(self, search: str | None = None, limit: int = -1) -> AsyncIterator[Note]:
        """Notes one by one, oldest first (an async generator: a plain
        iterator from sync code)."""
        db = await self._conn()
        params: list[object]
        query, params = "SELECT * FROM notes", []
        if search:
            query += " WHERE instr(title || ' ' || body, ?) > 0"
            params.append(search)
        async with db.execute(query + " ORDER BY id LIMIT ?", (*params, limit)) as cursor:
            async for row in cursor:
                yield _note(row)

    async def count(self) -> int:
        db = await self._conn()
        async with db.execute("SELECT count(*) FROM notes") as cursor:
            row = await cursor.fetchone()
        assert row is not None
        return int(row[0])

    async def delete(self, note_id: int) -> Note:
        """Delete the note with this id and return it.

        Raises:
            NotFound: no note has this id.
        """
        note = await self.get(note_id)
        db = await self._conn()
        await db.execute("DELETE FROM notes WHERE id = ?", (note_id,))
        await db.commit()
        return note

    # -- import from the web -------------------------------------------------

    async def import_url(self, url: str) -> Note:
        """Fetch `url` and store its title and text as a note.

        Raises:
            InvalidNote: `url` is not an http(s) URL.
            FetchError: the page could not be fetched (network error, HTTP error status).
        """
        title, text = await self._fetch(url)
        return await self.add(title, text, url=url)

    async def import_many(
        self, urls: Iterable[str], concurrency: int = 4
    ) -> AsyncIterator[ImportResult]:
        """Import several URLs, `concurrency` at a time, yielding each result as
        it completes (from sync code: a plain iterator, e.g. for a progress bar).
        A URL that fails yields an `ImportResult` with `error` set and stores nothing."""
        gate = asyncio.Semaphore(concurrency)

        async def one(url: str) -> ImportResult:
            async with gate:
                try:
                    return ImportResult(url, note=await self.import_url(url))
                except NotesError as exc:
                    return ImportResult(url, error=str(exc))

        tasks = [asyncio.ensure_future(one(url)) for url in urls]
        try:
            for next_done in asyncio.as_completed(tasks):
                yield await next_done
        finally:
            # The consumer stopped early (break, Ctrl-C): cancel what is left.
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def _fetch(self, url: str) -> tuple[str, str]:
        if not re.match(r"https?://", url):
            raise InvalidNote(f"not an http(s) URL: {url!r}")
        if self._http is None:
            self._http = httpx.AsyncClient(timeout=self.timeout, follow_redirects=True)
        try:
            response = await self._http.get(url)
            response.raise_for_status()
        except httpx.HTTPStatusError as exc:
            raise FetchError(f"{url}: HTTP {exc.response.status_code}") from None
        except httpx.HTTPError as exc:
            raise FetchError(f"{url}: {type(exc).__name__}: {exc}") from None
        if "html" in response.headers.get("content-type", ""):
            title, text = _html_title_and_text(response.text)
        else:
            text = response.text.strip()
            title = text.splitlines()[0] if text else ""
        return (title or url)[:MAX_TITLE], text[:MAX_BODY]


def _checked(title: object, body: object) -> tuple[str, str]:
    # `object`: the API passes what a client sent; the types are checked here.
    if not isinstance(title, str) or not isinstance(body, str):
        raise InvalidNote("title and body must be strings")
    title = title.strip()
    if not title:
        raise InvalidNote("the title must not be empty")
    if len(title) > MAX_TITLE:
        raise InvalidNote(f"the title is longer than {MAX_TITLE} characters")
    if len(body) > MAX_BODY:
        raise InvalidNote(f"the body is longer than {MAX_BODY} characters")
    return title, body


def _note(row: aiosqlite.Row) -> Note:
    return Note(row["id"], row["title"], row["body"], row["url"], row["created"])


class _PageText(HTMLParser):
    """The <title> and the visible text of an HTML page (stdlib only)."""

    def __init__(self) -> None:
        super().__init__()
        self.title: list[str] = []
        self.text: list[str] = []
        self._where: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in {"title", "script", "style"}:
            self._where.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if self._where and self._where[-1] == tag:
            self._where.pop()

    def handle_data(self, data: str) -> None:
        if not self._where:
            self.text.append(data)
        elif self._where[-1] == "title":
            self.title.append(data)


def _html_title_and_text(html: str) -> tuple[str, str]:
    parser = _PageText()
    parser.feed(html)
    parser.close()
    title = " ".join("".join(parser.title).split())
    lines = (" ".join(line.split()) for line in "".join(parser.text).splitlines())
    return title, "\n".join(line for line in lines if line)
