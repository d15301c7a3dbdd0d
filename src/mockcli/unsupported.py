"""Options of the reference mock server that this server does not have yet.

A CI script written for the reference may carry them. Each is a flag here, so it is parsed,
and giving one fails with a line that names it and the work it belongs to: never accepted
and ignored. A switch turned *off* (`--no-tokenizer-trust-remote-code`) asks for what this
server does anyway, so it passes.
"""

from collections.abc import Mapping
from typing import Any

from mockcli.config import ConfigError
from mockcore.settings import environment_variable

_TOKENIZER = "real tokenizers (this server counts 4 characters per token)"
_RECORDING = "request recording"
_ACCURACY = "the accuracy-dataset mode"
_ANTHROPIC = "the Anthropic Messages route"

# option name -> (is a switch, the work it belongs to)
UNSUPPORTED_OPTIONS: dict[str, tuple[bool, str]] = {
    "tokenizer": (False, _TOKENIZER),
    "tokenizer_revision": (False, _TOKENIZER),
    "tokenizer_trust_remote_code": (True, _TOKENIZER),
    "record_requests": (False, _RECORDING),
    "accuracy_dataset": (False, _ACCURACY),
    "accuracy_format": (False, _ACCURACY),
    "accuracy_match": (False, _ACCURACY),
    "accuracy_correct_rate": (False, _ACCURACY),
    "accuracy_cot_rate": (False, _ACCURACY),
    "accuracy_reasoning_field": (True, _ACCURACY),
    "accuracy_adversarial_rate": (False, _ACCURACY),
    "anthropic_split_usage": (True, _ANTHROPIC),
}
_FALSE_WORDS = {"false", "0"}


def unsupported_help(name: str) -> str:
    """The `--help` line of an unsupported option."""
    _, work = UNSUPPORTED_OPTIONS[name]
    return f"Reference server option, not supported yet ({work}); giving it is an error."


def _turned_on(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() not in _FALSE_WORDS


def check_unsupported(flag_values: Mapping[str, Any | None], environ: Mapping[str, str]) -> None:
    """Raise `ConfigError` for the first unsupported option given, by flag or environment."""
    for name, (is_switch, work) in UNSUPPORTED_OPTIONS.items():
        flag = "--" + name.replace("_", "-")
        variable = environment_variable(name)
        given: Any | None = flag_values.get(name)
        source = flag
        if given is None and variable in environ:
            given, source = environ[variable], f"{flag} (from {variable})"
        if given is None or (is_switch and not _turned_on(given)):
            continue
        raise ConfigError(
            f"{source} is an option of the reference mock server that this server does not support yet: "
            f"it belongs to {work}."
        )
