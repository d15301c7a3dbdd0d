"""The mock tokenizer: consecutive pieces of four characters.

Real tokenizers average about four characters per English token; a fixed width makes the
count exact and predictable (`ceil(len / 4)`) and lets the pieces join back to the text.
"""

CHARS_PER_TOKEN = 4


def split_tokens(text: str) -> tuple[str, ...]:
    """Split `text` into pieces of four characters (the last may be shorter).

    A list first: `tuple()` over a generator resumes it once per piece, 12-20 % slower.
    """
    return tuple([text[start : start + CHARS_PER_TOKEN] for start in range(0, len(text), CHARS_PER_TOKEN)])


def count_tokens(text: str) -> int:
    """The number of tokens of `text`: ceil(len / 4), without building the pieces."""
    return -(-len(text) // CHARS_PER_TOKEN)


class TextPieces:
    """The pieces of some texts, one text after another, made only where they are read.

    Equal to `split_tokens` of each text, concatenated (`all`), but an answer of 16 tokens
    reads 16 pieces of a prompt of thousands (`window`) instead of making every one of them.
    """

    __slots__ = ("_count", "_every", "_texts")

    def __init__(self, texts: tuple[str, ...]) -> None:
        self._texts = texts
        self._count = sum(count_tokens(text) for text in texts)
        self._every: tuple[str, ...] | None = None

    def __len__(self) -> int:
        return self._count

    def all(self) -> tuple[str, ...]:
        """Every piece, in order (cut once; a window read later slices them)."""
        every = self._every
        if every is None:
            texts = self._texts
            if len(texts) == 1:
                every = split_tokens(texts[0])
            else:
                every = tuple(piece for text in texts for piece in split_tokens(text))
            self._every = every
        return every

    def window(self, start: int, count: int) -> tuple[str, ...]:
        """`count` pieces (at most all of them) from piece `start` on, wrapping round to the first."""
        total = self._count
        end = start + count
        every = self._every
        if every is not None:
            return every[start:end] + every[: max(0, end - total)]
        pieces: list[str] = []
        # From `start` to the end, then from the first piece for what wraps round.
        for low, high in ((start, min(end, total)), (0, end - total)):
            first = 0  # the index of the current text's first piece
            for text in self._texts:
                if first >= high:
                    break
                size = count_tokens(text)
                lo, hi = max(low - first, 0), min(high - first, size)
                if lo < hi:
                    pieces += split_tokens(text[lo * CHARS_PER_TOKEN : hi * CHARS_PER_TOKEN])
                first += size
        return tuple(pieces)
