"""Stop strings: the output ends before the first match, as vLLM and OpenAI end it."""

import msgspec

from mockcore.plan import PieceCycle


class StopCut(msgspec.Struct, frozen=True, kw_only=True):
    """Where the first stop string matched: the content kept, and the string that matched."""

    content: PieceCycle
    sequence: str


def first_stop(text: str, stops: tuple[str, ...]) -> tuple[int, str] | None:
    """(position, stop string) of the earliest match in `text`; the longest string wins a tie."""
    best: tuple[int, str] | None = None
    for stop in stops:
        position = text.find(stop)
        if position < 0:
            continue
        if best is None or position < best[0] or (position == best[0] and len(stop) > len(best[1])):
            best = (position, stop)
    return best


def cut_at_stop(content: PieceCycle, stops: tuple[str, ...], *, keep: bool = False) -> StopCut | None:
    """The content up to the first stop string (its pieces kept, the last one shortened), or None.

    Tokens are the pieces that were generated before the match: a piece the match starts
    inside still counts, with only its text before the match. With `keep` (TGI) the output
    ends after the stop string instead, with the piece that completed it.
    """
    if not stops or not content.count:
        return None
    match = first_stop(content.text, stops)
    if match is None:
        return None
    position, sequence = match
    if keep:
        position += len(sequence)
    kept: list[str] = []
    seen = 0
    for piece in content:
        if seen >= position:
            break
        kept.append(piece[: position - seen])
        seen += len(piece)
    return StopCut(content=PieceCycle(source=tuple(kept), offset=0, count=len(kept)), sequence=sequence)
