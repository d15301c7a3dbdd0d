r"""Example strings for a `pattern`, from a small reading of the regular expression itself.

Only the everyday subset is read: literals, escapes such as `\d`, character classes,
groups, alternation, anchors and quantifiers. Anything else (look-arounds, back-references,
inline flags) yields no generated example, and the caller falls back to fixed candidates.
Every example is a guess the caller checks with `re.search`, as validators do.
"""

import re
import string
from collections.abc import Iterator

import msgspec

from mockcore.structured.position import Position

_DIGITS = string.digits
_WORD_CHARACTERS = string.ascii_lowercase + string.ascii_uppercase + string.digits + "_"
# What `.` and negated classes draw from: readable characters first.
_PRINTABLE = string.ascii_lowercase + string.digits + string.ascii_uppercase + " -_.,:;!?@#/"
_CLASS_ESCAPES = {
    "d": _DIGITS,
    "w": _WORD_CHARACTERS,
    "s": " ",
    "D": string.ascii_lowercase,
    "W": " -.",
    "S": string.ascii_lowercase,
}
_CONTROL_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "f": "\f", "v": "\v", "0": "\0"}
_ZERO_WIDTH_ESCAPES = frozenset("bBAZ")
_UNBOUNDED_EXTRA = 2
_STRETCHES = (0, 0, 0, 1, 2, 4, 8, 16, 32)
_LONGEST_EXAMPLE = 8192


class _UnsupportedError(Exception):
    """The expression uses syntax this reader does not know, or grows too long."""


class _Chars(msgspec.Struct, frozen=True):
    """One character drawn from `choices` (a literal has one choice)."""

    choices: str


class _Group(msgspec.Struct, frozen=True):
    """Alternatives, each a sequence of nodes; a plain sequence is a group of one."""

    branches: tuple[tuple["_Node", ...], ...]


class _Repeat(msgspec.Struct, frozen=True):
    """A quantified node: between `low` and `high` (None: unbounded) repetitions."""

    node: "_Node"
    low: int
    high: int | None


_Node = _Chars | _Group | _Repeat


def checked_pattern(pattern: str, at: Position) -> re.Pattern[str]:
    """`pattern` compiled, once this reader has read it and found no catastrophic backtracking.

    Python's `re` backtracks: a repetition of something that can itself repeat, or of
    alternatives, (`(a+)+`, `(a|aa)*`) takes exponential time on a near miss, and a schema
    is client input. So only patterns this reader understands, without such nesting, are
    ever run; anything else is refused as not supported.
    """
    try:
        tree = _Parser(pattern).parse()
    except _UnsupportedError:
        raise at.error(
            f"`pattern` {pattern!r} is not supported by the mock: it reads literals, escapes, classes, "
            "groups, alternation, anchors and quantifiers only"
        ) from None
    if _backtracks(tree, inside_repeat=False):
        raise at.error(
            f"`pattern` {pattern!r} is not supported by the mock: a repeated group that repeats or "
            "alternates inside could take exponential time to check"
        )
    try:
        return re.compile(pattern)
    except re.error as error:
        raise at.error(f"`pattern` {pattern!r} is not a valid regular expression ({error})") from None


def _backtracks(node: "_Node", *, inside_repeat: bool) -> bool:
    """Whether a repeated part holds another repetition or a choice of alternatives."""
    if isinstance(node, _Chars):
        return False
    if isinstance(node, _Repeat):
        repeats = node.high is None or node.high > 1
        if repeats and inside_repeat:
            return True
        return _backtracks(node.node, inside_repeat=inside_repeat or repeats)
    if inside_repeat and len(node.branches) > 1:
        return True
    return any(
        _backtracks(child, inside_repeat=inside_repeat) for branch in node.branches for child in branch
    )


def pattern_examples(pattern: str, at: Position, min_length: int) -> Iterator[str]:
    """Strings the pattern probably matches, stretched in later attempts to reach `min_length`."""
    try:
        tree = _Parser(pattern).parse()
    except _UnsupportedError:
        return
    for attempt, stretch in enumerate(_STRETCHES):
        try:
            example = _Writer(at, attempt, stretch).write(tree)
        except _UnsupportedError:
            return
        yield example
        if len(example) < min_length:
            padding = "x" * (min_length - len(example))
            yield example + padding
            yield padding + example


class _Parser:
    """A recursive-descent reader of the everyday regular-expression subset."""

    def __init__(self, pattern: str) -> None:
        self._pattern = pattern
        self._index = 0

    def parse(self) -> _Group:
        """The whole pattern as one group."""
        group = self._alternation()
        if self._index != len(self._pattern):
            raise _UnsupportedError
        return group

    def _peek(self) -> str:
        return self._pattern[self._index] if self._index < len(self._pattern) else ""

    def _take(self) -> str:
        char = self._peek()
        if not char:
            raise _UnsupportedError
        self._index += 1
        return char

    def _alternation(self) -> _Group:
        branches = [self._sequence()]
        while self._peek() == "|":
            self._index += 1
            branches.append(self._sequence())
        return _Group(tuple(branches))

    def _sequence(self) -> tuple[_Node, ...]:
        nodes: list[_Node] = []
        while self._peek() not in ("", "|", ")"):
            nodes.append(self._quantified(self._atom()))
        return tuple(nodes)

    def _atom(self) -> _Node:
        char = self._take()
        match char:
            case "(":
                return self._group()
            case "[":
                return _Chars(self._class())
            case ".":
                return _Chars(_PRINTABLE)
            case "^" | "$":
                return _Group(((),))
            case "\\":
                return self._escape()
            case "*" | "+" | "?" | "{":
                raise _UnsupportedError
            case _:
                return _Chars(char)

    def _group(self) -> _Group:
        if self._peek() == "?":
            self._index += 1
            kind = self._take()
            if kind == "P" or (kind == "<" and self._peek() not in ("=", "!")):
                self._skip_group_name()
            elif kind != ":":
                raise _UnsupportedError
        group = self._alternation()
        if self._take() != ")":
            raise _UnsupportedError
        return group

    def _skip_group_name(self) -> None:
        if self._pattern[self._index - 1] == "P" and self._take() != "<":
            raise _UnsupportedError
        while self._take() != ">":
            pass

    def _escape(self) -> _Node:
        char = self._take()
        if char in _ZERO_WIDTH_ESCAPES:
            return _Group(((),))
        if char in _CLASS_ESCAPES:
            return _Chars(_CLASS_ESCAPES[char])
        return _Chars(self._escaped_character(char))

    def _escaped_character(self, char: str) -> str:
        if char in _CONTROL_ESCAPES:
            return _CONTROL_ESCAPES[char]
        if char in ("x", "u"):
            digits = "".join(self._take() for _ in range(2 if char == "x" else 4))
            try:
                return chr(int(digits, 16))
            except ValueError:
                raise _UnsupportedError from None
        if char.isalnum():
            raise _UnsupportedError  # back-references and escapes this reader does not know
        return char

    def _class(self) -> str:
        negated = self._peek() == "^"
        self._index += negated
        members = ""
        first = True
        while (char := self._take()) != "]" or first:
            first = False
            members += self._class_member(char)
        if not negated:
            return members
        allowed = "".join(char for char in _PRINTABLE if char not in members)
        if not allowed:
            raise _UnsupportedError
        return allowed

    def _class_member(self, char: str) -> str:
        if char == "\\":
            escaped = self._take()
            if escaped in _CLASS_ESCAPES:
                return _CLASS_ESCAPES[escaped]
            char = self._escaped_character(escaped)
        if self._peek() == "-" and self._pattern[self._index + 1 : self._index + 2] not in ("", "]"):
            self._index += 1
            end = self._take()
            if end == "\\":
                end = self._escaped_character(self._take())
            if ord(end) < ord(char):
                raise _UnsupportedError
            return "".join(chr(code) for code in range(ord(char), min(ord(end), ord(char) + 256) + 1))
        return char

    def _quantified(self, node: _Node) -> _Node:
        char = self._peek()
        bounds = {"*": (0, None), "+": (1, None), "?": (0, 1)}.get(char)
        if bounds is not None:
            self._index += 1
        elif char == "{" and (braced := self._braces()) is not None:
            bounds = braced
        else:
            return node
        if self._peek() in ("?", "+"):
            self._index += 1  # lazy and possessive forms match the same strings
        return _Repeat(node, *bounds)

    def _braces(self) -> tuple[int, int | None] | None:
        """`{m}`, `{m,}`, `{m,n}` or `{,n}`; None when the brace is a literal."""
        end = self._pattern.find("}", self._index)
        inside = self._pattern[self._index + 1 : end] if end > 0 else ""
        low_text, comma, high_text = inside.partition(",")
        if not (low_text or high_text) or not (low_text + high_text).isdigit():
            return None
        self._index = end + 1
        low = int(low_text or "0")
        high = int(high_text) if high_text else (None if comma else low)
        if high is not None and high < low:
            raise _UnsupportedError
        return low, high


class _Writer:
    """Walks a parsed pattern, drawing each choice from the position's randomness."""

    def __init__(self, at: Position, attempt: int, stretch: int) -> None:
        self._at = at
        self._attempt = attempt
        self._stretch = stretch
        self._choices = 0
        self._length = 0

    def write(self, node: _Node) -> str:
        """One example of `node`."""
        match node:
            case _Chars(choices):
                return self._character(choices)
            case _Group(branches):
                branch = branches[self._pick(len(branches))]
                return "".join(self.write(child) for child in branch)
            case _Repeat(child, low, high):
                extra = self._pick(_UNBOUNDED_EXTRA + 1) + self._stretch
                count = low + extra if high is None else low + min(extra, high - low)
                return "".join(self.write(child) for _ in range(count))

    def _character(self, choices: str) -> str:
        self._length += 1
        if self._length > _LONGEST_EXAMPLE:
            raise _UnsupportedError
        return choices[self._pick(len(choices))]

    def _pick(self, count: int) -> int:
        if count == 1:
            return 0
        self._choices += 1
        return self._at.pick(count, f"re{self._attempt}.{self._choices}")
