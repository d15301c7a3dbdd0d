"""Request size limits: what keeps one request from pinning a worker or its memory.

Each limit is a Settings option; a request over one is a 400 naming the field, checked
before any planning work is done.
"""

from collections.abc import Iterable

from mockcore.errors import RequestError
from mockcore.requests import (
    ChatCompletionRequest,
    CompletionRequest,
    EmbeddingRequest,
    InferenceRequest,
    Prompt,
    RankingRequest,
)
from mockcore.settings import Settings

CHARS_PER_TOKEN_ID = 4


def _check_items(count: int, settings: Settings, param: str) -> None:
    if count > settings.max_request_items:
        raise RequestError(
            f"`{param}` has {count} items; this server accepts at most {settings.max_request_items} "
            "(--max-request-items).",
            param,
        )


def _check_chars(count: int, settings: Settings, param: str) -> None:
    if count > settings.max_prompt_chars:
        raise RequestError(
            f"The prompt has {count} characters; this server accepts at most {settings.max_prompt_chars} "
            "(--max-prompt-chars).",
            param,
        )


def _check_tokens(value: int | None, settings: Settings, param: str) -> None:
    if value is not None and value > settings.max_output_tokens:
        raise RequestError(
            f"`{param}` is {value}; this server generates at most {settings.max_output_tokens} tokens "
            "per request (--max-output-tokens).",
            param,
        )


def _prompt_size(prompt: Prompt) -> tuple[int, int]:
    """(items, characters) of a completions prompt or an embeddings input."""
    if isinstance(prompt, str):
        return 1, len(prompt)
    chars = 0
    items = 0
    for element in prompt:
        if isinstance(element, str):
            items += 1
            chars += len(element)
        elif isinstance(element, int):
            items = 1  # a flat token-id list is one prompt
            chars += CHARS_PER_TOKEN_ID
        else:
            items += 1
            chars += CHARS_PER_TOKEN_ID * len(element)
    return items, chars


def _chat_chars(request: ChatCompletionRequest) -> int:
    total = 0
    for message in request.messages:
        content = message.content
        if isinstance(content, str):
            total += len(content)
        elif content is not None:
            total += sum(len(part.text) for part in content if part.text is not None)
    return total


def _texts_chars(texts: Iterable[str]) -> int:
    return sum(len(text) for text in texts)


def check_limits(request: InferenceRequest, settings: Settings) -> None:
    """Raise `RequestError` when `request` exceeds a configured limit."""
    if isinstance(request, ChatCompletionRequest):
        _check_items(len(request.messages), settings, "messages")
        _check_chars(_chat_chars(request), settings, "messages")
        _check_tokens(request.max_completion_tokens, settings, "max_completion_tokens")
        _check_tokens(request.max_tokens, settings, "max_tokens")
        _check_tokens(request.min_tokens, settings, "min_tokens")
    elif isinstance(request, CompletionRequest):
        items, chars = _prompt_size(request.prompt)
        _check_items(items, settings, "prompt")
        _check_chars(chars, settings, "prompt")
        _check_tokens(request.max_tokens, settings, "max_tokens")
        _check_tokens(request.min_tokens, settings, "min_tokens")
    elif isinstance(request, EmbeddingRequest):
        items, chars = _prompt_size(request.input)
        _check_items(items, settings, "input")
        _check_chars(chars, settings, "input")
    elif isinstance(request, RankingRequest):
        _check_items(len(request.passages), settings, "passages")
        _check_chars(
            len(request.query.text) + _texts_chars(passage.text for passage in request.passages),
            settings,
            "passages",
        )
