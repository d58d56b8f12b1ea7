# examples/recipes/threads.py: dual methods sent to worker threads from async code

import asyncio

from smartasync import SmartAsync


class Thumbnails(SmartAsync):
    async def resize(self, size: int) -> str:
        await asyncio.sleep(0.01)  # stands in for async I/O
        return f"thumb-{size}px"


async def main() -> list[str]:
    thumbs = Thumbnails()
    loop = asyncio.get_running_loop()
    return [
        # The worker thread makes a sync call, so it gets the value.
        await asyncio.to_thread(thumbs.resize, 64),
        # run_in_executor wants a plain function: pass .sync (in debug mode,
        # asyncio refuses thumbs.resize, which inspect calls a coroutine function).
        await loop.run_in_executor(None, thumbs.resize.sync, 128),
    ]


if __name__ == "__main__":
    print(asyncio.run(main(), debug=True))  # ['thumb-64px', 'thumb-128px']
