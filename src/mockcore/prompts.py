"""Prompt views: the token pieces, token count and content digest of a request's prompt."""

from collections.abc import Iterator, Sequence

import msgspec

from mockcore.digest import digest_fields, digest_texts, digest_token_ids
from mockcore.errors import RequestError
from mockcore.requests import ChatMessage, Prompt
from mockcore.tokenizer import TextPieces, count_tokens


class PromptView(msgspec.Struct, frozen=True, kw_only=True):
    """What the planner needs of one prompt.

    `texts` is empty for a token-id prompt (it has no text) while `token_count` counts its
    ids; `digest` is the stable hash h of SPEC section 4.
    """

    texts: tuple[str, ...]
    token_count: int
    digest: bytes

    def pieces(self) -> TextPieces:
        """The token pieces of every text in order, made as they are read (embeddings read none)."""
        return TextPieces(self.texts)


def _message_texts(message: ChatMessage, index: int) -> Iterator[str]:
    """The texts of one message: its string content, or the `text` of each text part."""
    content = message.content
    if content is None:
        return
    if isinstance(content, str):
        yield content
        return
    for part_index, part in enumerate(content):
        if part.type != "text":
            continue
        if part.text is None:
            raise RequestError(
                "A content part of type `text` needs a `text` string.",
                f"messages[{index}].content[{part_index}].text",
            )
        yield part.text


def _tool_call_texts(message: ChatMessage) -> Iterator[str]:
    """An earlier turn's calls are prompt text too: each function's name and arguments."""
    for call in message.tool_calls or ():
        yield call.function.name
        yield call.function.arguments


def chat_prompt(messages: Sequence[ChatMessage]) -> PromptView:
    """All messages, every role, in order: pieces concatenated, counts summed, one digest."""
    records: list[tuple[str, str]] = []
    all_texts: list[str] = []
    for index, message in enumerate(messages):
        texts = list(_message_texts(message, index))
        if message.tool_calls:
            texts.extend(_tool_call_texts(message))
        records.extend((message.role, text) for text in texts or [""])
        all_texts.extend(texts)
    return PromptView(
        texts=tuple(all_texts),
        token_count=sum(count_tokens(text) for text in all_texts),
        digest=digest_fields(records),
    )


def text_prompt(text: str) -> PromptView:
    """A plain string prompt."""
    return PromptView(texts=(text,), token_count=count_tokens(text), digest=digest_texts([text]))


def token_id_prompt(token_ids: Sequence[int]) -> PromptView:
    """A token-id prompt: counted by its ids, no text to echo."""
    return PromptView(texts=(), token_count=len(token_ids), digest=digest_token_ids(token_ids))


def batch_prompts(prompt: Prompt, param: str) -> tuple[PromptView, ...]:
    """Split a completions `prompt` (or embeddings `input`) into one view per prompt.

    Accepts a string, a list of strings, a list of token ids, or a list of token-id lists;
    a list that mixes these kinds is a 400 naming `param`.
    """
    if isinstance(prompt, str):
        return (text_prompt(prompt),)
    if all(isinstance(element, str) for element in prompt):
        return tuple(text_prompt(element) for element in prompt if isinstance(element, str))
    if all(isinstance(element, int) for element in prompt):
        return (token_id_prompt([element for element in prompt if isinstance(element, int)]),)
    if all(isinstance(element, list) for element in prompt):
        return tuple(token_id_prompt(element) for element in prompt if isinstance(element, list))
    raise RequestError(
        f"`{param}` must be a string, a list of strings, a list of token ids or a list of "
        "token-id lists, not a mixture.",
        param,
    )
