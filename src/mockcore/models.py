"""The models `/v1/models` advertises.

Every model name is accepted on inference routes; this list is only what a client that asks
for one gets to choose from.
"""

ADVERTISED_MODEL_IDS: tuple[str, ...] = (
    "mock-model",
    "gpt-4",
    "openai/gpt-oss-20b",
    "openai/gpt-oss-120b",
    "Qwen/Qwen3-8B",
)
MODEL_OWNER = "aiperf-mock-server"
