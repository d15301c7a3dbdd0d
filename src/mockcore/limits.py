"""Request size limits: what keeps one request from pinning a worker or its memory.

Each limit is a Settings option; a request over one is a 400 naming the field, checked
before any planning work is done.
"""

from collections.abc import Iterable

from mockcore.decoding import AnyRequest
from mockcore.errors import RequestError
from mockcore.protocols.anthropic import MessagesRequest, prompt_records
from mockcore.protocols.responses import ResponsesRequest
from mockcore.protocols.tgi import GenerateRequest
from mockcore.requests import (
    ChatCompletionRequest,
    CompletionRequest,
    EmbeddingRequest,
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


def _responses_chars(request: ResponsesRequest) -> int:
    total = len(request.instructions or "")
    if isinstance(request.input, str):
        return total + len(request.input)
    for item in request.input:
        for value in (item.content, item.output):
            if isinstance(value, str):
                total += len(value)
            elif value is not None:
                total += sum(len(part.text) for part in value if part.text is not None)
        total += len(item.arguments or "")
    return total


def _check_generation_protocols(request: AnyRequest, settings: Settings) -> None:
    """The limits of the Responses, Messages and TGI requests."""
    if isinstance(request, ResponsesRequest):
        items = 1 if isinstance(request.input, str) else len(request.input)
        _check_items(items, settings, "input")
        _check_chars(_responses_chars(request), settings, "input")
        _check_tokens(request.max_output_tokens, settings, "max_output_tokens")
    elif isinstance(request, MessagesRequest):
        _check_items(len(request.messages), settings, "messages")
        _check_chars(_texts_chars(text for _, text in prompt_records(request)), settings, "messages")
        _check_tokens(request.max_tokens, settings, "max_tokens")
    elif isinstance(request, GenerateRequest):
        _check_chars(len(request.inputs), settings, "inputs")
        if request.parameters is not None:
            _check_tokens(request.parameters.max_new_tokens, settings, "parameters.max_new_tokens")


def check_limits(request: AnyRequest, settings: Settings) -> None:
    """Raise `RequestError` when `request` exceeds a configured limit."""
    if isinstance(request, ChatCompletionRequest):
        _check_items(len(request.messages), settings, "messages")
        _check_items(request.n or 1, settings, "n")
        _check_chars(_chat_chars(request), settings, "messages")
        _check_tokens(request.max_completion_tokens, settings, "max_completion_tokens")
        _check_tokens(request.max_tokens, settings, "max_tokens")
        _check_tokens(request.min_tokens, settings, "min_tokens")
    elif isinstance(request, CompletionRequest):
        items, chars = _prompt_size(request.prompt)
        _check_items(items * (request.n or 1), settings, "prompt")
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
    else:
        _check_generation_protocols(request, settings)
