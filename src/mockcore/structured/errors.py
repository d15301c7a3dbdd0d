"""The one error of schema synthesis: a schema no value can satisfy, or one we cannot read."""

from mockcore.errors import RequestError


class SchemaError(RequestError):
    """A client's JSON Schema that the mock cannot synthesise a value for (answered with a 400).

    `param` names the request field that holds the schema, such as
    `tools[0].function.parameters`; the message says where inside the schema the trouble is.
    """
