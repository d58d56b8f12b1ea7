"""Shared fixtures: a real HTTP server on 127.0.0.1, and a subprocess runner."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# A test run started in the background by a shell without job control
# (`cmd &` in a script) inherits SIGINT ignored, and so would every fresh
# interpreter the tests start: the Ctrl-C tests would see no interrupt at
# all.  Python's own handler here is reset to the default at exec, so the
# children get theirs too.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Completed:
    returncode: int
    stdout: str
    stderr: str


def run_python(
    code: str,
    *args: str,
    timeout: float = 60,
    flags: tuple[str, ...] = (),
    env: dict[str, str] | None = None,
) -> Completed:
    """Run `code` in a fresh interpreter (with this checkout importable)."""
    environ = {k: v for k, v in os.environ.items() if k != "PYTHONASYNCIODEBUG"}
    environ.update({"PYTHONPATH": str(ROOT), **(env or {})})
    proc = subprocess.run(
        [sys.executable, *flags, "-c", textwrap.dedent(code), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=environ,
        cwd=str(ROOT),
    )
    return Completed(proc.returncode, proc.stdout, proc.stderr)


@dataclass
class Server:
    url: str
    port: int


@pytest.fixture(scope="session")
def http_server() -> Iterator[Server]:
    """A Starlette app served by uvicorn on 127.0.0.1, on a free port."""
    import uvicorn
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse, PlainTextResponse
    from starlette.routing import Route

    async def echo(request: Request) -> JSONResponse:
        return JSONResponse(
            {
                "path": request.url.path,
                "query": dict(request.query_params),
                "client_port": request.client.port if request.client else None,
            }
        )

    async def slow(request: Request) -> PlainTextResponse:
        import asyncio

        await asyncio.sleep(float(request.query_params.get("delay", "0.2")))
        return PlainTextResponse("slow")

    app = Starlette(routes=[Route("/echo", echo), Route("/slow", slow)])
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="uvicorn-test-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test HTTP server did not start")
        time.sleep(0.02)
    try:
        yield Server(url=f"http://127.0.0.1:{port}", port=port)
    finally:
        server.should_exit = True
        thread.join(15)
