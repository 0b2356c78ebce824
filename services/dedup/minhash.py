"""MinHash signatures of texts the embedding model cannot read.

all-MiniLM-L6-v2 maps most Chinese characters to [UNK], so the ingest stage gives such texts
(share of unknown word pieces above ``max_unknown_token_ratio``) no vector. They are compared by
character n-gram shingles instead (case folded, NFKC, punctuation and whitespace dropped): a
MinHash signature of ``num_perm`` 32-bit values per text, whose share of equal positions
estimates the Jaccard similarity of the shingle sets. ``services.dedup.lsh`` indexes the
signatures; docs/lexical.md gives the parameters and their measurements.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence

import numpy as np
import regex

from services.settings import Settings

NGRAM = 3  # characters per shingle: python -m bench lexical, docs/lexical.md
NUM_PERM = 128
SEED = 20240607
# estimated Jaccard at or above which a prompt is a near duplicate (FLYWHEEL_LEXICAL_THRESHOLD)
THRESHOLD: float = Settings.model_fields["lexical_threshold"].default

_MASK64 = (1 << 64) - 1
_U32_MAX = np.uint32(0xFFFFFFFF)
_BASE = np.uint64(0x100000001B3)  # FNV-1a 64 prime: multiplier of the n-gram polynomial
# Punctuation and whitespace carry no content here: "，" vs "," or an extra space is no edit.
_DROP = regex.compile(r"[\p{P}\s]+")


def splitmix64(x: int) -> int:
    """One step of SplitMix64 on Python ints: a stable, well-mixed 64-bit value per seed."""
    z = (x + 0x9E3779B97F4A7C15) & _MASK64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK64
    return z ^ (z >> 31)


def mix64(h: np.ndarray) -> np.ndarray:
    """SplitMix64's finalizer on a uint64 array (multiplication wraps mod 2**64)."""
    h = h ^ (h >> np.uint64(30))
    h = h * np.uint64(0xBF58476D1CE4E5B9)
    h = h ^ (h >> np.uint64(27))
    h = h * np.uint64(0x94D049BB133111EB)
    return h ^ (h >> np.uint64(31))


def shingle_text(text: str) -> str:
    """The characters that shingles are made of: NFKC, case folded, no punctuation or spaces."""
    return _DROP.sub("", unicodedata.normalize("NFKC", text).casefold())


def shingle_hashes(text: str, ngram: int = NGRAM) -> np.ndarray:
    """32-bit hashes (in uint64) of the character n-grams of ``shingle_text(text)``.

    A text shorter than ``ngram`` is one shingle; an empty one has none. Stable across
    processes and machines (no ``hash()``): a polynomial over code points, then SplitMix64.
    """
    chars = shingle_text(text)
    if not chars:
        return np.zeros(0, dtype=np.uint64)
    cps = np.frombuffer(chars.encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
    width = min(ngram, len(cps))
    count = len(cps) - width + 1
    h = np.full(count, np.uint64(width), dtype=np.uint64)
    for j in range(width):
        h = h * _BASE + cps[j : j + count]
    return mix64(h) >> np.uint64(32)


class MinHasher:
    """MinHash signatures of character n-gram shingles, ``num_perm`` uint32 values each.

    Permutation k maps a 32-bit shingle hash x to ``((a_k * x + b_k) mod 2**64) >> 32``
    (multiply-add-shift, 2-independent); a_k, b_k come from SplitMix64 of ``seed``, so the
    same parameters give the same signatures in every process. An empty text has the
    all-0xFFFFFFFF signature.
    """

    def __init__(self, num_perm: int = NUM_PERM, ngram: int = NGRAM, seed: int = SEED) -> None:
        if num_perm < 1 or ngram < 1:
            raise ValueError("num_perm and ngram must be positive")
        self.num_perm = num_perm
        self.ngram = ngram
        self.seed = seed
        self._a = np.array(
            [splitmix64(seed + 2 * k) | 1 for k in range(num_perm)], dtype=np.uint64
        )[:, None]
        self._b = np.array(
            [splitmix64(seed + 2 * k + 1) for k in range(num_perm)], dtype=np.uint64
        )[:, None]

    @property
    def tag(self) -> str:
        """Names the parameters: signatures of different tags cannot be compared."""
        return f"n{self.ngram}p{self.num_perm}s{self.seed}"

    def signature(self, text: str) -> np.ndarray:
        return self._minhash(shingle_hashes(text, self.ngram))

    def signatures(self, texts: Sequence[str], chunk: int = 4096) -> np.ndarray:
        """(len(texts), num_perm) uint32; shingles of many texts go through numpy together."""
        out = np.full((len(texts), self.num_perm), _U32_MAX, dtype=np.uint32)
        todo: list[tuple[int, np.ndarray]] = []
        pending = 0
        for i, text in enumerate(texts):
            h = shingle_hashes(text, self.ngram)
            if len(h) > chunk:  # one long text: alone, in slices
                out[i] = self._minhash(h)
                continue
            todo.append((i, h))
            pending += len(h)
            if pending >= chunk:
                self._fill(out, todo)
                todo, pending = [], 0
        self._fill(out, todo)
        return out

    def _fill(self, out: np.ndarray, todo: list[tuple[int, np.ndarray]]) -> None:
        todo = [(i, h) for i, h in todo if len(h)]
        if not todo:
            return
        flat = np.concatenate([h for _, h in todo])
        starts = np.cumsum([0] + [len(h) for _, h in todo[:-1]])
        values = (self._a * flat[None, :] + self._b) >> np.uint64(32)
        mins = np.minimum.reduceat(values, starts, axis=1)
        out[[i for i, _ in todo]] = mins.T.astype(np.uint32)

    def _minhash(self, h: np.ndarray, chunk: int = 4096) -> np.ndarray:
        sig = np.full(self.num_perm, 0xFFFFFFFF, dtype=np.uint64)
        for lo in range(0, len(h), chunk):
            part = (self._a * h[None, lo : lo + chunk] + self._b) >> np.uint64(32)
            sig = np.minimum(sig, part.min(axis=1))
        return sig.astype(np.uint32)
