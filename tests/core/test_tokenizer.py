"""SPEC section 3: the mock tokenizer cuts text into consecutive four-character pieces."""

import math

from hypothesis import assume, given
from hypothesis import strategies as st
from tests.strategies import UNICODE_CHARACTERS

from mockcore import count_tokens, split_tokens
from mockcore.tokenizer import TextPieces

any_text = st.text(UNICODE_CHARACTERS, max_size=400)


@given(any_text)
def test_pieces_join_back_to_the_text(text: str) -> None:
    assert "".join(split_tokens(text)) == text


@given(any_text)
def test_a_text_of_n_characters_has_ceil_n_over_4_tokens(text: str) -> None:
    assert count_tokens(text) == math.ceil(len(text) / 4)


@given(any_text)
def test_count_tokens_agrees_with_the_number_of_pieces(text: str) -> None:
    assert count_tokens(text) == len(split_tokens(text))


@given(any_text)
def test_every_piece_has_four_characters_except_possibly_the_last(text: str) -> None:
    pieces = split_tokens(text)
    assert all(len(piece) == 4 for piece in pieces[:-1])
    assert all(1 <= len(piece) <= 4 for piece in pieces)


def test_the_empty_text_has_no_tokens() -> None:
    assert split_tokens("") == ()
    assert count_tokens("") == 0


def test_characters_not_bytes_are_counted() -> None:
    text = "日本語のテキスト🙂🙂"  # 10 code points, many more UTF-8 bytes

    assert split_tokens(text) == ("日本語の", "テキスト", "🙂🙂")
    assert count_tokens(text) == 3


# --- a prompt's pieces, cut only where they are read --------------------------------------

some_texts = st.lists(st.text(UNICODE_CHARACTERS, max_size=40), min_size=1, max_size=4).map(tuple)


@given(some_texts)
def test_text_pieces_are_the_pieces_of_each_text_in_turn(texts: tuple[str, ...]) -> None:
    pieces = TextPieces(texts)
    assert pieces.all() == tuple(piece for text in texts for piece in split_tokens(text))
    assert len(pieces) == len(pieces.all())


@given(some_texts, st.integers(min_value=0), st.integers(min_value=0))
def test_a_window_reads_the_pieces_from_its_start_round_to_the_first(
    texts: tuple[str, ...], start: int, count: int
) -> None:
    every = TextPieces(texts).all()
    assume(every)
    start %= len(every)
    count %= len(every) + 1
    expected = tuple(every[(start + position) % len(every)] for position in range(count))
    assert TextPieces(texts).window(start, count) == expected
    cut = TextPieces(texts)
    cut.all()  # once every piece is cut, a window slices them
    assert cut.window(start, count) == expected
