"""Hypothesis strategies for valid request payloads of the OpenAI-compatible routes.

Every payload drawn here is a plain JSON-ready dict that the server must accept (status 200
unless a fault is injected), so the core tests and the HTTP tests share one definition of
"a valid request". Payloads include what real clients send: explicit nulls, multi-part
content, unknown sampling fields.

Import as `from tests.strategies import chat_payloads` (pytest's importlib mode registers the
`tests` namespace package through `tests/conftest.py`).
"""

from typing import Any

from hypothesis import strategies as st

# Lone surrogates cannot be encoded as UTF-8, so no client can send them.
UNICODE_CHARACTERS = st.characters(codec="utf-8")

REASONING_MODELS = ("openai/gpt-oss-20b", "openai/gpt-oss-120b", "Qwen/Qwen3-8B", "QWEN-max", "GPT-OSS")
PLAIN_MODELS = ("mock-model", "gpt-4", "gpt-4o-mini", "meta-llama/Llama-3.1-8B-Instruct")
REASONING_EFFORTS = ("none", "minimal", "low", "medium", "high", "xhigh", "max")
CHAT_ROLES = ("system", "developer", "user", "assistant")

_ABSENT = object()


def texts(*, min_size: int = 0, max_size: int = 120) -> st.SearchStrategy[str]:
    """Any Unicode text a client can send."""
    return st.text(UNICODE_CHARACTERS, min_size=min_size, max_size=max_size)


def model_names() -> st.SearchStrategy[str]:
    """Reasoning and plain model names, plus arbitrary ones (any name is accepted)."""
    return st.one_of(
        st.sampled_from(PLAIN_MODELS),
        st.sampled_from(REASONING_MODELS),
        texts(min_size=1, max_size=30),
    )


def _unknown_fields() -> st.SearchStrategy[dict[str, Any]]:
    """Fields real clients send that the mock accepts and ignores."""
    return st.fixed_dictionaries(
        {},
        optional={
            "temperature": st.floats(0, 2),
            "top_p": st.floats(0, 1),
            "seed": st.integers(-(2**31), 2**31 - 1),
            "user": texts(max_size=20),
            "presence_penalty": st.floats(-2, 2),
        },
    )


def _put(payload: dict[str, Any], key: str, value: object) -> None:
    if value is not _ABSENT:
        payload[key] = value


def _absent_null_or(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """An optional field: left out, sent as an explicit null, or given a value."""
    return st.one_of(st.just(_ABSENT), st.none(), strategy)


def _limits(max_output_tokens: int | None) -> st.SearchStrategy[int]:
    if max_output_tokens is not None:
        return st.integers(1, max_output_tokens)
    return st.one_of(st.integers(1, 64), st.integers(1, 3000))


@st.composite
def _sampling_options(
    draw: st.DrawFn, *, chat: bool, stream: bool | None, max_output_tokens: int | None
) -> dict[str, Any]:
    """Limits, `min_tokens` (never above the limit), `ignore_eos`, `stream` and its options."""
    options: dict[str, Any] = {}
    limits = _limits(max_output_tokens)
    limit: int | None
    if chat:
        max_tokens = draw(_absent_null_or(limits))
        max_completion_tokens = draw(_absent_null_or(limits))
        if max_output_tokens is not None and max_tokens in (None, _ABSENT):
            max_completion_tokens = draw(limits)
        _put(options, "max_tokens", max_tokens)
        _put(options, "max_completion_tokens", max_completion_tokens)
        given = [value for value in (max_completion_tokens, max_tokens) if isinstance(value, int)]
        limit = given[0] if given else None
    else:
        limit = draw(limits if max_output_tokens is not None else _absent_null_or(limits))
        _put(options, "max_tokens", limit)
        limit = limit if isinstance(limit, int) else None
    _put(options, "min_tokens", draw(_absent_null_or(st.integers(0, limit if limit is not None else 64))))
    _put(options, "ignore_eos", draw(_absent_null_or(st.booleans())))
    streaming = draw(_absent_null_or(st.booleans())) if stream is None else stream
    _put(options, "stream", streaming)
    if streaming is True:
        _put(
            options,
            "stream_options",
            draw(_absent_null_or(st.fixed_dictionaries({}, optional={"include_usage": st.booleans()}))),
        )
    return options


def _content_parts(role: str) -> st.SearchStrategy[list[dict[str, Any]]]:
    text_part = st.builds(lambda text: {"type": "text", "text": text}, texts())
    if role != "user":
        return st.lists(text_part, min_size=1, max_size=3)
    image_part = st.just({"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}})
    return st.lists(st.one_of(text_part, image_part), min_size=1, max_size=3)


@st.composite
def chat_messages(draw: st.DrawFn) -> dict[str, Any]:
    """One chat message: string content, text (and image) parts, or null for an assistant."""
    role = draw(st.sampled_from(CHAT_ROLES))
    contents: list[st.SearchStrategy[Any]] = [texts(), _content_parts(role)]
    if role == "assistant":
        contents.append(st.none())
    return {"role": role, "content": draw(st.one_of(contents))}


@st.composite
def chat_payloads(
    draw: st.DrawFn,
    *,
    models: st.SearchStrategy[str] | None = None,
    stream: bool | None = None,
    max_output_tokens: int | None = None,
) -> dict[str, Any]:
    """A valid `POST /v1/chat/completions` body.

    `stream` fixes streaming on or off (drawn when None); `max_output_tokens` forces a limit
    no greater than it, to keep streams short.
    """
    payload: dict[str, Any] = {
        "model": draw(models if models is not None else model_names()),
        "messages": draw(st.lists(chat_messages(), min_size=1, max_size=4)),
    }
    _put(payload, "reasoning_effort", draw(_absent_null_or(st.sampled_from(REASONING_EFFORTS))))
    payload |= draw(_sampling_options(chat=True, stream=stream, max_output_tokens=max_output_tokens))
    payload |= draw(_unknown_fields())
    return payload


def token_ids() -> st.SearchStrategy[int]:
    """A token id (non-negative)."""
    return st.integers(0, 200_000)


def prompts(*, min_text_size: int = 0) -> st.SearchStrategy[str | list[Any]]:
    """Every prompt shape: a string, strings, token ids, or lists of token ids."""
    return st.one_of(
        texts(min_size=min_text_size),
        st.lists(texts(min_size=min_text_size), min_size=1, max_size=4),
        st.lists(token_ids(), min_size=1, max_size=32),
        st.lists(st.lists(token_ids(), min_size=1, max_size=16), min_size=1, max_size=4),
    )


@st.composite
def completion_payloads(
    draw: st.DrawFn,
    *,
    models: st.SearchStrategy[str] | None = None,
    stream: bool | None = None,
    max_output_tokens: int | None = None,
) -> dict[str, Any]:
    """A valid `POST /v1/completions` body, single or batched prompt."""
    payload: dict[str, Any] = {
        "model": draw(models if models is not None else model_names()),
        "prompt": draw(prompts()),
    }
    payload |= draw(_sampling_options(chat=False, stream=stream, max_output_tokens=max_output_tokens))
    payload |= draw(_unknown_fields())
    return payload


@st.composite
def embedding_payloads(draw: st.DrawFn) -> dict[str, Any]:
    """A valid `POST /v1/embeddings` body (OpenAI refuses empty input strings)."""
    payload: dict[str, Any] = {"model": draw(model_names()), "input": draw(prompts(min_text_size=1))}
    _put(payload, "encoding_format", draw(st.sampled_from([_ABSENT, "float", "base64"])))
    _put(payload, "dimensions", draw(_absent_null_or(st.integers(1, 768))))
    _put(payload, "user", draw(st.sampled_from([_ABSENT, "tester"])))
    return payload


@st.composite
def ranking_payloads(draw: st.DrawFn) -> dict[str, Any]:
    """A valid `POST /v1/ranking` body (NVIDIA NIM shape)."""
    passage = st.builds(lambda text: {"text": text}, texts())
    payload: dict[str, Any] = {
        "model": draw(model_names()),
        "query": {"text": draw(texts())},
        "passages": draw(st.lists(passage, min_size=1, max_size=6)),
    }
    _put(payload, "truncate", draw(st.sampled_from([_ABSENT, "END", "NONE"])))
    return payload


def routed_payloads(
    routes: tuple[str, ...] = ("chat", "completions", "embeddings", "ranking"),
) -> st.SearchStrategy[tuple[Any, dict[str, Any]]]:
    """(route, payload) pairs: a valid payload for one of `routes` (names of `mockcore.Route`)."""
    by_route: dict[str, st.SearchStrategy[dict[str, Any]]] = {
        "chat": chat_payloads(),
        "completions": completion_payloads(),
        "embeddings": embedding_payloads(),
        "ranking": ranking_payloads(),
    }
    return st.one_of([st.tuples(st.just(route), by_route[route]) for route in routes])
