"""The scenarios of the suite: what each one sends, to which server, for how long."""

from dataclasses import dataclass, replace

import msgspec

MODEL = "mock-model"
PROMPT = "Benchmark the mock server: every token of this prompt is echoed back in turn."
# 100 words for the embeddings scenario.
EMBEDDING_TEXT = (
    "A benchmark of a mock inference server asks one plain question: how many requests can a "
    "single worker answer in one second while every response stays correct and on time? This "
    "paragraph is the input of the embeddings scenario. It is long enough that the server has to "
    "tokenize and hash a realistic amount of text, and short enough that the measurement is about "
    "the work of one request rather than the cost of reading a large body. The vector that comes "
    "back has seven hundred and sixty eight floats, encoded as JSON numbers, which is most of the "
    "response."
)
STREAM_TOKENS = 200
CHAT_TOKENS = 16
EMBEDDING_DIMS = 768


def _json(value: object) -> str:
    return msgspec.json.encode(value).decode()


CHAT_BODY = _json(
    {
        "model": MODEL,
        "messages": [{"role": "user", "content": PROMPT}],
        "max_tokens": CHAT_TOKENS,
        "ignore_eos": True,
    }
)
STREAM_BODY = _json(
    {
        "model": MODEL,
        "messages": [{"role": "user", "content": PROMPT}],
        "max_tokens": STREAM_TOKENS,
        "ignore_eos": True,
        "stream": True,
    }
)
EMBEDDING_BODY = _json({"model": "mock-embedding", "input": EMBEDDING_TEXT, "encoding_format": "float"})


@dataclass(frozen=True)
class Scenario:
    """One load shape against one server configuration."""

    name: str
    title: str
    path: str
    body: str
    concurrency: int
    duration_s: float
    warmup_s: float
    ttft_ms: float = 0.0
    itl_ms: float = 0.0
    stream: bool = False
    workers: int = 1
    pinned: bool = True  # server on CPU 0, generator on CPU 1; otherwise nothing is pinned
    expect_tokens: int | None = None
    expect_dims: int | None = None
    with_bare: bool = False  # also measure the bare Granian app, and print ours as a ratio
    with_wrk: bool = False  # also measure with wrk, as a second opinion
    headers: tuple[str, ...] = ()  # extra request headers, `Name: value`
    protocol: str = "openai"  # whose token events the load generator counts (bench.loadgen)

    @property
    def ideal_stream_s(self) -> float:
        """TTFT + (N-1)*ITL: when the last token of a stream is due."""
        tokens = self.expect_tokens or 0
        return (self.ttft_ms + max(tokens - 1, 0) * self.itl_ms) / 1000


_S1 = Scenario(
    name="s1",
    title="non-streaming chat, TTFT=ITL=0, 16 tokens, c=64",
    path="/v1/chat/completions",
    body=CHAT_BODY,
    concurrency=64,
    duration_s=10,
    warmup_s=1,
    expect_tokens=CHAT_TOKENS,
    with_bare=True,
    with_wrk=True,
)
_S2 = Scenario(
    name="s2",
    title="streaming chat, TTFT 20 ms, ITL 5 ms, 200 tokens, c=100",
    path="/v1/chat/completions",
    body=STREAM_BODY,
    concurrency=100,
    duration_s=15,
    warmup_s=2,
    ttft_ms=20,
    itl_ms=5,
    stream=True,
    expect_tokens=STREAM_TOKENS,
)
# s3, s5 and mem are variants of s2 and s1: only what differs is written down.
_S3 = replace(
    _S2,
    name="s3",
    title="streaming chat, TTFT 20 ms, ITL 5 ms, 200 tokens, c=1000",
    concurrency=1000,
    warmup_s=3,
)
_S5 = replace(
    _S3, name="s5", title="streaming chat as s3, 4 workers, nothing pinned, c=1000", workers=4, pinned=False
)
_S4 = Scenario(
    name="s4",
    title="embeddings, 1 input of ~100 words, float, 768 dims, c=64",
    path="/v1/embeddings",
    body=EMBEDDING_BODY,
    concurrency=64,
    duration_s=10,
    warmup_s=1,
    expect_dims=EMBEDDING_DIMS,
)
# s2 over the other protocols: the same pacing, the same 200 tokens (forced by the header, as
# these protocols have no `ignore_eos`), the same prompt.
_EXACT_TOKENS = (f"X-Mock-Output-Tokens: {STREAM_TOKENS}",)
_S2_RESPONSES = replace(
    _S2,
    name="s2-responses",
    title="s2 over OpenAI Responses (typed events)",
    path="/v1/responses",
    body=_json({"model": MODEL, "input": PROMPT, "stream": True}),
    headers=_EXACT_TOKENS,
    protocol="responses",
)
_S2_MESSAGES = replace(
    _S2,
    name="s2-messages",
    title="s2 over Anthropic Messages",
    path="/v1/messages",
    body=_json(
        {
            "model": MODEL,
            "max_tokens": STREAM_TOKENS,
            "messages": [{"role": "user", "content": PROMPT}],
            "stream": True,
        }
    ),
    headers=(*_EXACT_TOKENS, "anthropic-version: 2023-06-01"),
    protocol="messages",
)
_S2_TGI = replace(
    _S2,
    name="s2-tgi",
    title="s2 over Hugging Face TGI /generate_stream",
    path="/generate_stream",
    body=_json({"inputs": PROMPT, "parameters": {"max_new_tokens": STREAM_TOKENS}}),
    headers=_EXACT_TOKENS,
    protocol="tgi",
)
_S2_SAGEMAKER = replace(
    _S2,
    name="s2-sagemaker",
    title="s2 over SageMaker invocations-response-stream (event-stream frames)",
    path="/endpoints/mock/invocations-response-stream",
)
# The memory scenario sends s1 requests by count, not for a duration.
_MEM = replace(
    _S1,
    name="mem",
    title="RSS of the worker after 10k and 200k s1 requests, c=64",
    duration_s=0,
    warmup_s=0,
    with_bare=False,
    with_wrk=False,
)
SCENARIOS: dict[str, Scenario] = {
    scenario.name: scenario
    for scenario in [_S1, _S2, _S2_RESPONSES, _S2_MESSAGES, _S2_TGI, _S2_SAGEMAKER, _S3, _S4, _S5, _MEM]
}
MEM_FIRST_REQUESTS = 10_000
MEM_TOTAL_REQUESTS = 200_000
