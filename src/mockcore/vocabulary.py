"""The built-in text that output cycles through when a prompt has no text of its own.

An empty prompt or a token-id prompt gives nothing to echo, so the output is drawn from
this passage, split by the same tokenizer as everything else.
"""

from mockcore.tokenizer import split_tokens

FALLBACK_TEXT = (
    "The mock server answers every request with deterministic text, so that a benchmark can "
    "check what it receives and repeat the run byte for byte. Tokens arrive at the pace the "
    "operator chose: the first after the time to first token, each next one after the "
    "inter-token latency, every deadline measured from the arrival of the request. "
)

FALLBACK_PIECES: tuple[str, ...] = split_tokens(FALLBACK_TEXT)
