"""Integers and numbers inside their bounds: few decimals, and multiples that check exactly.

Values are drawn on a grid (whole numbers, hundredths, then finer grids for tight bounds) so
that they read like data, and each candidate is tested the way validators test it: a float
`multipleOf` passes only when `value / multipleOf` is a whole float, so 0.3 is not a multiple
of 0.1 there and the draw moves on to a neighbour that is.
"""

import math
from collections.abc import Callable, Iterator
from fractions import Fraction

import msgspec

from mockcore.structured.keywords import Schema, exact_fraction, number_of
from mockcore.structured.position import Position

_DEFAULT_SPAN = 100
_DECIMAL_GRIDS = tuple(Fraction(1, 10**places) for places in (2, 4, 6, 9, 12, 15))
_NEIGHBOURS = 16

Number = int | float


class _Bounds(msgspec.Struct, frozen=True):
    """The four numeric bounds of a schema, as given."""

    minimum: Number | None
    exclusive_minimum: Number | None
    maximum: Number | None
    exclusive_maximum: Number | None

    def admits(self, value: Number) -> bool:
        """Whether `value` lies inside every bound, compared exactly as validators compare."""
        return (
            (self.minimum is None or value >= self.minimum)
            and (self.exclusive_minimum is None or value > self.exclusive_minimum)
            and (self.maximum is None or value <= self.maximum)
            and (self.exclusive_maximum is None or value < self.exclusive_maximum)
        )

    def interval(self, default_span: Fraction) -> tuple[Fraction, Fraction]:
        """The closed hull of the bounds, widened to `default_span` on an open side."""
        lows = [Fraction(bound) for bound in (self.minimum, self.exclusive_minimum) if bound is not None]
        highs = [Fraction(bound) for bound in (self.maximum, self.exclusive_maximum) if bound is not None]
        low = max(lows) if lows else None
        high = min(highs) if highs else None
        if low is None:
            low = (high - default_span) if high is not None else Fraction(0)
        if high is None:
            high = low + default_span
        return low, high


def synthesize_integer(schema: Schema, at: Position) -> int:
    """A whole number inside the bounds, a multiple of `multipleOf` when given."""
    bounds = _bounds(schema, at)
    multiple = number_of(schema, "multipleOf", at)
    step = Fraction(1) if multiple is None else Fraction(exact_fraction(multiple).numerator)
    value = _on_grid(bounds, step, multiple, int, at)
    if value is None:
        raise at.error(f"no integer satisfies the bounds{_multiple_text(multiple)}")
    return int(value)


def synthesize_number(schema: Schema, at: Position) -> Number:
    """A number with few decimals inside the bounds, or a multiple of `multipleOf` when given."""
    bounds = _bounds(schema, at)
    multiple = number_of(schema, "multipleOf", at)
    if multiple is not None:
        convert: Callable[[Fraction], Number] = int if isinstance(multiple, int) else float
        value = _on_grid(bounds, exact_fraction(multiple), multiple, convert, at)
        if value is None:
            raise at.error(f"no number satisfies the bounds{_multiple_text(multiple)}")
        return value
    for step in _DECIMAL_GRIDS:
        value = _on_grid(bounds, step, None, float, at)
        if value is not None:
            return value
    low, high = bounds.interval(Fraction(_DEFAULT_SPAN))
    middle = float((low + high) / 2)
    if bounds.admits(middle):
        return middle
    raise at.error("no number satisfies the bounds")


def number_admits(schema: Schema, value: Number, at: Position) -> bool:
    """Whether `value` passes the bounds and `multipleOf` of `schema` (for `enum` members)."""
    return _bounds(schema, at).admits(value) and _passes_multiple_of(
        value, number_of(schema, "multipleOf", at)
    )


def _bounds(schema: Schema, at: Position) -> _Bounds:
    bounds = _Bounds(
        number_of(schema, "minimum", at),
        number_of(schema, "exclusiveMinimum", at),
        number_of(schema, "maximum", at),
        number_of(schema, "exclusiveMaximum", at),
    )
    if bounds.minimum is not None and bounds.maximum is not None and bounds.minimum > bounds.maximum:
        raise at.error(f"`minimum` ({bounds.minimum}) is greater than `maximum` ({bounds.maximum})")
    return bounds


def _on_grid(
    bounds: _Bounds,
    step: Fraction,
    multiple: Number | None,
    convert: Callable[[Fraction], Number],
    at: Position,
) -> Number | None:
    """A drawn multiple of `step` that passes every bound and the `multipleOf` check, if any."""
    low, high = bounds.interval(max(Fraction(_DEFAULT_SPAN), 10 * step))
    first, last = math.ceil(low / step), math.floor(high / step)
    if first > last:
        return None
    chosen = first + at.pick(last - first + 1, "number")
    for index in _nearby(chosen, first, last):
        value = convert(index * step)
        if bounds.admits(value) and _passes_multiple_of(value, multiple):
            return value
    return None


def _nearby(chosen: int, first: int, last: int) -> Iterator[int]:
    """`chosen`, then its neighbours outwards, then both ends, all inside [first, last]."""
    yield chosen
    for distance in range(1, _NEIGHBOURS + 1):
        for index in (chosen + distance, chosen - distance):
            if first <= index <= last:
                yield index
    yield from (first, first + 1, last - 1, last)


def _passes_multiple_of(value: Number, multiple: Number | None) -> bool:
    """The `multipleOf` test of the `jsonschema` validator, float quirks included."""
    if multiple is None:
        return True
    if isinstance(multiple, float):
        quotient = value / multiple
        return math.isfinite(quotient) and int(quotient) == quotient
    return value % multiple == 0


def _multiple_text(multiple: Number | None) -> str:
    return "" if multiple is None else f" with `multipleOf` {multiple}"
