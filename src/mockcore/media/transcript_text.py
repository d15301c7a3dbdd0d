"""What the mock "hears": sentences of words drawn from the audio's digest.

Words come from the server's built-in passage (`mockcore.vocabulary`), so a transcript reads
like the rest of the server's output. Word k depends only on the digest and k, and sentence
lengths (6 to 16 words) only on the digest and the sentence's number, so a longer recording
of the same bytes would begin with the same words; different bytes give different words.
"""

import re

from mockcore.digest import derived_bytes
from mockcore.vocabulary import FALLBACK_TEXT

SPOKEN_WORDS: tuple[str, ...] = tuple(
    dict.fromkeys(word.lower() for word in re.findall(r"[A-Za-z]+", FALLBACK_TEXT))
)
MIN_SENTENCE_WORDS = 6
MAX_SENTENCE_WORDS = 16

_WORD_SALT = b"transcript-words"
_SENTENCE_SALT = b"transcript-sents"


def spoken_words(digest: bytes, count: int) -> tuple[str, ...]:
    """The first `count` words heard in the audio of `digest`."""
    draws = derived_bytes(digest, _WORD_SALT, 2 * count)
    size = len(SPOKEN_WORDS)
    return tuple(
        SPOKEN_WORDS[int.from_bytes(draws[2 * k : 2 * k + 2], "little") % size] for k in range(count)
    )


def sentence_lengths(digest: bytes, word_count: int) -> tuple[int, ...]:
    """How the `word_count` words split into sentences (the last takes what is left)."""
    span = MAX_SENTENCE_WORDS - MIN_SENTENCE_WORDS + 1
    draws = derived_bytes(digest, _SENTENCE_SALT, word_count // MIN_SENTENCE_WORDS + 1)
    lengths: list[int] = []
    left = word_count
    for draw in draws:
        if left == 0:
            break
        length = min(left, MIN_SENTENCE_WORDS + draw % span)
        lengths.append(length)
        left -= length
    return tuple(lengths)


def sentence_text(words: tuple[str, ...]) -> str:
    """Words as written: the first capitalised, a full stop at the end."""
    return f"{words[0].capitalize()} {' '.join(words[1:])}".rstrip() + "."
