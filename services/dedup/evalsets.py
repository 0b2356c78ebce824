"""Which registered evaluation item, if any, a prompt copies (docs/decontamination.md).

Two methods, both against every item of every registered set:

- **word n-grams**: the prompt's word n-grams are looked up in one sorted array of the items'
  n-gram hashes; an item is matched when the n-grams it shares with the prompt cover at least
  ``coverage`` of its words (open-instruct's token coverage, as Tulu 3 decontaminates). A
  wrapper around a copied item ("Can you solve this for me? ...") changes nothing; an edit of
  one word uncovers only that word, as long as n-grams on both sides of it survive. A Chinese
  (CJK) character is a word.
- **embedding**: the cosine between the prompt's vector and the items' vectors (exact inner
  product in FAISS), for copies reworded beyond the n-grams (SemHash's way).

Items of fewer than ``min_words`` words are matched by neither method (a one-word item would
match every prompt holding the word); an item shorter than ``n`` words is one n-gram, its whole
self. An n-gram found in more than ``BOILERPLATE_ITEMS`` item is boilerplate (a benchmark's
templates: "For which of these two scenarios does the main character...", "下列说法正确的是")
and left out of the coverage on both sides: an item is matched by what is its own. Pure: no Redis, no model; the vectors come from the caller.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import faiss
import numpy as np

_WORD = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]|[^\W_]+")

Method = Literal["ngram", "embedding"]


def words(text: str) -> list[str]:
    """The words of a normalized text, case-folded: runs of letters or digits, and each CJK
    character alone."""
    return _WORD.findall(text.casefold())


def gram_hashes(tokens: Sequence[str], n: int) -> np.ndarray:
    """The 64-bit hash of each word n-gram in order (one gram, the whole text, when it is
    shorter than ``n``). Process-local hashes: an index lives in one process."""
    if len(tokens) <= n:
        return np.array([hash(" ".join(tokens))], dtype=np.int64) if tokens else _EMPTY
    return np.fromiter(
        (hash(" ".join(tokens[i : i + n])) for i in range(len(tokens) - n + 1)),
        dtype=np.int64,
        count=len(tokens) - n + 1,
    )


_EMPTY = np.zeros(0, dtype=np.int64)
FLAT_UP_TO = 20_000  # items searched exactly; above, IVF
NPROBE = 16
BOILERPLATE_ITEMS = 1  # an n-gram in more items than this is a template (measured: benchmarks.md)


@dataclass(frozen=True)
class EvalItem:
    """One evaluation item as matched: its set, its id in the set's file, its text (normalized
    and redacted)."""

    evalset: str
    item_id: str
    text: str


@dataclass(frozen=True)
class Match:
    """The item a prompt copies, how it was found and how closely (coverage or cosine)."""

    evalset: str
    item_id: str
    method: Method
    score: float


class EvalMatcher:
    """Every registered item, indexed once (``build``), then ``match``-ed against batches."""

    def __init__(
        self,
        items: Sequence[EvalItem],
        vectors: np.ndarray | None,
        n: int,
        coverage: float,
        similarity: float,
        min_words: int,
        boilerplate: int = BOILERPLATE_ITEMS,
    ) -> None:
        """``vectors``: one unit row per item (zeros for an item the model cannot read), or None
        for n-grams only. Items of the same text are one item (the first one's id)."""
        self.n, self.coverage, self.similarity = n, coverage, similarity
        self.items: list[EvalItem] = []
        keep: list[int] = []
        grams, owners, starts, lengths = [], [], [], []
        texts: set[str] = set()
        for i, item in enumerate(items):
            tokens = words(item.text)
            key = " ".join(tokens)
            if len(tokens) < min_words or key in texts:
                continue
            texts.add(key)
            row = len(self.items)
            self.items.append(item)
            keep.append(i)
            hashes = gram_hashes(tokens, n)
            grams.append(hashes)
            owners.append(np.full(len(hashes), row, dtype=np.int32))
            starts.append(np.arange(len(hashes), dtype=np.int32))
            lengths.append(len(tokens))
        self.skipped = len(items) - len(self.items)
        self.lengths = np.array(lengths, dtype=np.int32)
        self._grams = _EMPTY
        self._owner = self._start = np.zeros(0, dtype=np.int32)
        self.reach = np.zeros(len(self.items), dtype=np.int32)
        # items shorter than n are one gram of their own length: prompts are read in those too
        self._short = sorted({int(x) for x in self.lengths if x < n})
        if grams:
            self._index_grams(
                np.concatenate(grams), np.concatenate(owners), np.concatenate(starts), boilerplate
            )
        self.index: faiss.Index | None = None
        self._row_of = np.zeros(0, dtype=np.int64)
        if vectors is not None and keep and similarity < 1:
            kept = np.ascontiguousarray(vectors[keep], dtype=np.float32)
            readable = np.flatnonzero(np.abs(kept).sum(axis=1) > 0)
            if len(readable):
                self.index = _inner_product_index(kept[readable])
                self._row_of = readable

    def __len__(self) -> int:
        return len(self.items)

    def _index_grams(
        self, grams: np.ndarray, owners: np.ndarray, starts: np.ndarray, boilerplate: int
    ) -> None:
        """Keep the n-grams found in at most ``boilerplate`` items, sorted for binary search,
        and each item's ``reach``: the words its kept n-grams cover (what coverage divides)."""
        pairs = np.unique(np.stack([grams, owners.astype(np.int64)]), axis=1)
        values, counts = np.unique(pairs[0], return_counts=True)
        common = values[counts > boilerplate]
        kept = ~np.isin(grams, common)
        grams, owners, starts = grams[kept], owners[kept], starts[kept]
        order = np.lexsort((starts, owners))
        by_owner, by_start = owners[order], starts[order]
        rows, firsts = np.unique(by_owner, return_index=True)
        for row, first, last in zip(rows, firsts, [*firsts[1:], len(order)], strict=True):
            n = min(self.n, int(self.lengths[row]))
            self.reach[row] = _covered(by_start[first:last], n)
        order = np.argsort(grams, kind="stable")
        self._grams, self._owner, self._start = grams[order], owners[order], starts[order]

    def match(
        self, texts: Sequence[str], vectors: Sequence[np.ndarray | None]
    ) -> list[Match | None]:
        """Per prompt (normalized, redacted text; its vector or None), the item it copies: the
        n-gram match of highest coverage when it reaches ``coverage``, else the embedding match
        when its cosine reaches ``similarity``."""
        found = [self.ngram_best(t) for t in texts]
        found = [m if m is not None and m.score >= self.coverage else None for m in found]
        ask = [v if m is None else None for m, v in zip(found, vectors, strict=True)]
        for i, m in enumerate(self.embedding_best(ask)):
            if m is not None and m.score >= self.similarity:
                found[i] = m
        return found

    def ngram_best(self, text: str) -> Match | None:
        """The item whose words the prompt's n-grams cover most, at any coverage."""
        if not len(self._grams):
            return None
        tokens = words(text)
        hashes = np.unique(np.concatenate([gram_hashes(tokens, k) for k in (self.n, *self._short)]))
        lo = np.searchsorted(self._grams, hashes, side="left")
        hi = np.searchsorted(self._grams, hashes, side="right")
        hit = hi > lo
        if not hit.any():
            return None
        pos = np.concatenate([np.arange(a, b) for a, b in zip(lo[hit], hi[hit], strict=True)])
        owners, starts = self._owner[pos], self._start[pos]
        best_row, best = -1, 0.0
        for row in np.unique(owners).tolist():
            n = min(self.n, int(self.lengths[row]))
            share = _covered(np.sort(starts[owners == row]), n) / int(self.reach[row])
            if share > best:
                best_row, best = row, share
        item = self.items[best_row]
        return Match(item.evalset, item.item_id, "ngram", round(best, 4))

    def embedding_best(self, vectors: Sequence[np.ndarray | None]) -> list[Match | None]:
        """Per vector (None: none asked), the item of highest cosine, at any cosine."""
        found: list[Match | None] = [None] * len(vectors)
        ask = [i for i, v in enumerate(vectors) if v is not None]
        if self.index is None or not ask:
            return found
        queries = np.stack([np.asarray(vectors[i]) for i in ask]).astype(np.float32)
        sims, rows = self.index.search(queries, 1)
        for i, sim, row in zip(ask, sims[:, 0].tolist(), rows[:, 0].tolist(), strict=True):
            if row >= 0:
                item = self.items[int(self._row_of[row])]
                found[i] = Match(item.evalset, item.item_id, "embedding", round(sim, 4))
        return found


def _inner_product_index(vectors: np.ndarray) -> faiss.Index:
    """Exact (flat) up to ``FLAT_UP_TO`` vectors; above, IVF with ``4 sqrt(N)`` lists searched
    ``NPROBE`` at a time: a flat search of 100,000 items cost 8 ms of CPU per prompt, more than
    the model (benchmarks.md). A copy sits far above the threshold's neighbourhood of its item,
    which IVF finds in the item's own list."""
    dim = vectors.shape[1]
    if len(vectors) <= FLAT_UP_TO:
        index: faiss.Index = faiss.IndexFlatIP(dim)
    else:
        nlist = int(4 * np.sqrt(len(vectors)))
        ivf = faiss.IndexIVFFlat(faiss.IndexFlatIP(dim), dim, nlist, faiss.METRIC_INNER_PRODUCT)
        sample = vectors[np.random.default_rng(0).permutation(len(vectors))[: nlist * 40]]
        ivf.train(sample)
        ivf.nprobe = NPROBE
        index = ivf
    index.add(vectors)
    return index


def _covered(starts: np.ndarray, n: int) -> int:
    """How many words the n-grams starting at ``starts`` (sorted) cover together."""
    total, end = 0, -1
    for s in starts.tolist():
        total += s + n - max(s, end)
        end = s + n
    return total
