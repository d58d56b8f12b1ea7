"""One sync loop per process, shared by every thread (DESIGN section 3, rule 2).

What one sync call makes (an httpx connection pool, an asyncio.Lock, an
asyncio.Queue, an aiosqlite connection) must keep working in every later sync
call, from any thread: a thread pool, a threaded WSGI server's request
threads, producers and a consumer, threads that have already ended, worker
threads of an async program and sync helpers inside it.

A broken engine makes these calls hang, so nothing here may wait without a
deadline: worker threads are daemon threads (a hung one cannot keep pytest
from exiting), every join and result has a timeout, every coroutine that
waits for another thread has its own `asyncio.timeout`, and every test has a
`pytest.mark.timeout`.  Real libraries and real servers on 127.0.0.1 only.
"""

from __future__ import annotations

import asyncio
import gc
import json
import os
import queue
import re
import socketserver
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Awaitable, Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from contextlib import contextmanager
from pathlib import Path
from typing import Any, ParamSpec, TypeVar
from urllib.parse import parse_qs, urlencode
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server
from wsgiref.types import StartResponse, WSGIEnvironment

import aiosqlite
import httpx
import pytest

from smartasync import SmartAsync, smartasync

from .conftest import Server

_T = TypeVar("_T")
_P = ParamSpec("_P")

# How long any one batch of cross-thread calls may take before the test calls
# it hung.  Generous: the calls themselves take milliseconds.
DEADLINE = 10.0
SHUTDOWN_GRACE = 2.0


# -- hang-proof threads ---------------------------------------------------------


class DaemonThreadPool(ThreadPoolExecutor):
    """A thread pool whose workers are daemon threads and whose shutdown waits a
    bounded time.

    Why not the stdlib pool: its workers are joined without a timeout at
    interpreter exit (and by `shutdown()`, and by asyncio when it closes a
    loop's default executor), so a single call hung by a broken engine would
    hang the whole pytest run instead of failing one test.  It subclasses
    ThreadPoolExecutor only so that `loop.set_default_executor()` accepts it
    (then `asyncio.to_thread` and `run_in_executor(None, ...)` use it); none of
    the base class's machinery is used, so its `__init__` is deliberately not
    called.
    """

    def __init__(self, workers: int, name: str = "test-pool") -> None:
        self._jobs: queue.SimpleQueue[Callable[[], None] | None] = queue.SimpleQueue()
        self._workers = [
            threading.Thread(target=self._work, name=f"{name}-{i}", daemon=True)
            for i in range(workers)
        ]
        for worker in self._workers:
            worker.start()

    def _work(self) -> None:
        while (job := self._jobs.get()) is not None:
            job()

    def submit(self, fn: Callable[_P, _T], /, *args: _P.args, **kwargs: _P.kwargs) -> Future[_T]:
        future: Future[_T] = Future()

        def job() -> None:
            if not future.set_running_or_notify_cancel():
                return
            try:
                result = fn(*args, **kwargs)
            except BaseException as exc:  # handed to whoever reads the future
                future.set_exception(exc)
            else:
                future.set_result(result)

        self._jobs.put(job)
        return future

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        for _ in self._workers:
            self._jobs.put(None)
        if wait:
            # Idle workers exit at once; a hung one will not, however long we wait.
            deadline = time.monotonic() + SHUTDOWN_GRACE
            for worker in self._workers:
                worker.join(max(0.0, deadline - time.monotonic()))


def _failure(what: str, total: int, hung: int, errors: Sequence[BaseException]) -> AssertionError:
    parts = [f"{what}: {total - hung - len(errors)} of {total} calls succeeded"]
    if hung:
        parts.append(f"{hung} still running after {DEADLINE:g} s (hung)")
    if errors:
        # Object addresses differ per error; without them the same error counts once.
        kinds = sorted(
            {re.sub(r"0x[0-9a-f]+", "0x...", f"{type(e).__name__}: {e}") for e in errors}
        )
        parts.append(f"{len(errors)} raised; distinct errors: {kinds}")
    return AssertionError("; ".join(parts))


def results_within(futures: Sequence[Future[_T]], what: str) -> list[_T]:
    """The results in order, or one failure that counts the hung and failed calls
    (chained to the first error, so its traceback is shown)."""
    _, pending = wait(futures, timeout=DEADLINE)
    errors = [e for f in futures if f not in pending and (e := f.exception()) is not None]
    if pending or errors:
        raise _failure(what, len(futures), len(pending), errors) from (
            errors[0] if errors else None
        )
    return [f.result() for f in futures]


async def gather_within(what: str, *awaitables: Awaitable[_T]) -> list[_T]:
    """`asyncio.gather` with a deadline and a failure that says what went wrong."""
    tasks = [asyncio.ensure_future(a) for a in awaitables]
    _, pending = await asyncio.wait(tasks, timeout=DEADLINE)
    for task in pending:
        task.cancel()  # the thread behind it cannot be stopped; it is a daemon
    errors = [e for t in tasks if t not in pending and (e := t.exception()) is not None]
    if pending or errors:
        raise _failure(what, len(tasks), len(pending), errors) from (errors[0] if errors else None)
    return [t.result() for t in tasks]


@pytest.fixture
def pool() -> Iterator[DaemonThreadPool]:
    with DaemonThreadPool(6) as executor:
        yield executor


def run_in_thread(fn: Callable[[], _T], name: str) -> _T:
    """Call `fn` in a new daemon thread that ends before this returns."""
    future: Future[_T] = Future()

    def target() -> None:
        try:
            future.set_result(fn())
        except BaseException as exc:
            future.set_exception(exc)

    thread = threading.Thread(target=target, name=name, daemon=True)
    thread.start()
    thread.join(DEADLINE)
    assert not thread.is_alive(), f"{name}: its sync call did not finish within {DEADLINE:g} s"
    return future.result()


@contextmanager
def closing(*closers: Callable[[], object]) -> Iterator[None]:
    """Run the closers on the way out.  If the body failed, a closer's own error
    (often the same engine defect, met again) becomes a note on the body's
    failure instead of replacing it: the first failure is the telling one."""
    try:
        yield
    except BaseException as failure:
        for close in closers:
            try:
                close()
            except Exception as error:
                failure.add_note(f"closing afterwards failed too: {type(error).__name__}: {error}")
        raise
    for close in closers:
        close()


def abandon(futures: Sequence[asyncio.Future[Any]]) -> None:
    """The test failed before awaiting these: cancel the pending ones and read
    the failed ones, so that asyncio does not log "Future exception was never
    retrieved" over the real failure."""
    for future in futures:
        if not future.done():
            future.cancel()
        elif not future.cancelled():
            future.exception()


# -- the objects under test ----------------------------------------------------


class Client(SmartAsync, httpx.AsyncClient):
    """httpx's async client, made dual by inheritance."""


POOL_SIZE = 4


def new_client(server: Server) -> Client:
    return Client(base_url=server.url, limits=httpx.Limits(max_connections=POOL_SIZE))


def port_of(client: Client, n: int) -> int:
    """One request (a bare call in a plain function: a sync call); the client
    port the server saw, which names the pooled connection that carried it."""
    response = client.get("/echo", params={"n": str(n)})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["query"] == {"n": str(n)}
    return int(body["client_port"])


class Mailbox(SmartAsync):
    """An asyncio.Queue behind sync calls: producers in some threads, a consumer
    in another.  Bounded, so producers wait for the consumer too."""

    def __init__(self, maxsize: int) -> None:
        self._queue: asyncio.Queue[int] = asyncio.Queue(maxsize)

    async def put(self, item: int) -> None:
        await self._queue.put(item)

    async def get_many(self, n: int) -> list[int]:
        # The deadline lives in the coroutine, so a consumer that is never woken
        # fails with TimeoutError instead of blocking its thread for ever.
        items: list[int] = []
        try:
            async with asyncio.timeout(DEADLINE):
                while len(items) < n:
                    items.append(await self._queue.get())
        except TimeoutError:
            raise TimeoutError(
                f"the consumer got {len(items)} of {n} items in {DEADLINE:g} s: "
                f"the producers' puts did not reach it"
            ) from None
        return items


def produce(mailbox: Mailbox, items: range) -> None:
    for item in items:
        mailbox.put(item)


def consume(mailbox: Mailbox, n: int) -> list[int]:
    return mailbox.get_many(n)


def check_delivery(received: list[int], producers: int, per_producer: int) -> None:
    assert sorted(received) == list(range(producers * per_producer))
    # A queue is FIFO: each producer's items arrive in the order it put them.
    for p in range(producers):
        mine = [i for i in received if i // per_producer == p]
        assert mine == sorted(mine)


@smartasync
class Gate:
    """asyncio synchronisation primitives made by one sync call and used by
    later ones.  An asyncio primitive is tied to a loop the first time something
    waits on it, so every method makes its primitives really wait."""

    def __init__(self, lock: asyncio.Lock, slots: asyncio.Semaphore, opened: asyncio.Event) -> None:
        self._lock = lock
        self._slots = slots
        self._opened = opened

    @classmethod
    async def create(cls) -> Gate:
        gate = cls(asyncio.Lock(), asyncio.Semaphore(2), asyncio.Event())
        await gate.crowd(3)
        waiter = asyncio.ensure_future(gate._opened.wait())
        # One loop iteration (not a timed wait): the waiter task runs its first
        # step, which blocks on the event and so ties it to this loop.
        await asyncio.sleep(0)
        gate._opened.set()
        await waiter
        gate._opened.clear()
        return gate

    async def crowd(self, n: int) -> int:
        """`n` tasks contend for the semaphore and the lock; how many got in."""
        entered = 0

        async def visit() -> None:
            nonlocal entered
            async with self._slots, self._lock:
                entered += 1
                await asyncio.sleep(0)  # hold both across a switch: the others must wait

        await asyncio.gather(*(visit() for _ in range(n)))
        return entered

    async def wait_opened(self, arrived: Callable[[], None]) -> bool:
        try:
            async with asyncio.timeout(DEADLINE):
                # No await between `arrived()` and the wait: once the caller
                # hears of the arrival, this call is already waiting on the event.
                arrived()
                await self._opened.wait()
        except TimeoutError:
            raise TimeoutError(f"the gate was not seen open within {DEADLINE:g} s") from None
        return True

    async def open(self) -> None:
        self._opened.set()


def crowd(gate: Gate, n: int) -> int:
    return gate.crowd(n)


def open_gate(gate: Gate) -> None:
    gate.open()


class Tally(SmartAsync):
    """A small async service: an aiosqlite connection opened by whichever call
    comes first, behind an asyncio.Lock.  Each `add` returns the row count after
    its insert, so concurrent callers must get 1..n, each exactly once."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._lock = asyncio.Lock()
        self._db: aiosqlite.Connection | None = None

    async def add(self, key: str) -> int:
        async with self._lock:
            if self._db is None:
                self._db = await aiosqlite.connect(self._path)
                await self._db.execute("CREATE TABLE hits (key TEXT)")
            await self._db.execute("INSERT INTO hits VALUES (?)", (key,))
            await self._db.commit()
            async with self._db.execute("SELECT COUNT(*) FROM hits") as cursor:
                row = await cursor.fetchone()
            assert row is not None
            return int(row[0])

    async def close(self) -> None:
        if self._db is not None:
            await self._db.close()


class Counter(SmartAsync):
    def __init__(self) -> None:
        self._lock = asyncio.Lock()
        self.total = 0

    async def bump(self) -> int:
        async with self._lock:
            self.total += 1
            value = self.total
            await asyncio.sleep(0)  # hold the lock across a switch: concurrent calls wait on it
            return value


# -- 1. a thread pool sharing one httpx client ------------------------------------


@pytest.mark.timeout(60)
@pytest.mark.parametrize("entered", [False, True], ids=["never-entered", "with"])
def test_httpx_client_shared_by_a_thread_pool_uses_one_connection_pool(
    http_server: Server, pool: DaemonThreadPool, entered: bool
) -> None:
    def exercise(client: Client) -> list[int]:
        ports = [port_of(client, -1)]  # the main thread first: this call makes the pool
        futures = [pool.submit(port_of, client, n) for n in range(60)]
        ports += results_within(futures, "60 requests from 6 pool threads")
        ports.append(port_of(client, -2))  # and the main thread again afterwards
        return ports

    if entered:
        # `with` gives the client a home (rule 3): the sync loop, which is where
        # un-entered objects' sync calls run anyway.
        with new_client(http_server) as client:
            ports = exercise(client)
        assert client.is_closed
    else:
        client = new_client(http_server)
        with closing(client.aclose.sync):
            ports = exercise(client)

    assert len(ports) == 62
    # One connection pool for every thread: at most max_connections sockets.
    # Per-thread loops would each need connections of their own (and trip over
    # the pool's loop-bound internals on the way).
    assert len(set(ports)) <= POOL_SIZE, sorted(set(ports))


# -- 2. a threaded WSGI server whose request threads share dual objects --------------


class ThreadingWSGIServer(socketserver.ThreadingMixIn, WSGIServer):
    daemon_threads = True
    # Do not join request threads on close: a request hung by a broken engine
    # must fail the test, not hang its teardown.
    block_on_close = False
    # 40 clients connect at once; the default backlog of 5 would make the
    # kernel drop SYNs and the clients retry a second later.
    request_queue_size = 128


class QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass  # one access-log line per request is noise in the test output


@contextmanager
def serve_wsgi(
    app: Callable[[WSGIEnvironment, StartResponse], list[bytes]],
) -> Iterator[str]:
    server = make_server(
        "127.0.0.1", 0, app, server_class=ThreadingWSGIServer, handler_class=QuietHandler
    )
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="wsgi", daemon=True
    )
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(DEADLINE)


def http_get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=DEADLINE) as response:
            return int(response.status), response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


@pytest.mark.timeout(60)
def test_threaded_wsgi_server_request_threads_share_a_client_and_a_service(
    http_server: Server, tmp_path: Path
) -> None:
    client = new_client(http_server)
    tally = Tally(tmp_path / "hits.db")

    def app(environ: WSGIEnvironment, start_response: StartResponse) -> list[bytes]:
        # Plain WSGI: no async code anywhere, just sync calls on shared objects
        # from whichever request thread the server started.
        n = parse_qs(environ["QUERY_STRING"])["n"][0]
        try:
            echoed = client.get("/echo", params={"n": n}).json()["query"]["n"]
            count = tally.add(n)
        except Exception as exc:  # shown to the test as the response body
            status, body = "500 Internal Server Error", f"{type(exc).__name__}: {exc}"
        else:
            status, body = "200 OK", json.dumps({"n": n, "echoed": echoed, "count": count})
        data = body.encode()
        start_response(status, [("Content-Type", "text/plain"), ("Content-Length", str(len(data)))])
        return [data]

    go = threading.Event()

    def request(base: str, n: int) -> dict[str, Any]:
        go.wait(DEADLINE)  # all 40 clients fire together
        status, body = http_get(f"{base}/?{urlencode({'n': n})}")
        assert status == 200, f"HTTP {status}: {body}"
        reply: dict[str, Any] = json.loads(body)
        return reply

    with (
        closing(tally.close.sync, client.aclose.sync),
        serve_wsgi(app) as base,
        DaemonThreadPool(40, name="wsgi-client") as clients,
    ):
        futures = [clients.submit(request, base, n) for n in range(40)]
        go.set()
        replies = results_within(futures, "40 concurrent WSGI requests")

    assert [(r["n"], r["echoed"]) for r in replies] == [(str(n), str(n)) for n in range(40)]
    # The lock serialised the inserts: each request saw a different row count.
    assert sorted(r["count"] for r in replies) == list(range(1, 41))


# -- 3. an asyncio.Queue between producer threads and a consumer thread --------------


@pytest.mark.timeout(60)
def test_queue_producer_threads_and_a_consumer_thread() -> None:
    producers, per_producer = 4, 50
    mailbox = Mailbox(maxsize=8)
    with DaemonThreadPool(1 + producers, name="queue") as threads:
        consumer = threads.submit(consume, mailbox, producers * per_producer)
        puts = [
            threads.submit(produce, mailbox, range(p * per_producer, (p + 1) * per_producer))
            for p in range(producers)
        ]
        everyone: list[Future[Any]] = [consumer, *puts]
        results_within(everyone, "a consumer and 4 producers")
        received = consumer.result()
    check_delivery(received, producers, per_producer)


# -- 4. what an ended thread made keeps working ----------------------------------------


@pytest.mark.timeout(60)
def test_primitives_made_by_an_ended_thread_work_in_main_and_new_threads(
    pool: DaemonThreadPool,
) -> None:
    gate = run_in_thread(Gate.create, name="maker")  # the thread has ended

    assert gate.crowd(4) == 4  # main thread
    assert results_within([pool.submit(crowd, gate, 3) for _ in range(12)], "crowd") == [3] * 12

    # Waiters in new threads, woken by the main thread.
    arrivals = threading.Semaphore(0)
    waiters = [pool.submit(gate.wait_opened.sync, arrivals.release) for _ in range(3)]
    for _ in waiters:
        assert arrivals.acquire(timeout=DEADLINE), "a waiter never reached the event"
    gate.open()
    assert results_within(waiters, "waiters on an asyncio.Event") == [True] * 3


# -- 5. the same from async code: worker threads and sync helpers ----------------------


@pytest.mark.timeout(60)
@pytest.mark.asyncio
async def test_httpx_client_from_to_thread_workers_and_a_sync_helper(
    http_server: Server,
) -> None:
    asyncio.get_running_loop().set_default_executor(DaemonThreadPool(6, name="to-thread"))
    client = new_client(http_server)
    with closing(client.aclose.sync):
        # Worker threads make bare calls: no loop runs there, so they run on the
        # shared sync loop.  Both spellings: a lambda and the function itself.
        ports = await gather_within(
            "to_thread workers",
            *(asyncio.to_thread(lambda: port_of(client, 0)) for _ in range(20)),
            *(asyncio.to_thread(port_of, client, n) for n in range(20, 40)),
        )
        # A plain def called from this async test: a sync helper inside async
        # code; its call runs on the same sync loop while this loop waits.
        ports.append(port_of(client, -1))
        ports += await gather_within(
            "to_thread workers, again",
            *(asyncio.to_thread(port_of, client, n) for n in range(40, 50)),
        )
    assert len(set(ports)) <= POOL_SIZE, sorted(set(ports))


@pytest.mark.timeout(60)
@pytest.mark.asyncio
@pytest.mark.parametrize("consumer", ["sync-helper", "explicit-sync"])
async def test_queue_producers_in_executor_and_a_blocking_consumer_in_async_code(
    consumer: str,
) -> None:
    loop = asyncio.get_running_loop()
    loop.set_default_executor(DaemonThreadPool(4, name="producers"))
    producers, per_producer = 4, 50
    mailbox = Mailbox(maxsize=8)
    # run_in_executor hands the jobs to the threads now, not at the next await:
    # this loop is about to be blocked by the consumer below.
    puts = [
        loop.run_in_executor(
            None, produce, mailbox, range(p * per_producer, (p + 1) * per_producer)
        )
        for p in range(producers)
    ]
    # Block this loop in a sync call, as a sync helper (or forced `.sync()`) in
    # async code does; the items come from the executor threads' sync calls.
    try:
        if consumer == "sync-helper":
            received = consume(mailbox, producers * per_producer)
        else:
            received = mailbox.get_many.sync(producers * per_producer)
    except BaseException:
        abandon(puts)
        raise
    await gather_within("producers", *puts)
    check_delivery(received, producers, per_producer)


@pytest.mark.timeout(60)
@pytest.mark.asyncio
async def test_primitives_made_by_an_ended_thread_from_async_code() -> None:
    loop = asyncio.get_running_loop()
    loop.set_default_executor(DaemonThreadPool(6, name="to-thread"))
    gate = run_in_thread(Gate.create, name="maker")

    counts = await gather_within(
        "crowd from to_thread workers",
        *(asyncio.to_thread(lambda: gate.crowd(3)) for _ in range(10)),
    )
    assert counts == [3] * 10
    assert crowd(gate, 4) == 4  # a sync helper in async code

    arrivals = threading.Semaphore(0)
    waiters = [asyncio.ensure_future(asyncio.to_thread(gate.wait_opened, arrivals.release))]
    waiters += [
        asyncio.ensure_future(asyncio.to_thread(lambda: gate.wait_opened(arrivals.release)))
        for _ in range(2)
    ]
    # The waiter threads start once this loop runs their tasks; wait for their
    # arrival without blocking it.
    for _ in waiters:
        assert await asyncio.to_thread(arrivals.acquire, True, DEADLINE)
    open_gate(gate)  # a sync helper in async code wakes the worker threads
    assert await gather_within("waiters", *waiters) == [True] * 3


# -- 6. thousands of short-lived threads leave nothing behind -----------------------


def fd_count() -> int:
    return len(os.listdir("/proc/self/fd"))


@pytest.mark.timeout(60)
@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="needs /proc/self/fd")
def test_two_thousand_short_lived_threads_leave_no_threads_or_fds() -> None:
    counter = Counter()
    # Warm up in the main thread and in one ended thread, so that whatever the
    # engine keeps for the process (the sync loop, a driver thread) exists
    # before the baseline is taken.
    counter.bump()
    run_in_thread(counter.bump, name="warm-up")
    gc.collect()
    threads_before, fds_before = threading.active_count(), fd_count()

    errors: list[BaseException] = []
    waves, per_wave = 50, 40
    for _ in range(waves):
        go = threading.Event()

        def one(go: threading.Event) -> None:
            go.wait(DEADLINE)  # the wave calls at once, so the lock is contended
            try:
                counter.bump()
            except BaseException as exc:
                errors.append(exc)

        wave = [threading.Thread(target=one, args=(go,), daemon=True) for _ in range(per_wave)]
        for thread in wave:
            thread.start()
        go.set()
        for thread in wave:
            thread.join(DEADLINE)
        hung = sum(thread.is_alive() for thread in wave)
        if hung or errors:
            raise _failure("a wave of short-lived threads", per_wave, hung, errors) from (
                errors[0] if errors else None
            )

    assert counter.total == 2 + waves * per_wave
    gc.collect()
    # A driver thread (and its loop's selector and self-pipe) may be started
    # lazily by the engine; nothing may grow with the number of threads.
    assert threading.active_count() <= threads_before + 1, threading.enumerate()
    assert fd_count() <= fds_before + 3
