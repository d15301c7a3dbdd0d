"""Structured output: JSON values synthesised to validate against a client's JSON Schema.

Tool-call arguments (OpenAI `tools[].function.parameters`, Anthropic `input_schema`) and
structured outputs (`response_format.json_schema.schema`) must parse and validate, so the mock
draws them from the schema itself: deterministically from a request digest, pure domain code
with no validator at run time, and a `SchemaError` (a 400) for a schema no value satisfies.
"""

from mockcore.structured.errors import SchemaError
from mockcore.structured.synthesis import synthesize, synthesize_json

__all__ = ["SchemaError", "synthesize", "synthesize_json"]
