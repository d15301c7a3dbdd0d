"""SPEC sections 4 and 10: identical requests give identical answers, in any process.

Python's `hash` of a string changes with PYTHONHASHSEED; the core must never depend on it, so
a prediction made in a fresh interpreter with another hash seed is byte-for-byte the same.
"""

import ast
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import msgspec
import pytest
from hypothesis import given
from tests.strategies import routed_payloads

from mockcore import Route, Settings, predict

CORE_ROOT = Path(__file__).parents[2] / "src" / "mockcore"
CORE_SOURCES = sorted(CORE_ROOT.rglob("*.py"))

# (route, payload, settings): one of each kind of answer, with sets and dicts of words inside.
CASES: list[tuple[Route, dict[str, Any], dict[str, Any]]] = [
    (
        "chat",
        {
            "model": "Qwen/Qwen3-8B",
            "messages": [
                {"role": "system", "content": "You are terse."},
                {"role": "user", "content": [{"type": "text", "text": "Héllo wörld, 日本語 🙂"}]},
            ],
            "reasoning_effort": "low",
            "max_tokens": 150,
        },
        {},
    ),
    ("chat", {"model": "gpt-4", "messages": [{"role": "user", "content": "a b c d e f g"}]}, {"ttft": 3.5}),
    (
        "completions",
        {"model": "m", "prompt": ["first prompt", "second, longer prompt"], "min_tokens": 20},
        {},
    ),
    ("completions", {"model": "m", "prompt": [[1, 2, 3], [40, 50]], "max_tokens": 9, "ignore_eos": True}, {}),
    (
        "embeddings",
        {"model": "m", "input": ["one", "two"], "dimensions": 16, "encoding_format": "base64"},
        {},
    ),
    (
        "ranking",
        {
            "model": "m",
            "query": {"text": "which words overlap with the query words"},
            "passages": [
                {"text": "words overlap here"},
                {"text": "nothing in common"},
                {"text": "query words"},
            ],
        },
        {},
    ),
    ("chat", {"model": "m", "messages": []}, {}),
    (
        "chat",
        {"model": "m", "messages": [{"role": "user", "content": "x"}]},
        {"error_rate": 100, "random_seed": 9},
    ),
]

PREDICT_SCRIPT = """
import sys
import msgspec
from mockcore import Settings, predict

cases = msgspec.json.decode(sys.stdin.buffer.read())
predictions = [
    predict(route, payload, msgspec.convert(settings, Settings), sequence_number=index + 1)
    for index, (route, payload, settings) in enumerate(cases)
]
sys.stdout.buffer.write(msgspec.json.encode(predictions))
"""


def predictions_json_here() -> bytes:
    predictions = [
        predict(route, payload, msgspec.convert(settings, Settings), sequence_number=index + 1)
        for index, (route, payload, settings) in enumerate(CASES)
    ]
    return msgspec.json.encode(predictions)


def predictions_json_in_fresh_interpreter(hash_seed: str) -> bytes:
    completed = subprocess.run(
        [sys.executable, "-c", PREDICT_SCRIPT],
        input=msgspec.json.encode(CASES),
        capture_output=True,
        env=os.environ | {"PYTHONHASHSEED": hash_seed},
        check=True,
        timeout=60,
    )
    return completed.stdout


@given(routed_payloads())
def test_the_same_payload_gives_an_equal_prediction(request: tuple[Route, dict[str, Any]]) -> None:
    route, payload = request
    first, second = predict(route, payload), predict(route, payload)
    assert first == second
    assert msgspec.json.encode(first) == msgspec.json.encode(second)


@given(routed_payloads())
def test_the_order_of_the_json_keys_does_not_change_the_prediction(
    request: tuple[Route, dict[str, Any]],
) -> None:
    route, payload = request
    reversed_keys = dict(reversed(payload.items()))
    assert predict(route, reversed_keys) == predict(route, payload)


def test_predictions_are_identical_in_fresh_interpreters_with_different_hash_seeds() -> None:
    here = predictions_json_here()
    seed_1 = predictions_json_in_fresh_interpreter("1")
    seed_2 = predictions_json_in_fresh_interpreter("2")
    assert json.loads(here)  # the cases really produce something to compare
    assert seed_1 == here
    assert seed_2 == here


@pytest.mark.parametrize("source", CORE_SOURCES, ids=lambda path: path.relative_to(CORE_ROOT).as_posix())
def test_the_core_never_calls_the_salted_builtin_hash(source: Path) -> None:
    tree = ast.parse(source.read_text(encoding="utf-8"))
    calls = [
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "hash"
    ]
    assert calls == [], f"{source.relative_to(CORE_ROOT)} calls hash() on lines {calls}"
