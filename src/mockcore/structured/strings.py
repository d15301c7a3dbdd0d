"""Strings: plain lowercase words, values of the common `format`s, and examples of a `pattern`.

Lengths count code points, as JSON Schema does; every word is ASCII, so `len` is the length.
"""

import re
from collections.abc import Callable, Iterator

from mockcore.structured.keywords import Schema, count_bounds, strings_of
from mockcore.structured.pattern import checked_pattern, pattern_examples
from mockcore.structured.position import Position

# A cap on what a client can make the mock build, far above any real schema's bounds.
LONGEST_STRING = 4096

WORDS = (
    "amber", "anchor", "apple", "arrow", "autumn", "basil", "beacon", "birch",
    "bloom", "breeze", "bridge", "cedar", "cherry", "cloud", "comet", "copper",
    "coral", "crystal", "delta", "dune", "ember", "falcon", "fern", "field",
    "forest", "garden", "glacier", "harbor", "hazel", "island", "ivory", "jasmine",
    "lagoon", "lantern", "lemon", "linen", "maple", "meadow", "mint", "moss",
    "nectar", "noble", "ocean", "olive", "orbit", "pebble", "pine", "plume",
    "prairie", "quartz", "raven", "ridge", "river", "saffron", "sierra", "silver",
    "spruce", "summit", "thistle", "timber", "tulip", "valley", "willow", "zephyr",
)  # fmt: skip

# Formats whose value has a free middle, stretched or shrunk to meet length bounds: frames of
# (text before it, text after it, the longest the middle may be), the first that fits is used.
_EMAIL_FRAMES = (("", "@example.com", 64), ("", "@ex.io", 64))
_HOSTNAME_FRAMES = (("", ".example.com", 63), ("", "", 63))
_URI_FRAMES = (("https://example.com/", "", LONGEST_STRING), ("urn:", "", LONGEST_STRING))
_REFERENCE_FRAMES = (("/", "", LONGEST_STRING), ("", "", LONGEST_STRING))
_STRETCHY_FORMATS = {
    "email": _EMAIL_FRAMES,
    "idn-email": _EMAIL_FRAMES,
    "hostname": _HOSTNAME_FRAMES,
    "idn-hostname": _HOSTNAME_FRAMES,
    "uri": _URI_FRAMES,
    "iri": _URI_FRAMES,
    "uri-reference": _REFERENCE_FRAMES,
    "iri-reference": _REFERENCE_FRAMES,
    "json-pointer": (("/", "", LONGEST_STRING),),
}
_FORMAT_ATTEMPTS = 4
# Long candidate strings count against the synthesis budget, one step per this many characters.
_CHARACTERS_PER_STEP = 16
_FALLBACK_PATTERN_CANDIDATES = ("", "a", "A", "0", "abc", "ABC", "123", "a1", "user@example.com")


def synthesize_string(schema: Schema, at: Position) -> str:
    """A string honouring `minLength`, `maxLength`, `format` and (best effort) `pattern`."""
    low, high = count_bounds(schema, "minLength", "maxLength", at)
    if low > LONGEST_STRING:
        raise at.error(f"`minLength` {low} exceeds the mock's limit of {LONGEST_STRING}")
    patterns = [_compiled(pattern, at) for pattern in strings_of(schema, "pattern", at)]
    formats = list(dict.fromkeys(strings_of(schema, "format", at)))
    if len(formats) > 1:
        raise at.error(f"a string cannot have the formats {' and '.join(formats)} at once")
    name = formats[0] if formats else None
    for candidate in _candidates(name, patterns, low, high, at):
        at.spend(len(candidate) // _CHARACTERS_PER_STEP)
        if low <= len(candidate) <= (high if high is not None else len(candidate)) and all(
            pattern.search(candidate) for pattern in patterns
        ):
            return candidate
    raise at.error(_why_no_string(name, [pattern.pattern for pattern in patterns], low, high))


def _plain_text(at: Position, low: int = 0, high: int | None = None) -> str:
    """One to three words, lengthened or cut to fit [low, high]."""
    count = 1 + at.pick(3, "word-count")
    text = " ".join(_word(at, index) for index in range(count))
    while len(text) < low:
        text += " " + _word(at, count)
        count += 1
    if high is not None and len(text) > high:
        text = text[:high]
        if text.endswith(" "):
            text = text[:-1] + "s"
    return text


def _format_example(name: str, at: Position, low: int = 0, high: int | None = None) -> str | None:
    """A value of format `name`, near [low, high] where the format can stretch; None if unknown."""
    frames = _STRETCHY_FORMATS.get(name)
    if frames is not None:
        head, tail, longest = next(
            (frame for frame in frames if high is None or len(frame[0]) + len(frame[1]) < high), frames[-1]
        )
        frame = len(head) + len(tail)
        wanted = max(len(_word(at, 0)), low - frame)
        if high is not None:
            wanted = min(wanted, high - frame)
        return head + _letters(at, max(1, min(wanted, longest))) + tail
    fixed = _FIXED_FORMATS.get(name)
    return None if fixed is None else fixed(at)


def _candidates(
    name: str | None, patterns: list[re.Pattern[str]], low: int, high: int | None, at: Position
) -> Iterator[str]:
    if name is not None and _format_example(name, at) is not None:
        for shift in range(_FORMAT_ATTEMPTS):
            yield str(_format_example(name, at.with_variant(at.variant + shift), low, high))
        return
    yield _plain_text(at, low, high)
    for pattern in patterns:
        yield from pattern_examples(pattern.pattern, at, low)
    if patterns:
        yield from _FALLBACK_PATTERN_CANDIDATES


def _compiled(pattern: str, at: Position) -> re.Pattern[str]:
    return checked_pattern(pattern, at)


def _why_no_string(name: str | None, patterns: list[str], low: int, high: int | None) -> str:
    bounded = low > 0 or high is not None
    within = f" of length {low} to {high if high is not None else 'any'}" if bounded else ""
    if patterns:
        scope = f" of format `{name}`" if name is not None else ""
        listed = " and ".join(repr(pattern) for pattern in patterns)
        return f"`pattern` {listed} is not supported by the mock: no string{within}{scope} it tried matches"
    return f"format `{name}` has no value{within}"


def _word(at: Position, index: int) -> str:
    return WORDS[at.pick(len(WORDS), f"word-{index}")]


def _letters(at: Position, length: int) -> str:
    """`length` lowercase letters: words run together, for the free middle of a format."""
    text, index = "", 0
    while len(text) < length:
        text += _word(at, index)
        index += 1
    return text[:length]


def _date(at: Position) -> str:
    return f"{2020 + at.pick(7, 'year')}-{1 + at.pick(12, 'month'):02}-{1 + at.pick(28, 'day'):02}"


def _time(at: Position) -> str:
    return f"{at.pick(24, 'hour'):02}:{at.pick(60, 'minute'):02}:{at.pick(60, 'second'):02}Z"


def _uuid(at: Position) -> str:
    digits = f"{at.pick(1 << 64, 'uuid-high'):016x}{at.pick(1 << 64, 'uuid-low'):016x}"
    variant = "89ab"[at.pick(4, "uuid-variant")]
    digits = f"{digits[:12]}4{digits[13:16]}{variant}{digits[17:]}"
    return f"{digits[:8]}-{digits[8:12]}-{digits[12:16]}-{digits[16:20]}-{digits[20:]}"


def _ipv4(at: Position) -> str:
    return f"10.{at.pick(256, 'ipv4-b')}.{at.pick(256, 'ipv4-c')}.{1 + at.pick(254, 'ipv4-d')}"


def _ipv6(at: Position) -> str:
    return f"2001:db8::{at.pick(1 << 16, 'ipv6-g') + 1:x}:{at.pick(1 << 16, 'ipv6-h'):x}"


def _duration(at: Position) -> str:
    shapes = (
        f"P{1 + at.pick(30, 'days')}D",
        f"PT{1 + at.pick(23, 'hours')}H{at.pick(60, 'minutes')}M",
        f"PT{1 + at.pick(59, 'minutes')}M",
        f"P{1 + at.pick(8, 'weeks')}W",
    )
    return shapes[at.pick(len(shapes), "duration")]


_FIXED_FORMATS: dict[str, Callable[[Position], str]] = {
    "date-time": lambda at: f"{_date(at)}T{_time(at)}",
    "date": _date,
    "time": _time,
    "uuid": _uuid,
    "ipv4": _ipv4,
    "ipv6": _ipv6,
    "duration": _duration,
}
