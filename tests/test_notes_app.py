"""The example application end to end: one `Notes` class behind a CLI (sync
calls, in a subprocess) and an HTTP API (awaited, Starlette + uvicorn on
127.0.0.1), both on one SQLite file, driven with a real httpx client."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from examples.notes import ImportResult, Note, Notes, NotFound, serve_in_thread
from smartasync import smartasync

from .conftest import ROOT, free_port

MISSING = 999_999  # ids are AUTOINCREMENT: never reused, never reached here


@smartasync
async def pause(seconds: float) -> None:
    await asyncio.sleep(seconds)


@dataclass
class Api:
    url: str
    db: Path


@dataclass
class Cli:
    returncode: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        return json.loads(self.stdout)


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    """The notes API served by uvicorn on a free loopback port, for this module."""
    db = tmp_path_factory.mktemp("notes") / "notes.db"
    with serve_in_thread(db, host="127.0.0.1", port=free_port()) as url:
        yield Api(url, db)


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in {"PYTHONASYNCIODEBUG", "NOTES_DB"}}
    env["PYTHONPATH"] = str(ROOT)
    return env


def _command(db: Path, *args: str) -> list[str]:
    # -X dev -W error: an unclosed connection or socket would show up in stderr.
    return [
        sys.executable,
        "-X",
        "dev",
        "-W",
        "error",
        "-m",
        "examples.notes",
        "--db",
        str(db),
        *args,
    ]


def cli(db: Path, *args: str) -> Cli:
    """Run the CLI in a fresh interpreter against `db`."""
    proc = subprocess.run(
        _command(db, *args), capture_output=True, text=True, timeout=30, cwd=ROOT, env=_env()
    )
    return Cli(proc.returncode, proc.stdout, proc.stderr)


def ok(result: Cli) -> Cli:
    assert result.returncode == 0, result.stderr
    assert "Warning" not in result.stderr and "Traceback" not in result.stderr, result.stderr
    return result


def count(api: Api) -> int:
    return len(httpx.get(f"{api.url}/notes", params={"limit": "100000"}).json())


# -- the CLI and the API see the same data ------------------------------------


def test_cli_writes_and_the_api_reads(api: Api) -> None:
    note = ok(
        cli(api.db, "add", "From the CLI", "--body", "written by a subprocess", "--json")
    ).json()
    assert note["title"] == "From the CLI"
    response = httpx.get(f"{api.url}/notes/{note['id']}")
    assert response.status_code == 200
    assert response.json() == note
    assert note in httpx.get(f"{api.url}/notes").json()


@pytest.mark.asyncio
async def test_the_api_writes_and_the_cli_reads(api: Api) -> None:
    async with httpx.AsyncClient(base_url=api.url) as client:
        response = await client.post("/notes", json={"title": "From the API", "body": "posted"})
    assert response.status_code == 201
    note = response.json()
    shown = ok(await asyncio.to_thread(cli, api.db, "get", str(note["id"]), "--json")).json()
    assert shown == note
    listed = ok(await asyncio.to_thread(cli, api.db, "list", "--json", "--search", "posted")).json()
    assert note in listed
    plain = ok(await asyncio.to_thread(cli, api.db, "list"))
    assert f"#{note['id']}  From the API" in plain.stdout


def test_sync_calls_in_process_share_data_with_the_api(api: Api) -> None:
    with Notes(api.db) as notes:
        mine = notes.add("Sync in process", "no await")
        first_connection = notes._db
        assert httpx.get(f"{api.url}/notes/{mine.id}").json() == mine.to_dict()
        theirs = httpx.post(f"{api.url}/notes", json={"title": "Seen by sync code"}).json()
        assert notes.get(theirs["id"]).to_dict() == theirs
        ids = [note.id for note in notes.iter_notes()]  # async generator -> plain iterator
        assert mine.id in ids and theirs["id"] in ids
        assert notes._db is first_connection  # one connection across the sync calls
    assert notes._db is None


@pytest.mark.asyncio
async def test_awaited_calls_share_data_with_the_api(api: Api) -> None:
    async with Notes(api.db) as notes, httpx.AsyncClient(base_url=api.url) as client:
        mine = await notes.add("Async in process", "awaited")
        assert (await client.get(f"/notes/{mine.id}")).json() == mine.to_dict()
        theirs = (await client.post("/notes", json={"title": "Seen by async code"})).json()
        assert (await notes.get(theirs["id"])).to_dict() == theirs
        ids = [note.id async for note in notes.iter_notes()]
        assert mine.id in ids and theirs["id"] in ids


# -- unknown ids ----------------------------------------------------------------


def test_unknown_id_is_404_in_the_api(api: Api) -> None:
    with httpx.Client(base_url=api.url) as client:
        for response in (
            client.get(f"/notes/{MISSING}"),
            client.delete(f"/notes/{MISSING}"),
            client.get(f"/notes/{MISSING}.html"),
        ):
            assert response.status_code == 404
            assert response.json() == {"error": f"no note with id {MISSING}"}


@pytest.mark.asyncio
async def test_unknown_id_is_404_in_the_api_async(api: Api) -> None:
    async with httpx.AsyncClient(base_url=api.url) as client:
        responses = await asyncio.gather(
            client.get(f"/notes/{MISSING}"), client.delete(f"/notes/{MISSING}")
        )
    assert [r.status_code for r in responses] == [404, 404]
    assert responses[0].json() == {"error": f"no note with id {MISSING}"}


def test_unknown_id_in_the_cli_is_a_message_and_exit_1(api: Api) -> None:
    for command in ("get", "delete"):
        result = cli(api.db, command, str(MISSING))
        assert result.returncode == 1
        assert result.stderr == f"error: no note with id {MISSING}\n"
        assert result.stdout == ""


def test_unknown_id_raises_not_found_from_sync_code(api: Api) -> None:
    with Notes(api.db) as notes, pytest.raises(NotFound, match=f"no note with id {MISSING}"):
        notes.get(MISSING)


@pytest.mark.asyncio
async def test_unknown_id_raises_not_found_from_async_code(api: Api) -> None:
    async with Notes(api.db) as notes:
        with pytest.raises(NotFound) as caught:
            await notes.delete(MISSING)
    assert caught.value.note_id == MISSING


# -- malformed input: 422 / exit 1, and nothing written ----------------------------

MALFORMED = [
    (b"{oops", "not valid JSON"),
    (b"", "not valid JSON"),
    (b"\xff\xfe", "not valid JSON"),
    (b'["a list"]', "must be a JSON object"),
    (b'{"body": "no title"}', "missing field(s): title"),
    (b'{"title": 5}', "must be strings: title"),
    (b'{"title": "x", "tags": []}', "unknown field(s): tags"),
    (b'{"title": "   "}', "the title must not be empty"),
    (json.dumps({"title": "x" * 201}).encode(), "longer than 200"),
]


@pytest.mark.parametrize(("body", "message"), MALFORMED)
def test_malformed_body_is_422_with_a_message(api: Api, body: bytes, message: str) -> None:
    before = count(api)
    response = httpx.post(
        f"{api.url}/notes", content=body, headers={"content-type": "application/json"}
    )
    assert response.status_code == 422
    assert message in response.json()["error"]
    assert count(api) == before


@pytest.mark.asyncio
async def test_malformed_bodies_sent_concurrently_write_nothing(api: Api) -> None:
    async with httpx.AsyncClient(base_url=api.url) as client:
        before = len((await client.get("/notes", params={"limit": "100000"})).json())
        responses = await asyncio.gather(*(client.post("/notes", content=b) for b, _ in MALFORMED))
        after = len((await client.get("/notes", params={"limit": "100000"})).json())
    assert [r.status_code for r in responses] == [422] * len(MALFORMED)
    for response, (_, message) in zip(responses, MALFORMED, strict=True):
        assert message in response.json()["error"]
    assert after == before


def test_cli_bad_input_is_a_message_and_exit_1_and_writes_nothing(api: Api) -> None:
    before = count(api)
    result = cli(api.db, "add", "  ")
    assert (result.returncode, result.stderr) == (1, "error: the title must not be empty\n")
    usage = cli(api.db, "get", "not-a-number")
    assert usage.returncode == 2 and "invalid int value" in usage.stderr
    assert count(api) == before


# -- import: httpx fetching pages served by the same API -----------------------------


def test_cli_import_shows_progress_and_the_api_sees_the_notes(api: Api) -> None:
    source = httpx.post(
        f"{api.url}/notes", json={"title": "Page to import", "body": "line one\nline two"}
    ).json()
    before = count(api)
    page = f"{api.url}/notes/{source['id']}.html"
    result = cli(api.db, "import", page, f"{api.url}/notes/{MISSING}.html", "ftp://nope", "--json")
    assert result.returncode == 1  # some failed
    assert "] 3/3" in result.stderr  # the progress bar's last line
    assert f"error: {api.url}/notes/{MISSING}.html: HTTP 404" in result.stderr
    assert "error: not an http(s) URL: 'ftp://nope'" in result.stderr
    assert "imported 1 of 3" in result.stderr
    imported = json.loads(result.stdout)
    assert (imported["title"], imported["body"], imported["url"]) == (
        "Page to import",
        "Page to import\nline one\nline two",
        page,
    )
    assert httpx.get(f"{api.url}/notes/{imported['id']}").json() == imported
    assert count(api) == before + 1  # nothing written for the failures


@pytest.mark.asyncio
async def test_api_import(api: Api) -> None:
    async with httpx.AsyncClient(base_url=api.url) as client:
        source = (await client.post("/notes", json={"title": "Imported by the API"})).json()
        before = len((await client.get("/notes", params={"limit": "100000"})).json())
        good, bad_scheme, missing, malformed = await asyncio.gather(
            client.post("/import", json={"url": f"{api.url}/notes/{source['id']}.html"}),
            client.post("/import", json={"url": "ftp://nope"}),
            client.post("/import", json={"url": f"{api.url}/notes/{MISSING}.html"}),
            client.post("/import", json={"address": "x"}),
        )
        after = len((await client.get("/notes", params={"limit": "100000"})).json())
    assert good.status_code == 201 and good.json()["title"] == "Imported by the API"
    assert bad_scheme.status_code == 422 and "not an http(s) URL" in bad_scheme.json()["error"]
    assert missing.status_code == 502 and "HTTP 404" in missing.json()["error"]
    assert malformed.status_code == 422 and "missing field(s): url" in malformed.json()["error"]
    assert after == before + 1


def _pages(api: Api, n: int) -> list[str]:
    with httpx.Client(base_url=api.url) as client:
        made = [client.post("/notes", json={"title": f"page {i}"}).json() for i in range(n)]
    return [f"{api.url}/notes/{note['id']}.html" for note in made]


def test_import_many_from_sync_code_and_break_stops_it(api: Api) -> None:
    urls = _pages(api, 4)
    with Notes(api.db) as notes:
        results: list[ImportResult] = list(notes.import_many(urls, 2))
        assert sorted(r.note.title for r in results if r.note) == [f"page {i}" for i in range(4)]
        before = notes.count()
        for _ in notes.import_many(urls, 1):
            break  # the generator's finally cancels the imports still pending
        pause(0.2)  # runs this thread's loop: an import left pending would finish now
        assert notes.count() == before + 1


@pytest.mark.asyncio
async def test_import_many_from_async_code(api: Api) -> None:
    urls = _pages(api, 3)
    async with Notes(api.db) as notes:
        notes_made: list[Note] = [r.note async for r in notes.import_many(urls) if r.note]
        assert sorted(n.title for n in notes_made) == ["page 0", "page 1", "page 2"]
        before = await notes.count()
        stream = notes.import_many(urls, 1)
        async for _ in stream:
            break
        await stream.aclose()
        await pause(0.2)
        assert await notes.count() == before + 1


# -- the two entry points a user runs -------------------------------------------------


def test_serve_command(tmp_path: Path) -> None:
    port = free_port()
    proc = subprocess.Popen(
        _command(tmp_path / "served.db", "serve", "--host", "127.0.0.1", "--port", str(port)),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env=_env(),
    )
    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                created = httpx.post(f"http://127.0.0.1:{port}/notes", json={"title": "served"})
                break
            except httpx.ConnectError:
                assert proc.poll() is None and time.monotonic() < deadline, "serve did not start"
                time.sleep(0.05)
        assert created.status_code == 201
        assert ok(cli(tmp_path / "served.db", "get", "1")).stdout == "#1  served\n"
    finally:
        proc.send_signal(signal.SIGINT)
        _, stderr = proc.communicate(timeout=15)
    assert proc.returncode == 0, stderr
    assert "Application shutdown complete" in stderr
    assert "Traceback" not in stderr and "Warning" not in stderr


def test_demo_command(tmp_path: Path) -> None:
    # (No timed assertion: `cli` fails a run that hangs, after 30 s; speed is
    # the benchmarks' business, and this shared machine is too noisy for it.)
    result = ok(cli(tmp_path / "demo.db", "demo"))
    out = result.stdout
    assert "notes.add('Buy milk', 'and bread')             -> #1 Buy milk" in out
    assert "GET  /notes                                    -> 200 ['Buy milk', 'Call Ada']" in out
    assert "] 3/3  done" in out
    assert '-> 404 {"error": "no note with id 999"}' in out
    assert "notes.count()                                  -> 6 (was 6)" in out
    assert "notes.get(1)                                   -> NotFound: no note with id 1" in out
    assert "API stopped, database closed" in out
    assert result.stderr == ""
