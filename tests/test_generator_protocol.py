"""The sync face of an async generator method behaves like a generator:
`send()`, `throw()` (one argument or the old three) and `close()`, mapped to
`asend`, `athrow` and `aclose`, each run as one sync call on the right loop
(the object's home loop while it is entered).  The async face is the async
generator itself."""

from __future__ import annotations

import asyncio
import threading
import warnings
from collections.abc import AsyncGenerator, AsyncIterator, Iterator
from typing import Any

import pytest

from smartasync import SmartAsync
from smartasync._iter import SyncIterator

from .conftest import run_python


class Echo(SmartAsync):
    """Yields what it is sent; an exception thrown in is answered with its
    text, except KeyError, which ends it."""

    def __init__(self) -> None:
        self.events: list[str] = []
        self.loops: list[asyncio.AbstractEventLoop] = []
        self.entered_on: asyncio.AbstractEventLoop | None = None

    async def echo(self, first: Any = "ready") -> AsyncGenerator[Any, Any]:
        got: Any = first
        try:
            while True:
                self.loops.append(asyncio.get_running_loop())
                try:
                    got = yield got
                except ValueError as exc:
                    got = f"caught {exc}"
                if got == "stop":
                    return
        finally:
            self.events.append("cleanup")

    async def stubborn(self) -> AsyncIterator[int]:
        try:
            yield 1
        finally:
            yield 2  # ignores GeneratorExit

    async def __aenter__(self) -> Echo:
        self.entered_on = asyncio.get_running_loop()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        pass


def face(iterator: Iterator[Any]) -> SyncIterator[Any]:
    """The sync face, typed as what it is (the public type is `Iterator`)."""
    assert isinstance(iterator, SyncIterator)
    return iterator


def _sync_gen(it: Any) -> Iterator[Any]:
    """The same script as Echo.echo, for comparing with a real generator."""
    got: Any = "ready"
    try:
        while True:
            try:
                got = yield got
            except ValueError as exc:
                got = f"caught {exc}"
            if got == "stop":
                return
    finally:
        it.append("cleanup")


def _script(gen: Any) -> list[Any]:
    """One run of send/throw against `gen`: what each step gave."""
    out: list[Any] = [next(gen), gen.send(1), gen.send(None)]
    out.append(gen.throw(ValueError("x")))
    # The (type, value, traceback) form: deprecated for generators since 3.12
    # (the reference warns there); the sync face takes it without a warning.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        out.append(gen.throw(ValueError, "y", None))
        out.append(gen.throw(ValueError, ValueError("z")))
    with pytest.raises(StopIteration):
        gen.send("stop")
    with pytest.raises(StopIteration):
        gen.send(1)
    with pytest.raises(StopIteration):
        next(gen)
    return out


# -- sync code --------------------------------------------------------------------


def test_send_and_throw_give_what_a_generator_gives() -> None:
    echo = Echo()
    reference: list[str] = []
    assert _script(face(echo.echo())) == _script(_sync_gen(reference))
    assert echo.events == reference == ["cleanup"]


def test_send_of_a_value_to_a_fresh_generator_is_a_type_error_and_none_starts_it() -> None:
    echo = Echo()
    gen = face(echo.echo())
    with pytest.raises(TypeError, match="just-started"):
        gen.send(1)
    assert gen.send(None) == "ready"
    gen.close()
    assert echo.events == ["cleanup"]


def test_throw_that_the_generator_does_not_handle_comes_out_and_ends_it() -> None:
    echo = Echo()
    gen = face(echo.echo())
    next(gen)
    error = KeyError("k")
    with pytest.raises(KeyError) as caught:
        gen.throw(error)
    assert caught.value is error
    assert echo.events == ["cleanup"]
    with pytest.raises(StopIteration):
        next(gen)
    with pytest.raises(KeyError):  # thrown into a finished one: raised as is
        gen.throw(KeyError("again"))


def test_throw_into_a_fresh_generator_raises_without_running_its_body() -> None:
    echo = Echo()
    gen = face(echo.echo())
    with pytest.raises(ValueError, match="early"):
        gen.throw(ValueError("early"))
    assert echo.events == []  # the body never started: no `finally` to run
    with pytest.raises(StopIteration):
        next(gen)


def test_the_three_argument_throw_is_accepted_without_a_warning() -> None:
    gen = face(Echo().echo())
    next(gen)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert gen.throw(ValueError, "v", None) == "caught v"
        assert gen.throw(ValueError, ("t",)) == "caught t"
    gen.close()


def test_throw_checks_its_arguments_like_a_generator() -> None:
    gen = face(Echo().echo())
    with pytest.raises(TypeError, match="deriving from BaseException"):
        gen.throw(42)
    with pytest.raises(TypeError, match="separate value"):
        gen.throw(ValueError("a"), "b")
    gen.close()


def test_close_runs_the_cleanup_once_and_is_idempotent() -> None:
    echo = Echo()
    gen = face(echo.echo())
    next(gen)
    gen.close()
    gen.close()
    assert echo.events == ["cleanup"]
    with pytest.raises(StopIteration):
        gen.send(None)
    fresh = Echo()
    unstarted = face(fresh.echo())
    unstarted.close()  # never started: nothing to clean up
    assert fresh.events == []


def test_close_of_a_generator_that_yields_in_its_cleanup_is_a_runtime_error() -> None:
    gen = face(Echo().stubborn())
    assert next(gen) == 1
    with pytest.raises(RuntimeError, match="ignored GeneratorExit"):
        gen.close()


def test_steps_run_on_the_sync_loop_from_any_thread() -> None:
    echo = Echo()
    gen = face(echo.echo())
    next(gen)
    result: list[Any] = []
    thread = threading.Thread(target=lambda: result.append(gen.send("from a thread")))
    thread.start()
    thread.join(30)
    assert result == ["from a thread"]
    gen.close()
    assert len(set(echo.loops)) == 1  # one loop for every step, whatever the thread


def test_home_loop_with_every_step_runs_where_the_object_was_entered() -> None:
    with Echo() as echo:
        gen = face(echo.echo())
        assert next(gen) == "ready"
        assert gen.send(1) == 1
        assert gen.throw(ValueError("x")) == "caught x"
        gen.close()
    assert echo.events == ["cleanup"]
    assert echo.loops and all(loop is echo.entered_on for loop in echo.loops)


def test_ctrl_c_during_a_send_cancels_the_step_and_runs_the_cleanup_first() -> None:
    # The engine's Ctrl-C promise, for a step made by send(): the interrupt
    # comes out of send(), after the generator's cleanup ran, and the next
    # call works.  In a fresh interpreter, since it raises SIGINT.
    result = run_python(
        """
        import asyncio, os, signal
        from smartasync import SmartAsync

        class Feed(SmartAsync):
            events = []
            async def feed(self):
                try:
                    while True:
                        got = yield
                        if got == "interrupt":
                            os.kill(os.getpid(), signal.SIGINT)
                            await asyncio.sleep(30)
                finally:
                    self.events.append("cleanup")

            async def ping(self):
                return "pong"

        feed = Feed()
        gen = feed.feed()
        next(gen)
        try:
            gen.send("interrupt")
        except KeyboardInterrupt:
            print("interrupted after", feed.events)
        print(feed.ping())
        """,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split("\n")[:2] == ["interrupted after ['cleanup']", "pong"]
    assert result.stderr == ""


# -- async code -------------------------------------------------------------------


@pytest.mark.asyncio
async def test_async_code_gets_the_async_generator_with_asend_and_athrow() -> None:
    echo = Echo()
    gen: AsyncGenerator[Any, Any] = echo.echo()
    assert await gen.__anext__() == "ready"
    assert await gen.asend(1) == 1
    assert await gen.athrow(ValueError("x")) == "caught x"
    await gen.aclose()
    assert echo.events == ["cleanup"]
    assert all(loop is asyncio.get_running_loop() for loop in echo.loops)


@pytest.mark.asyncio
async def test_sync_helper_inside_async_code_can_send_and_throw() -> None:
    # A plain `def` helper called from async code gets the sync face; its
    # steps run on the sync loop (this test's loop waits meanwhile).  Made in
    # sync code, so it lives there (made here, it would live on this loop).
    echo = make_echo()
    reference: list[str] = []

    def helper() -> list[Any]:
        return _script(face(echo.echo()))

    assert helper() == _script(_sync_gen(reference))
    assert echo.events == ["cleanup"]
    assert all(loop is not asyncio.get_running_loop() for loop in echo.loops)


def make_echo() -> Echo:
    return Echo()


@pytest.mark.asyncio
async def test_home_loop_async_with_sync_steps_from_a_thread_run_on_the_home_loop() -> None:
    async with Echo() as echo:

        def drive() -> list[Any]:
            gen = face(echo.echo())
            out = [next(gen), gen.send(2), gen.throw(ValueError("y"))]
            gen.close()
            return out

        assert await asyncio.to_thread(drive) == ["ready", 2, "caught y"]
    assert echo.events == ["cleanup"]
    assert echo.loops and all(loop is asyncio.get_running_loop() for loop in echo.loops)
