r"""Plans to Server-Sent Events, framed `data: <compact JSON>\\n\\n` (OpenAI chat and completions).

Hot path: the constant head of every chunk is encoded once per stream, and each token
only splices its JSON-escaped text between pre-built bytes (about 4x cheaper than encoding a
Struct per token, byte-identical output). Log-probabilities, tool-call deltas and running
usage are spliced the same way, only into the streams that asked for them.
"""

from collections.abc import Iterator

import msgspec

from mockcore.generation import token_logprob
from mockcore.plan import ChoicePlan, GenerationPlan, Usage
from mockhttp.render_json import chat_token_logprob, usage_body

DONE_EVENT = b"data: [DONE]\n\n"
_encode = msgspec.json.encode
_CLOSE_CHOICES = b"}]"
_EVENT_END = b"}\n\n"
_CHUNK_OBJECT = {"chat": b"chat.completion.chunk", "completions": b"text_completion"}


def _finish(reason: str) -> bytes:
    return b',"finish_reason":"' + reason.encode() + b'"'


def _chunk_head(plan: GenerationPlan, response_id: str, created: int) -> bytes:
    return b"".join(
        (
            b'data: {"id":',
            _encode(response_id),
            b',"object":"',
            _CHUNK_OBJECT[plan.endpoint],
            b'","created":',
            str(created).encode(),
            b',"model":',
            _encode(plan.model),
            b",",
        )
    )


class _ChoiceFramer:
    """Frames the token events of one choice."""

    __slots__ = (
        "_chat",
        "_content_count",
        "_content_prefix",
        "_finish",
        "_first_content_prefix",
        "_first_reasoning_prefix",
        "_open_choice",
        "_reasoning_count",
        "_reasoning_prefix",
        "_text_offset",
        "_top",
        "choice",
        "token_count",
    )

    def __init__(self, head: bytes, choice: ChoicePlan, plan: GenerationPlan) -> None:
        self.choice = choice
        # Counted once per stream: `frame` runs once per token.
        self.token_count = choice.token_count
        self._reasoning_count = len(choice.reasoning)
        self._content_count = len(choice.content)
        self._finish = _finish(choice.finish_reason)
        self._chat = plan.endpoint == "chat"
        self._top = plan.logprobs
        self._text_offset = 0
        open_choice = head + b'"choices":[{"index":' + str(choice.index).encode()
        self._open_choice = open_choice
        if self._chat:
            # vLLM sends the reasoning under both names: `reasoning` (new) and `reasoning_content`.
            self._reasoning_prefix = open_choice + b',"delta":{"reasoning":'
            self._content_prefix = open_choice + b',"delta":{"content":'
            self._first_reasoning_prefix = open_choice + b',"delta":{"role":"assistant","reasoning":'
            self._first_content_prefix = open_choice + b',"delta":{"role":"assistant","content":'
        else:
            text_prefix = open_choice + b',"text":'
            self._reasoning_prefix = self._content_prefix = text_prefix
            self._first_reasoning_prefix = self._first_content_prefix = text_prefix

    def frame(self, token_index: int, tail: bytes) -> bytes:
        """The event of this choice's token `token_index`; `tail` closes the chunk (usage, if any)."""
        choice = self.choice
        reasoning_count = self._reasoning_count
        finish = self._finish if token_index == self.token_count - 1 else b""
        if token_index < reasoning_count:
            piece = choice.reasoning[token_index]
            prefix = self._first_reasoning_prefix if token_index == 0 else self._reasoning_prefix
            encoded = _encode(piece)
            if self._chat:
                return prefix + encoded + b',"reasoning_content":' + encoded + b"}" + finish + tail
            return prefix + encoded + finish + tail
        content_index = token_index - reasoning_count
        if content_index >= self._content_count:
            return self._tool_frame(content_index - self._content_count, token_index == 0) + finish + tail
        piece = choice.content[content_index]
        prefix = self._first_content_prefix if token_index == 0 else self._content_prefix
        close = b"}" if self._chat else b""
        if self._top is None:
            return prefix + _encode(piece) + close + finish + tail
        return prefix + _encode(piece) + close + self._logprobs(content_index, piece) + finish + tail

    def empty_frame(self, tail: bytes) -> bytes:
        """The one event of a choice that generated nothing (a stop string at its very start)."""
        delta = b',"delta":{"role":"assistant","content":""}' if self._chat else b',"text":""'
        return self._open_choice + delta + self._finish + tail

    def _tool_frame(self, argument_index: int, first_token: bool) -> bytes:
        """A tool-call delta: the first piece of each call carries its id and name."""
        for call_index, call in enumerate(self.choice.tool_calls):
            if argument_index >= len(call.arguments):
                argument_index -= len(call.arguments)
                continue
            piece = _encode(call.arguments[argument_index])
            role = b'"role":"assistant",' if first_token else b""
            if argument_index == 0:
                opening = (
                    b'{"index":'
                    + str(call_index).encode()
                    + b',"id":'
                    + _encode(call.id)
                    + b',"type":"function","function":{"name":'
                    + _encode(call.name)
                    + b',"arguments":'
                )
            else:
                opening = b'{"index":' + str(call_index).encode() + b',"function":{"arguments":'
            return self._open_choice + b',"delta":{' + role + b'"tool_calls":[' + opening + piece + b"}}]}"
        raise IndexError(argument_index)

    def _logprobs(self, content_index: int, piece: str) -> bytes:
        """The `logprobs` member of a content token's chunk, in the shape of chat or completions."""
        top = self._top or 0
        value = token_logprob(self.choice.digest, content_index, piece, top)
        if self._chat:
            return b',"logprobs":{"content":[' + _encode(chat_token_logprob(value)) + b"]}"
        offset = self._text_offset
        self._text_offset += len(piece)
        top_map = _encode(dict(value.top)) if top else b"null"
        return b"".join(
            (
                b',"logprobs":{"tokens":[',
                _encode(piece),
                b'],"token_logprobs":[',
                _encode(value.logprob),
                b'],"top_logprobs":[',
                top_map,
                b'],"text_offset":[',
                str(offset).encode(),
                b"]}",
            )
        )


def _running_usage(usage: Usage, completion_tokens: int) -> bytes:
    total = usage.prompt_tokens + completion_tokens
    return b"".join(
        (
            b'"usage":{"prompt_tokens":',
            str(usage.prompt_tokens).encode(),
            b',"completion_tokens":',
            str(completion_tokens).encode(),
            b',"total_tokens":',
            str(total).encode(),
            b"}",
        )
    )


def stream_events(plan: GenerationPlan, response_id: str, created: int) -> Iterator[tuple[int, bytes]]:
    """Yield (event index, frame) in send order; event index k is due at TTFT + k * ITL.

    Choices of a batch interleave: at each index, every choice that still has a token sends
    one event. After the last token: the usage chunk (if asked for) and `[DONE]`, both due
    with the last token. With `continuous_usage_stats` every chunk carries the usage so far.
    """
    head = _chunk_head(plan, response_id, created)
    framers = [_ChoiceFramer(head, choice, plan) for choice in plan.choices]
    last_index = max(plan.event_count - 1, 0)
    plain_tail = _CLOSE_CHOICES + _EVENT_END
    if len(framers) == 1 and not plan.continuous_usage and framers[0].token_count:
        framer = framers[0]
        for token_index in range(framer.token_count):
            yield token_index, framer.frame(token_index, plain_tail)
    else:
        sent = 0
        running = plan.continuous_usage
        for token_index in range(max(plan.event_count, 1)):
            for framer in framers:
                count = framer.token_count
                if token_index >= max(count, 1):
                    continue
                sent += 1 if count else 0
                tail = (
                    _CLOSE_CHOICES + b"," + _running_usage(plan.usage, sent) + _EVENT_END
                    if running
                    else plain_tail
                )
                if count:
                    yield token_index, framer.frame(token_index, tail)
                else:
                    yield token_index, framer.empty_frame(tail)
    if plan.include_usage:
        usage = _encode(usage_body(plan.usage))
        yield last_index, head + b'"choices":[],"usage":' + usage + b"}\n\n"
    yield last_index, DONE_EVENT
