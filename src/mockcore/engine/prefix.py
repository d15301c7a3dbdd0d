"""Prefix-block hashes: what makes two prompts share KV blocks.

Block i's hash chains block i - 1's hash with the tokens of block i, so equal hashes mean
equal prefixes. A prompt's text gives its blocks through the 4-character tokenizer; a trace
(Mooncake's format) gives them as `hash_ids`, one per 512 tokens by default, each of which
stands for that many tokens' worth of engine blocks.
"""

import hashlib
from collections.abc import Sequence

_PERSON = b"mock-kv-block"


def _chained(previous: int, payload: bytes) -> int:
    digest = hashlib.blake2b(previous.to_bytes(8, "little") + payload, digest_size=8, person=_PERSON).digest()
    return int.from_bytes(digest, "little") >> 1


def text_block_hashes(pieces: Sequence[str], block_size: int) -> tuple[int, ...]:
    """The hashes of the full blocks of a prompt's token pieces."""
    hashes: list[int] = []
    previous = 0
    for start in range(0, len(pieces) - block_size + 1, block_size):
        block = "\x00".join(pieces[start : start + block_size])
        previous = _chained(previous, block.encode("utf-8", "surrogatepass"))
        hashes.append(previous)
    return tuple(hashes)


def trace_block_hashes(
    hash_ids: Sequence[int], prompt_tokens: int, block_size: int, hash_block_tokens: int
) -> tuple[int, ...]:
    """Engine-block hashes for a trace's `hash_ids` (each covering `hash_block_tokens` tokens).

    Only blocks the prompt fills are hashed: a prompt shorter than its ids claim stops there.
    """
    per_id = max(1, hash_block_tokens // block_size)
    full_blocks = prompt_tokens // block_size
    hashes: list[int] = []
    previous = 0
    for hash_id in hash_ids:
        for part in range(per_id):
            if len(hashes) >= full_blocks:
                return tuple(hashes)
            previous = _chained(previous, f"{hash_id}:{part}".encode())
            hashes.append(previous)
    return tuple(hashes)
