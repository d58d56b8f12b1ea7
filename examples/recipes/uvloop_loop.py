# examples/recipes/uvloop_loop.py: uvloop for smartasync's loops and for the application's

import asyncio

import uvloop

import smartasync
from smartasync import SmartAsync

smartasync.set_loop_factory(uvloop.new_event_loop)  # once, before the first sync call


class Probe(SmartAsync):
    async def loop_kind(self) -> str:
        await asyncio.sleep(0)
        return type(asyncio.get_running_loop()).__module__


async def main() -> str:
    return await Probe().loop_kind()


if __name__ == "__main__":
    print(Probe().loop_kind())  # uvloop: the sync loop came from the factory
    print(uvloop.run(main()))  # uvloop: the application's own loop
