"""Structured output: JSON values synthesised to validate against a client's JSON Schema.

Tool-call arguments (`tools[].function.parameters`, Anthropic's `input_schema`) and structured
outputs (`response_format.json_schema.schema`) must parse and validate, so the mock draws them
from the schema itself: deterministically from a request digest, in pure domain code with no
validator at run time, and with a `SchemaError` (a 400) for a schema no value can satisfy.
"""

from mockcore.structured.errors import SchemaError
from mockcore.structured.synthesis import synthesize, synthesize_json

__all__ = ["SchemaError", "synthesize", "synthesize_json"]
