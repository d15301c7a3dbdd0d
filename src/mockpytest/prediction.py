"""The exact answer a mock with given Settings sends: `mockcore.predict`, by route or path."""

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, get_args

if TYPE_CHECKING:
    from mockcore.predict import Prediction
    from mockcore.requests import Route
    from mockcore.settings import Settings


def route_of(route: str) -> "Route":
    """A route name (`"chat"`) as is, or the route a path (`"/v1/chat/completions"`) serves."""
    from mockcore.requests import Route  # noqa: PLC0415 - the plugin imports nothing until used
    from mockhttp.inference_endpoints import ROUTE_PATHS  # noqa: PLC0415

    names: tuple[Route, ...] = get_args(Route)
    if route in names:
        return next(name for name in names if name == route)
    by_path = {path: name for name, path in ROUTE_PATHS.items()}
    if route in by_path:
        return by_path[route]
    accepted = ", ".join([*names, *by_path])
    raise ValueError(f"unknown route {route!r}: expected one of {accepted}")


def predict_answer(
    settings: "Settings", route: str, body: Mapping[str, Any] | bytes, **keywords: Any
) -> "Prediction":
    """`mockcore.predict.predict` for `route` (name or path); `keywords` go through unchanged."""
    from mockcore.predict import predict  # noqa: PLC0415 - imported when used

    return predict(route_of(route), body, settings, **keywords)
