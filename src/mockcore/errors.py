"""Request errors of the domain, carrying what an OpenAI error envelope needs."""

import re

import msgspec

_LOCATION = re.compile(r"^(?P<message>.*?)(?: - at `\$(?P<path>[^`]*)`)?$", re.DOTALL)
_MISSING_FIELD = re.compile(r"^Object missing required field `(?P<field>[^`]+)`$")


class RequestError(Exception):
    """A request the server answers with 400 `invalid_request_error`.

    `param` names the offending field as a path (`messages[0].role`), or None when the
    request as a whole is wrong (malformed JSON).
    """

    def __init__(self, message: str, param: str | None, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.param = param
        self.code = code


def error_from_validation(exc: msgspec.ValidationError) -> RequestError:
    """Translate msgspec's `... - at `$.a[0].b`` text into a message and a `param` path."""
    match = _LOCATION.match(str(exc))
    message = match["message"] if match else str(exc)
    path = (match["path"] or "") if match else ""
    missing = _MISSING_FIELD.match(message)
    if missing:
        path = f"{path}.{missing['field']}"
    param = path.removeprefix(".") or None
    text = f"{message} (at `{param}`)" if param and not missing else message
    return RequestError(text, param)


def error_from_malformed_json(exc: msgspec.DecodeError | UnicodeDecodeError) -> RequestError:
    """The body is not JSON at all: OpenAI's wording, with the parser's reason."""
    return RequestError(
        f"We could not parse the JSON body of your request ({exc}). The request body must be a JSON object.",
        None,
    )


class ErrorInfo(msgspec.Struct, frozen=True, kw_only=True):
    """The inside of an OpenAI error envelope `{"error": {...}}`."""

    message: str
    type: str
    param: str | None
    code: str | None


def invalid_request_info(error: RequestError) -> ErrorInfo:
    """The envelope of a 400 for `error`."""
    return ErrorInfo(message=error.message, type="invalid_request_error", param=error.param, code=error.code)


def located_message(info: ErrorInfo) -> str:
    """The message, naming the field when it does not yet: for envelopes without a `param`.

    Anthropic's and TGI's errors carry only a message, so the field goes into its text.
    """
    if info.param is None or f"`{info.param}`" in info.message:
        return info.message
    return f"{info.message} (at `{info.param}`)"
