"""Which models reason, and how many tokens each `reasoning_effort` buys."""

from mockcore.requests import ReasoningEffort

REASONING_MODEL_MARKERS: tuple[str, ...] = ("gpt-oss", "qwen")
DEFAULT_REASONING_EFFORT: ReasoningEffort = "medium"
REASONING_BUDGET_TOKENS: dict[ReasoningEffort, int] = {
    "none": 0,
    "minimal": 50,
    "low": 100,
    "medium": 250,
    "high": 500,
    "xhigh": 1000,
    "max": 2000,
}


def is_reasoning_model(model: str) -> bool:
    """GPT-OSS and Qwen families reason (case-insensitive substring match)."""
    lowered = model.lower()
    return any(marker in lowered for marker in REASONING_MODEL_MARKERS)


def effort_tokens(effort: ReasoningEffort | None) -> int:
    """Reasoning tokens `reasoning_effort` buys a reasoning model (the default effort when None)."""
    return REASONING_BUDGET_TOKENS[effort or DEFAULT_REASONING_EFFORT]


def reasoning_budget(model: str, effort: ReasoningEffort | None) -> int:
    """Reasoning tokens a request asks for before any max-tokens limit; 0 for other models."""
    if not is_reasoning_model(model):
        return 0
    return effort_tokens(effort)
