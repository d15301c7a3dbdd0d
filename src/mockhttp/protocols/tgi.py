"""Hugging Face TGI on the wire: `/generate` bodies, `/generate_stream` events, TGI's error shape.

TGI frames its stream as `data:<json>` (no space) and reports every token with an id, its
text and log-probability; the last event carries `generated_text` (and `details` when asked).
"""

from collections.abc import Iterator
from typing import Any

import msgspec

from mockcore.errors import ErrorInfo, located_message
from mockcore.generation import token_id, token_logprob
from mockcore.plan import ChoicePlan, GenerationPlan
from mockcore.protocols.tgi import finish_reason

_encode = msgspec.json.encode
# TGI's `error_type` for each status it answers with.
_EOS_TOKEN = {"id": 2, "text": "", "logprob": 0.0, "special": True}
_ERROR_TYPES = {
    401: "authentication",
    404: "not_found",
    413: "validation",
    422: "validation",
    429: "overloaded",
}


def tgi_error(status: int, info: ErrorInfo) -> bytes:
    """`{"error": ..., "error_type": ...}`."""
    error_type = _ERROR_TYPES.get(status, "generation" if status >= 500 else "validation")  # noqa: PLR2004
    return _encode({"error": located_message(info), "error_type": error_type})


def tgi_status(status: int) -> int:
    """TGI answers a request it cannot validate with 422, not 400."""
    return 422 if status == 400 else status  # noqa: PLR2004


def _token(choice: ChoicePlan, index: int, piece: str) -> dict[str, Any]:
    return {
        "id": token_id(piece),
        "text": piece,
        "logprob": token_logprob(choice.digest, index, piece, 0).logprob,
        "special": False,
    }


def _top_tokens(choice: ChoicePlan, index: int, piece: str, top: int) -> list[dict[str, Any]]:
    ranked = token_logprob(choice.digest, index, piece, top).top
    return [
        {"id": token_id(text), "text": text, "logprob": value, "special": False} for text, value in ranked
    ]


def _details(
    plan: GenerationPlan, choice: ChoicePlan, seed: int | None, *, with_tokens: bool
) -> dict[str, Any]:
    details: dict[str, Any] = {
        "finish_reason": finish_reason(choice),
        "generated_tokens": choice.token_count,
        "seed": seed,
    }
    if with_tokens:
        details["prefill"] = []
        details["tokens"] = [_token(choice, index, piece) for index, piece in enumerate(choice.content)]
        top = plan.logprobs or 0
        if top:
            details["top_tokens"] = [
                _top_tokens(choice, index, piece, top) for index, piece in enumerate(choice.content)
            ]
    return details


def generate_body(plan: GenerationPlan, _response_id: str, _created: int) -> bytes:
    """The `/generate` answer: the text, and `details` when the request asked for them."""
    choice = plan.choices[0]
    body: dict[str, Any] = {"generated_text": choice.content.text}
    if plan.logprobs is not None:
        body["details"] = _details(plan, choice, None, with_tokens=True)
    return _encode(body)


def generate_events(plan: GenerationPlan, _response_id: str, _created: int) -> Iterator[tuple[int, bytes]]:
    """(event index, frame): one `data:` event per token, the last with the whole text.

    Hot path: each token's event is spliced from bytes; a piece's id is hashed once per stream.
    """
    choice = plan.choices[0]
    last = choice.token_count - 1
    top = plan.logprobs
    digest = choice.digest
    ids: dict[str, bytes] = {}
    for index, piece in enumerate(choice.content):
        token_id_bytes = ids.get(piece)
        if token_id_bytes is None:
            token_id_bytes = ids[piece] = str(token_id(piece)).encode()
        logprob = token_logprob(digest, index, piece, 0).logprob
        head = b"".join(
            (
                b'data:{"index":',
                str(index).encode(),
                b',"token":{"id":',
                token_id_bytes,
                b',"text":',
                _encode(piece),
                b',"logprob":',
                _encode(logprob),
                b',"special":false}',
            )
        )
        if top:
            head += b',"top_tokens":' + _encode(_top_tokens(choice, index, piece, top))
        if index != last:
            yield index, head + b',"generated_text":null,"details":null}\n\n'
            continue
        details = _details(plan, choice, None, with_tokens=False) if top is not None else None
        yield (
            index,
            head
            + b',"generated_text":'
            + _encode(choice.content.text)
            + b',"details":'
            + _encode(details)
            + b"}\n\n",
        )
    if last < 0:
        # Nothing generated (a stop string at the very start): TGI still ends with the EOS token.
        details = _details(plan, choice, None, with_tokens=False) if plan.logprobs is not None else None
        event = {"index": 0, "token": _EOS_TOKEN, "generated_text": "", "details": details}
        yield 0, b"data:" + _encode(event) + b"\n\n"
