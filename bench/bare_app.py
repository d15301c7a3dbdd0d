"""The ceiling of our stack: a bare Granian ASGI app that reads the body and answers fixed bytes.

The body is a chat completion of the size the mock returns for the s1 request, so the
difference between the two servers is everything the mock does per request.

    taskset -c 0 .venv/bin/python -m granian --interface asgi --loop uvloop --no-ws bench.bare_app:app
"""

from typing import Any

BODY = (
    b'{"id":"chatcmpl-00000000000000000000000000000000","object":"chat.completion",'
    b'"created":1700000000,"model":"mock-model","choices":[{"index":0,"message":'
    b'{"role":"assistant","content":"very token of this prompt is echoed back in turn.Benchmark th"},'
    b'"logprobs":null,"finish_reason":"length"}],'
    b'"usage":{"prompt_tokens":20,"completion_tokens":16,"total_tokens":36}}'
)
_START = {
    "type": "http.response.start",
    "status": 200,
    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(BODY)).encode())],
}
_BODY = {"type": "http.response.body", "body": BODY, "more_body": False}


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    more_body = True
    while more_body:
        message = await receive()
        more_body = message.get("more_body", False)
    await send(_START)
    await send(_BODY)
