"""The live side of the engine simulation: one engine per server, fed arrivals, asked token times.

With one worker (or a mounted app) the engine runs in the app's own event loop
(`LocalEngine`); with several, in one engine process every worker talks to over a Unix
socket (`RemoteEngine`, `serve_engine`), so the server has one batch and one KV cache
whatever its worker count. docs/architecture.md says why and what that costs.
"""

from mockhttp.engine.port import EnginePort, EngineRejectedError, EngineTicket

__all__ = ["EnginePort", "EngineRejectedError", "EngineTicket"]
