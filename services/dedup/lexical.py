"""Lexical near-duplicate check (MinHash + LSH) for texts the embedding model cannot read.

all-MiniLM-L6-v2 maps most Chinese characters to [UNK], so the curate stage gives such texts
(share of unknown word pieces above ``max_unknown_token_ratio``) no vector. They get this check
instead: character n-gram shingles of the text (case folded, NFKC, punctuation and whitespace
dropped), a MinHash signature of ``num_perm`` 32-bit values, and a banded LSH index of the
accepted signatures, one per language like the FAISS indexes. The similarity is the estimated
Jaccard: the share of equal signature positions.

The decision is the greedy rule of ``services.dedup.index.GreedyCurator`` with estimated Jaccard in
place of cosine: in arrival order, keep a prompt iff its estimated Jaccard to every prompt kept
before it is below the threshold. The banding is chosen so that LSH is exact for that rule:
with ``bands`` bands, two signatures that differ in fewer than ``bands`` positions share at
least one whole band (pigeonhole), so every pair at or above the threshold is a candidate when
``bands > num_perm - ceil(threshold * num_perm)``. ``greedy_lexical_reference`` is the
brute-force statement; docs/lexical.md gives the parameters and their measurements.
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import redis.asyncio as aioredis
import regex

from services.dedup.index import Decision, greedy_pass
from services.state.stores import RedisLog

NGRAM = 3  # characters per shingle: bench/lexical.py, docs/lexical.md
NUM_PERM = 128
SEED = 20240607
THRESHOLD = 0.7  # estimated Jaccard at or above which a prompt is a near duplicate

_MASK64 = (1 << 64) - 1
_U32_MAX = np.uint32(0xFFFFFFFF)
_BASE = np.uint64(0x100000001B3)  # FNV-1a 64 prime: multiplier of the n-gram polynomial
# Punctuation and whitespace carry no content here: "，" vs "," or an extra space is no edit.
_DROP = regex.compile(r"[\p{P}\s]+")


def _splitmix64(x: int) -> int:
    """One step of SplitMix64 on Python ints: a stable, well-mixed 64-bit value per seed."""
    z = (x + 0x9E3779B97F4A7C15) & _MASK64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK64
    return z ^ (z >> 31)


def _mix64(h: np.ndarray) -> np.ndarray:
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
    return _mix64(h) >> np.uint64(32)


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
            [_splitmix64(seed + 2 * k) | 1 for k in range(num_perm)], dtype=np.uint64
        )[:, None]
        self._b = np.array(
            [_splitmix64(seed + 2 * k + 1) for k in range(num_perm)], dtype=np.uint64
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


def estimated_jaccard(a: np.ndarray, b: np.ndarray) -> np.ndarray | float:
    """Share of equal positions; ``a`` and ``b`` broadcast over leading axes."""
    eq = np.mean(np.asarray(a) == np.asarray(b), axis=-1)
    return float(eq) if np.ndim(eq) == 0 else eq


def max_disagreements(threshold: float, num_perm: int) -> int:
    """Most unequal positions a pair at estimated Jaccard >= ``threshold`` can have."""
    return num_perm - math.ceil(threshold * num_perm - 1e-9)


def rows_for(threshold: float, num_perm: int = NUM_PERM) -> int:
    """Most rows per band (fewest false candidates) for which LSH misses no pair >= threshold."""
    worst = max_disagreements(threshold, num_perm)
    rows = max((r for r in range(1, num_perm + 1) if num_perm // r > worst), default=0)
    if rows == 0:
        raise ValueError(f"no banding of {num_perm} permutations is exact at {threshold}")
    return rows


class LshIndex:
    """Banded LSH over MinHash signatures, with a prompt_id and an owner per row.

    Bands are hashed to 32-bit keys kept in sorted runs (merged like a binary counter, so an
    add costs O(log n) amortized and a query searches O(log n) runs). Candidates are verified
    with the estimated Jaccard of the full signatures. ``exact_for(t)``: no pair at or above
    ``t`` is ever missed.
    """

    def __init__(self, num_perm: int = NUM_PERM, rows: int | None = None) -> None:
        self.num_perm = num_perm
        self.rows = rows if rows is not None else rows_for(THRESHOLD, num_perm)
        self.bands = num_perm // self.rows
        if self.bands < 1:
            raise ValueError("rows per band exceed num_perm")
        salts = [_splitmix64(SEED ^ (0xB4D5 + k)) for k in range(self.bands)]
        self._salt = np.array(salts, dtype=np.uint64)
        self.ids: list[str] = []
        self.owners: dict[str, str] = {}  # prompt_id -> input message that got it accepted
        self._row: dict[str, int] = {}
        self._sigs = np.zeros((0, num_perm), dtype=np.uint32)
        self._runs: list[tuple[np.ndarray, np.ndarray]] = []  # (sorted band keys, rows)

    @classmethod
    def for_threshold(cls, threshold: float, num_perm: int = NUM_PERM) -> LshIndex:
        return cls(num_perm, rows_for(threshold, num_perm))

    def exact_for(self, threshold: float) -> bool:
        return self.bands > max_disagreements(threshold, self.num_perm)

    def __len__(self) -> int:
        return len(self.ids)

    def __contains__(self, pid: str) -> bool:
        return pid in self.owners

    @property
    def signatures(self) -> np.ndarray:
        return self._sigs[: len(self.ids)]

    def array_bytes(self) -> int:
        """Bytes of the numpy parts (signatures as allocated, band keys and rows); the ids and
        owners are Python objects on top (bench/lexical.py measures the whole)."""
        return int(self._sigs.nbytes + sum(k.nbytes + r.nbytes for k, r in self._runs))

    def band_keys(self, sigs: np.ndarray) -> np.ndarray:
        """(n, bands) uint32: one key per band, salted by the band's position. 32 bits suffice:
        two bands that differ but share a key only make a false candidate, which verification
        drops (about one query in 25 at 100k signatures)."""
        n = sigs.shape[0]
        parts = sigs[:, : self.bands * self.rows].reshape(n, self.bands, self.rows)
        h = np.broadcast_to(self._salt, (n, self.bands)).copy()
        for j in range(self.rows):
            h = _mix64(h ^ parts[:, :, j].astype(np.uint64))
        return (h >> np.uint64(32)).astype(np.uint32)

    def add(self, ids: Sequence[str], sigs: np.ndarray, owners: Sequence[str]) -> None:
        if len(ids) == 0:
            return
        sigs = np.ascontiguousarray(sigs, dtype=np.uint32).reshape(len(ids), self.num_perm)
        start = len(self.ids)
        if start + len(ids) > self._sigs.shape[0]:  # grow by half: amortized O(1) per row
            capacity = max(self._sigs.shape[0] * 3 // 2, start + len(ids), 1024)
            grown = np.zeros((capacity, self.num_perm), dtype=np.uint32)
            grown[:start] = self._sigs[:start]
            self._sigs = grown
        self._sigs[start : start + len(ids)] = sigs
        for k, pid in enumerate(ids):
            self._row[pid] = start + k
        self.ids.extend(ids)
        self.owners.update(zip(ids, owners, strict=True))
        keys = self.band_keys(sigs).ravel()
        rows = np.repeat(np.arange(start, start + len(ids), dtype=np.int32), self.bands)
        order = np.argsort(keys, kind="stable")
        self._runs.append((keys[order], rows[order]))
        while len(self._runs) > 1 and len(self._runs[-2][0]) <= 2 * len(self._runs[-1][0]):
            (k2, r2), (k1, r1) = self._runs.pop(), self._runs.pop()
            keys, rows = np.concatenate([k1, k2]), np.concatenate([r1, r2])
            order = np.argsort(keys, kind="stable")
            self._runs.append((keys[order], rows[order]))

    def best(
        self, sigs: np.ndarray, exclude: Sequence[str | None] | None = None
    ) -> list[tuple[str, float] | None]:
        """Per query signature, the candidate with the highest estimated Jaccard (ties: the
        earliest added) and that estimate; ``None`` when no row shares a band with it.
        ``exclude[i]``, when given, is a prompt_id never to report for query i (itself).
        Exact for pairs at or above any threshold with ``exact_for``; below it, the best
        candidate is a lower bound of the best in the index."""
        sigs = np.asarray(sigs, dtype=np.uint32).reshape(-1, self.num_perm)
        n = sigs.shape[0]
        out: list[tuple[str, float] | None] = [None] * n
        if n == 0 or not self.ids:
            return out
        qs, rows = self._candidates(self.band_keys(sigs))
        if exclude is not None:
            skip = np.array([self._row.get(p, -1) if p else -1 for p in exclude], dtype=np.int64)
            keep = rows != skip[qs]
            qs, rows = qs[keep], rows[keep]
        if len(qs) == 0:
            return out
        agree = np.count_nonzero(sigs[qs] == self._sigs[rows], axis=1)
        order = np.lexsort((rows, -agree, qs))
        first = order[np.r_[True, qs[order][1:] != qs[order][:-1]]]
        for q, r, a in zip(qs[first], rows[first], agree[first], strict=True):
            out[int(q)] = (self.ids[int(r)], float(a) / self.num_perm)
        return out

    def _candidates(self, qkeys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Distinct (query, row) pairs that share at least one band key."""
        # Sorted needles: numpy's binary search narrows from the previous hit, ~5x faster.
        needle_order = np.argsort(qkeys.ravel())
        flat = qkeys.ravel()[needle_order]
        query_of = needle_order // self.bands
        qs_parts, row_parts = [], []
        for keys, rows in self._runs:
            lo = np.searchsorted(keys, flat, side="left")
            hit = keys[np.minimum(lo, len(keys) - 1)] == flat
            if not hit.any():
                continue
            lo, needles = lo[hit], flat[hit]
            counts = np.searchsorted(keys, needles, side="right") - lo
            total = int(counts.sum())
            # positions lo[i] .. lo[i]+counts[i]-1 for every i, without a Python loop
            offsets = np.repeat(lo - np.cumsum(counts) + counts, counts)
            pos = offsets + np.arange(total)
            qs_parts.append(np.repeat(query_of[hit], counts))
            row_parts.append(rows[pos])
        if not qs_parts:
            empty = np.zeros(0, dtype=np.int64)
            return empty, empty
        pairs = np.unique(
            np.concatenate(qs_parts).astype(np.int64) << 32 | np.concatenate(row_parts)
        )
        return pairs >> 32, pairs & 0xFFFFFFFF


@dataclass(frozen=True)
class LexCandidate:
    prompt_id: str
    owner: str  # identity of the input message (topic/partition/offset); same on a replay
    sig: np.ndarray  # MinHasher signature, uint32


class LexicalCurator:
    """Greedy lexical de-duplication of a batch against an ``LshIndex``, in arrival order.

    Same contract as ``services.dedup.index.GreedyCurator`` with estimated Jaccard as the
    similarity: the index is searched once for the batch, the batch's accepted candidates are
    compared by brute force, accepted signatures are added at the end. A prompt_id already in
    the index for the same owner is a replay (its acceptance stands, it is not added twice);
    from another owner, or twice in one batch, it is an exact duplicate. Raises ``ValueError``
    when the index's banding could miss pairs at ``threshold``.
    """

    def __init__(self, index: LshIndex, threshold: float = THRESHOLD) -> None:
        if not index.exact_for(threshold):
            raise ValueError(
                f"an index of {index.bands} bands can miss pairs at {threshold}: "
                f"build it with LshIndex.for_threshold({threshold})"
            )
        self.index = index
        self.threshold = threshold

    def decide(
        self,
        batch: Sequence[LexCandidate],
        admit: Callable[[int], str | None] | None = None,
    ) -> list[Decision]:
        """``admit(i)``, when given, is asked about each new acceptance (batch position ``i``)
        after the near-duplicate check; a reason refuses it (``Decision.refused``) and the
        candidate is not kept, so it neither enters the index nor shadows later candidates."""
        if not batch:
            return []
        sigs = np.stack([np.asarray(c.sig, dtype=np.uint32) for c in batch])
        in_index = [c.prompt_id if c.prompt_id in self.index else None for c in batch]
        found = self.index.best(sigs, exclude=in_index)
        decisions, kept = greedy_pass(
            [(c.prompt_id, c.owner) for c in batch],
            [self.index.owners.get(c.prompt_id) for c in batch],
            [m if m is not None else (None, -math.inf) for m in found],
            lambda rows, i: np.count_nonzero(sigs[rows] == sigs[i], axis=1) / self.index.num_perm,
            self.threshold,
            admit,
        )
        if kept:
            self.index.add(
                [batch[i].prompt_id for i in kept], sigs[kept], [batch[i].owner for i in kept]
            )
        return decisions


def greedy_lexical_reference(
    sigs: np.ndarray, threshold: float
) -> list[tuple[bool, int | None, float | None]]:
    """Brute force: keep i iff its estimated Jaccard to every kept j < i is below the
    threshold. Per row: (kept, the most similar kept row (earliest on ties), that estimate)."""
    kept: list[int] = []
    out: list[tuple[bool, int | None, float | None]] = []
    for i in range(sigs.shape[0]):
        if not kept:
            out.append((True, None, None))
            kept.append(i)
            continue
        est = np.count_nonzero(sigs[kept] == sigs[i], axis=1) / sigs.shape[1]
        j = int(np.argmax(est))
        keep = float(est[j]) < threshold
        out.append((keep, kept[j], float(est[j])))
        if keep:
            kept.append(i)
    return out


class RedisSignatureLog(RedisLog):
    """Append-only log of accepted signatures per index (language), replayed into ``LshIndex``.

    Same pattern as ``services.state.stores.RedisVectorLog``. Entry layout: 16 bytes prompt_id,
    ``num_perm`` uint32 (little endian), then the owning input message's coordinate in UTF-8:
    hashes and ids only, never text. The key carries the hasher's tag, so signatures made with
    other parameters are never mixed into an index (a changed tag starts an empty log).
    """

    def __init__(
        self, redis: aioredis.Redis, namespace: str, hasher: MinHasher | None = None
    ) -> None:
        self.num_perm = hasher.num_perm if hasher else NUM_PERM
        tag = hasher.tag if hasher else MinHasher().tag
        super().__init__(redis, f"{namespace}:minhash:{tag}:")
        self._sig_bytes = 4 * self.num_perm

    def encode(self, pid: str, sig: np.ndarray, owner: str) -> bytes:
        raw = np.asarray(sig, dtype="<u4").tobytes()
        if len(raw) != self._sig_bytes:
            raise ValueError(f"signature of {len(raw) // 4} values, expected {self.num_perm}")
        return bytes.fromhex(pid) + raw + owner.encode()

    async def sync(self, name: str, index: LshIndex, chunk: int = 10_000) -> int:
        """Add to ``index`` the entries beyond its current size; returns how many were added."""
        added = 0
        async for raw in self._tail(name, index, chunk):
            ids, owners = [], []
            sigs = np.empty((len(raw), self.num_perm), dtype=np.uint32)
            for i, entry in enumerate(raw):
                ids.append(entry[:16].hex())
                sigs[i] = np.frombuffer(entry[16 : 16 + self._sig_bytes], dtype="<u4")
                owners.append(entry[16 + self._sig_bytes :].decode())
            index.add(ids, sigs, owners)
            added += len(raw)
        return added
