# examples/recipes/cli_progress.py: a click CLI, a rich progress bar, an async generator method

import asyncio
from collections.abc import AsyncIterator

import click
from rich.progress import track

from smartasync import SmartAsync


class Mirror(SmartAsync):
    async def fetch_all(self, names: list[str], delay: float) -> AsyncIterator[str]:
        async def fetch(name: str) -> str:  # stands in for an HTTP download
            await asyncio.sleep(delay)
            return name.upper()

        for done in asyncio.as_completed([fetch(n) for n in names]):  # concurrently
            yield await done


@click.command()
@click.argument("names", nargs=-1)
@click.option("--delay", default=0.2, show_default=True, help="Seconds per download.")
def main(names: tuple[str, ...], delay: float) -> None:
    """Fetch NAMES (default: a b c) with a progress bar."""
    todo = list(names) or ["a", "b", "c"]
    fetched = []
    for page in track(Mirror().fetch_all(todo, delay), total=len(todo), description="fetch"):
        fetched.append(page)  # a plain `for`: no await, no asyncio.run
    click.echo(f"fetched {len(fetched)}: {' '.join(sorted(fetched))}")


if __name__ == "__main__":
    main()
