"""Granian's embedded server in a thread of the test process, serving an app built here.

A test can then read the app's own objects (a `LocalLoadTracker`) and inspect the server's
event loop (its tasks and timers) while real sockets talk to it.
"""

import asyncio
import threading
import time
from typing import Any

import httpx
import pytest
from granian.constants import Interfaces
from granian.server.embed import Server
from tests import process_ledger
from tests.server_process import free_port


class EmbeddedServer:
    """Granian's embedded server on its own event loop, in a thread of this process."""

    def __init__(self, app: Any) -> None:
        process_ledger.require_e2e("an embedded Granian server")
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self._server = Server(
            app,
            address="127.0.0.1",
            port=self.port,
            interface=Interfaces.ASGINL,
            websockets=False,
            backlog=2048,
            backpressure=2048,
            log_enabled=False,
        )
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, name="embedded-granian", daemon=True)

    def _run(self) -> None:
        try:
            self.loop.run_until_complete(self._server.serve())
        finally:
            self.loop.run_until_complete(self.loop.shutdown_asyncgens())
            self.loop.close()

    def start(self) -> None:
        """Serve, and return once `/health` answers."""
        self._thread.start()
        deadline = time.monotonic() + 15.0
        while time.monotonic() < deadline:
            try:
                httpx.get(f"{self.base_url}/health", timeout=1.0, trust_env=False)
            except httpx.TransportError:
                time.sleep(0.02)
            else:
                return
        pytest.fail("the embedded server did not start")

    def call(self, function: Any) -> Any:
        """Run `function()` on the server's loop, between two of its callbacks; return its result."""
        done = threading.Event()
        result: list[Any] = []

        def run() -> None:
            result.append(function())
            done.set()

        self.loop.call_soon_threadsafe(run)
        assert done.wait(10.0), "the server's loop did not answer"
        return result[0]

    def live_tasks(self) -> int:
        """Tasks of the server's loop not yet done."""
        count: int = self.call(lambda: sum(not task.done() for task in asyncio.all_tasks(self.loop)))
        return count

    def live_timers(self) -> int:
        """Timers scheduled on the server's loop and not cancelled."""
        scheduled = self.loop._scheduled  # type: ignore[attr-defined]
        count: int = self.call(lambda: sum(not timer.cancelled() for timer in scheduled))
        return count

    def stop(self) -> None:
        """Stop serving and wait for the thread."""
        self.loop.call_soon_threadsafe(self._server.stop)
        self._thread.join(10.0)
        assert not self._thread.is_alive()
