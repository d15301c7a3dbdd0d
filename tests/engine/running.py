"""A sync test that runs a coroutine on a fresh event loop: the suite runs no async plugin."""

import asyncio
import functools
from collections.abc import Callable, Coroutine
from typing import Any


def run_async(test: Callable[[], Coroutine[Any, Any, None]]) -> Callable[[], None]:
    """`test` as a plain test function that runs it with `asyncio.run`."""

    @functools.wraps(test)
    def run() -> None:
        asyncio.run(test())

    return run
