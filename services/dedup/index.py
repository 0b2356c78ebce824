"""FAISS inner-product indexes of accepted prompts and the greedy near-duplicate decision.

Vectors are L2-normalized, so inner product = cosine. Decisions follow the greedy rule used for
Llama 3's SFT prompts: in arrival order, keep a prompt iff its maximum cosine to every prompt kept
before it is below the threshold. ``greedy_reference`` is the brute-force statement of that rule;
``GreedyCurator`` computes the same decisions with batched FAISS searches.

``VectorIndex`` starts exact (``IndexFlatIP``) and, once it holds more than ``ann_after`` vectors,
switches itself to IVF with 8-bit scalar quantization (``IndexIVFScalarQuantizer``, inner
product): trained on a sample of the vectors it holds, which then move over. docs/index.md has
the measurements behind the defaults.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import faiss
import numpy as np

log = logging.getLogger(__name__)

# Defaults measured with bench/index.py (docs/index.md) at 1M vectors on a shared 2-core machine:
# ivf_pq4fs_sq8 with nprobe 64 gave ~3,500 curate decisions/s with one FAISS thread (~5,250 with
# two) at recall@1 0.96 and ~550 bytes per vector all in (ivf_sq8: ~900/s, ~445 bytes).
DEFAULT_ANN_AFTER = 50_000  # exact up to here (~3,000 decisions/s at 10k, falling as 1/n)
DEFAULT_NLIST = 4096  # IVF lists: ~250 vectors a list at 1M; k-means on the first 50k is enough
DEFAULT_NPROBE = 64  # lists scanned per query: 32 gave recall@1 0.946-0.955 at 1M, too close
DEFAULT_ANN = "ivf_pq4fs_sq8"
ANN_KINDS = ("ivf_sq8", "ivf_pq4fs_sq8")
DEFAULT_K_FACTOR = 64  # ivf_pq4fs_sq8: candidates re-ranked with 8-bit codes, per result
SQ_RANGE_MARGIN = 0.5  # see _switch_to_ivf
SQ_SMALL_SAMPLE = 10_000
TRAIN_PER_LIST = 64  # k-means sample: this many vectors per list, at most
DEFAULT_FAISS_THREADS = 1  # see configure_faiss_threads

PID_BYTES = 16  # prompt_id = 32 hex digits (sha256 prefix)


def configure_faiss_threads(n: int | None = None) -> int:
    """Set FAISS's OpenMP thread count (call once at worker start); returns the count set.

    ``None`` reads ``FLYWHEEL_FAISS_THREADS``, else ``DEFAULT_FAISS_THREADS``. One thread is the
    measured default: with micro-batches of <= 128 queries a second thread gains little and
    competes with the embedding model for the same cores. OpenMP's spin-waiting is controlled by
    ``OMP_WAIT_POLICY``, which must be set before the process starts (the container sets
    ``PASSIVE``).
    """
    if n is None:
        n = int(os.environ.get("FLYWHEEL_FAISS_THREADS", DEFAULT_FAISS_THREADS))
    n = max(1, int(n))
    faiss.omp_set_num_threads(n)
    return n


_HEX = frozenset("0123456789abcdefABCDEF")


def _is_pid(p: str) -> bool:
    return len(p) == 2 * PID_BYTES and _HEX.issuperset(p)


def pids_to_bytes(pids: Sequence[str]) -> np.ndarray:
    """(n, 16) uint8 from 32-hex-digit prompt_ids; ValueError for any other id."""
    if any(len(p) != 2 * PID_BYTES for p in pids):
        raise ValueError("prompt_id must be 32 hex digits")
    try:
        raw = bytes.fromhex("".join(pids))
    except ValueError as exc:
        raise ValueError("prompt_id must be 32 hex digits") from exc
    return np.frombuffer(raw, dtype=np.uint8).reshape(len(pids), PID_BYTES)


class _PidTable:
    """prompt_id -> row, open addressing over numpy arrays (~8-16 bytes a row, not ~250 for a dict).

    ``pids`` holds the 16-byte ids in row order; ``slots`` a power-of-two table of rows (-1 =
    empty), kept at most half full, probed linearly from a multiplicative hash. A prompt_id added
    again points at its newest row (as ``dict.update`` would).
    """

    def __init__(self) -> None:
        self.pids = np.zeros((0, PID_BYTES), dtype=np.uint8)
        self.n = 0
        self.slots = np.full(16, -1, dtype=np.int32)

    def words(self, pid_bytes: np.ndarray) -> np.ndarray:
        return np.ascontiguousarray(pid_bytes).view(np.uint64).reshape(-1, 2)

    def _home(self, w: np.ndarray) -> np.ndarray:
        bits = int(self.slots.size).bit_length() - 1
        h = (w[:, 0] ^ w[:, 1]) * np.uint64(0x9E3779B97F4A7C15)
        return (h >> np.uint64(64 - bits)).astype(np.int64)

    def find(self, pid_bytes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per id: its row (-1 if absent) and the slot where it is or would go."""
        w = self.words(pid_bytes)
        mask = self.slots.size - 1
        pos = self._home(w)
        rows = np.full(len(w), -1, dtype=np.int64)
        todo = np.arange(len(w))
        mine = self.words(self.pids[: self.n])
        while todo.size:
            cur = self.slots[pos[todo]].astype(np.int64)
            empty = cur < 0
            hit = ~empty
            hit[hit] = (mine[cur[hit], 0] == w[todo[hit], 0]) & (
                mine[cur[hit], 1] == w[todo[hit], 1]
            )
            rows[todo[hit]] = cur[hit]
            todo = todo[~(empty | hit)]
            pos[todo] = (pos[todo] + 1) & mask
        return rows, pos

    def add(self, pid_bytes: np.ndarray) -> None:
        """Append rows ``n..n+len-1`` with these ids."""
        m = len(pid_bytes)
        if self.n + m > len(self.pids):
            grown = np.zeros((max(self.n + m, len(self.pids) * 3 // 2, 1024), PID_BYTES), np.uint8)
            grown[: self.n] = self.pids[: self.n]
            self.pids = grown
        self.pids[self.n : self.n + m] = pid_bytes
        start, self.n = self.n, self.n + m
        if 2 * self.n > self.slots.size:
            size = self.slots.size
            while 2 * self.n > size:
                size *= 2
            self.slots = np.full(size, -1, dtype=np.int32)
            self._place(np.arange(self.n))
        else:
            self._place(np.arange(start, self.n))

    def _place(self, rows: np.ndarray) -> None:
        # Only the last row of an id needs a slot; an id already present moves to its new row.
        w = self.words(self.pids[rows])
        if len(rows) > 1:
            _, first_of_reversed = np.unique(w[::-1], axis=0, return_index=True)
            last = np.sort(len(rows) - 1 - first_of_reversed)
            rows, w = rows[last], w[last]
        found, pos = self.find(self.pids[rows])
        old = found >= 0
        self.slots[pos[old]] = rows[old]
        rows, pos = rows[~old], pos[~old]
        mask = self.slots.size - 1
        while rows.size:  # new ids, all distinct: claim the first empty slot on the probe path
            taken = self.slots[pos] >= 0
            pos[taken] = (pos[taken] + 1) & mask
            free = np.flatnonzero(~taken)
            _, first = np.unique(pos[free], return_index=True)
            won = free[first]
            self.slots[pos[won]] = rows[won]
            keep = np.ones(len(rows), dtype=bool)
            keep[won] = False
            rows, pos = rows[keep], pos[keep]

    def nbytes(self) -> int:
        return int(self.pids.nbytes + self.slots.nbytes)


class _Owners:
    """Owner coordinate per row, stored as (interned ``topic/partition`` code, offset).

    An owner that is not ``<prefix>/<decimal offset>`` is kept verbatim in a small dict.
    """

    def __init__(self) -> None:
        self.code = np.zeros(0, dtype=np.int32)
        self.offset = np.zeros(0, dtype=np.int64)
        self.prefixes: list[str] = []
        self._codes: dict[str, int] = {}
        self.verbatim: dict[int, str] = {}

    def add(self, start: int, owners: Sequence[str]) -> None:
        m = len(owners)
        if start + m > len(self.code):
            cap = max(start + m, len(self.code) * 3 // 2, 1024)
            self.code = np.resize(self.code, cap)
            self.offset = np.resize(self.offset, cap)
        codes = np.empty(m, dtype=np.int32)
        offsets = np.zeros(m, dtype=np.int64)
        for i, owner in enumerate(owners):
            prefix, _, off = owner.rpartition("/")
            if (
                prefix
                and off.isascii()
                and off.isdigit()
                and len(off) < 19
                and str(int(off)) == off
            ):
                c = self._codes.get(prefix)
                if c is None:
                    c = self._codes[prefix] = len(self.prefixes)
                    self.prefixes.append(prefix)
                codes[i], offsets[i] = c, int(off)
            else:
                codes[i] = -1
                self.verbatim[start + i] = owner
        self.code[start : start + m] = codes
        self.offset[start : start + m] = offsets

    def get(self, row: int) -> str:
        c = int(self.code[row])
        return self.verbatim[row] if c < 0 else f"{self.prefixes[c]}/{int(self.offset[row])}"

    def nbytes(self) -> int:
        extra = sum(len(p) + 60 for p in self.prefixes) + 120 * len(self.verbatim)
        return int(self.code.nbytes + self.offset.nbytes + extra)


class OwnersView(Mapping[str, str]):
    """Read-only ``prompt_id -> owner`` view of a ``VectorIndex`` (``get``, ``in``, ``[]``)."""

    def __init__(self, index: VectorIndex) -> None:
        self._index = index

    def __getitem__(self, pid: str) -> str:
        owner = self._index.owners_of([pid])[0]
        if owner is None:
            raise KeyError(pid)
        return owner

    def __iter__(self) -> Iterator[str]:
        return iter(dict.fromkeys(self._index.ids))

    def __len__(self) -> int:
        return self._index.distinct_ids()


class VectorIndex:
    """Inner-product index of unit vectors with a prompt_id and an owner per row.

    Exact (``IndexFlatIP``, kind ``"flat"``) up to ``ann_after`` vectors; the ``add`` that takes
    it past that trains the approximate index ``ann`` on a sample of the held vectors and moves
    them over, which takes seconds once. ``ann_after=None`` keeps it exact forever.

    ``ann``: ``"ivf_sq8"`` is IVF (``nlist`` lists, ``nprobe`` searched) with 8-bit scalar codes;
    ``"ivf_pq4fs_sq8"`` scans 4-bit PQ fast-scan codes (dim/2 sub-quantizers) in the same lists,
    then re-ranks the best ``k_factor * k`` with 8-bit codes: ~3x faster at equal recall, ~50
    more bytes a vector (docs/index.md). Similarities come from the 8-bit codes either way.

    Rows are numbered in insertion order, which is also the position in the Redis vector log
    that ``len(index)`` stands for.
    """

    def __init__(
        self,
        dim: int,
        *,
        ann_after: int | None = DEFAULT_ANN_AFTER,
        nlist: int = DEFAULT_NLIST,
        nprobe: int = DEFAULT_NPROBE,
        ann: str = DEFAULT_ANN,
        k_factor: int = DEFAULT_K_FACTOR,
    ) -> None:
        if ann_after is not None and ann_after < nlist:
            raise ValueError(f"ann_after ({ann_after}) must be >= nlist ({nlist}) to train IVF")
        if ann not in ANN_KINDS:
            raise ValueError(f"ann must be one of {ANN_KINDS}, not {ann!r}")
        self.dim = dim
        self.ann_after = ann_after
        self.nlist = nlist
        self.nprobe = nprobe
        self.ann = ann
        self.k_factor = k_factor
        self._index: Any = faiss.IndexFlatIP(dim)
        self._pids = _PidTable()
        self._owners = _Owners()
        self.owners = OwnersView(self)
        self.switch_seconds: float | None = None

    @property
    def kind(self) -> str:
        if isinstance(self._index, faiss.IndexFlat):
            return "flat"
        return "ivf_pq4fs_sq8" if isinstance(self._index, faiss.IndexRefine) else "ivf_sq8"

    def __len__(self) -> int:
        return self._pids.n

    def __contains__(self, pid: object) -> bool:
        return isinstance(pid, str) and self.owners_of([pid])[0] is not None

    @property
    def ids(self) -> list[str]:
        """All prompt_ids in row order (materialized: O(n), for tests and tools)."""
        return [bytes(r).hex() for r in self._pids.pids[: self._pids.n]]

    def distinct_ids(self) -> int:
        return int(np.count_nonzero(self._pids.slots >= 0))

    def owners_of(self, pids: Sequence[str]) -> list[str | None]:
        """Owner of each prompt_id, ``None`` where absent (one vectorized look-up)."""
        out: list[str | None] = [None] * len(pids)
        valid = [i for i, p in enumerate(pids) if _is_pid(p)]
        if not valid or self._pids.n == 0:
            return out
        rows, _ = self._pids.find(pids_to_bytes([pids[i] for i in valid]))
        for i, r in zip(valid, rows.tolist(), strict=True):
            if r >= 0:
                out[i] = self._owners.get(r)
        return out

    def add(self, vectors: np.ndarray, ids: Sequence[str], owners: Sequence[str]) -> None:
        if len(ids) == 0:
            return
        self.add_raw(np.ascontiguousarray(vectors, dtype=np.float32), pids_to_bytes(ids), owners)

    def add_raw(self, vectors: np.ndarray, pid_bytes: np.ndarray, owners: Sequence[str]) -> None:
        """``add`` with ids as (n, 16) uint8, as the Redis log stores them."""
        n = len(pid_bytes)
        if not (vectors.shape == (n, self.dim) and len(owners) == n):
            raise ValueError("vectors, ids and owners differ in length or dimension")
        start = self._pids.n
        self._index.add(np.ascontiguousarray(vectors, dtype=np.float32))
        self._owners.add(start, owners)
        self._pids.add(pid_bytes)
        if self.kind == "flat" and self.ann_after is not None and len(self) > self.ann_after:
            self._switch_to_ivf()

    def _switch_to_ivf(self) -> None:
        t0 = time.perf_counter()
        flat = self._index
        vectors = faiss.rev_swig_ptr(flat.get_xb(), flat.ntotal * self.dim).reshape(-1, self.dim)
        ivf = self._new_ann()
        rng = np.random.default_rng(0)
        n_train = min(len(vectors), TRAIN_PER_LIST * self.nlist)
        sample = vectors[np.sort(rng.choice(len(vectors), n_train, replace=False))]
        # 8-bit codes span each dimension's range in the sample; a vector outside it is clipped,
        # which can flip a decision. A small sample covers the range poorly: widen it. Not for
        # large samples: it costs precision (a 0.1 margin cost ~0.01 recall@1 at 1M vectors).
        if n_train < SQ_SMALL_SAMPLE:
            sq: Any = faiss.downcast_index(
                ivf.refine_index if isinstance(ivf, faiss.IndexRefine) else ivf
            )
            sq.sq.rangestat_arg = SQ_RANGE_MARGIN
        threads = faiss.omp_get_max_threads()
        faiss.omp_set_num_threads(os.cpu_count() or 1)  # a one-off: use every core
        try:
            ivf.train(np.ascontiguousarray(sample))
            for i in range(0, len(vectors), 65_536):
                ivf.add(np.ascontiguousarray(vectors[i : i + 65_536]))
        finally:
            faiss.omp_set_num_threads(threads)
        self._index = ivf  # the flat index (and the view into it) is released here
        del vectors, flat
        self.switch_seconds = time.perf_counter() - t0
        log.info(
            "vector index switched to %s at %d vectors (nlist=%d, trained on %d) in %.1fs",
            self.kind,
            len(self),
            self.nlist,
            n_train,
            self.switch_seconds,
        )

    def _new_ann(self) -> Any:
        index: Any
        if self.ann == "ivf_sq8":
            quantizer = faiss.IndexFlatIP(self.dim)
            index = faiss.IndexIVFScalarQuantizer(
                quantizer,
                self.dim,
                self.nlist,
                faiss.ScalarQuantizer.QT_8bit,
                faiss.METRIC_INNER_PRODUCT,
            )
        else:
            spec = f"IVF{self.nlist},PQ{self.dim // 2}x4fs,Refine(SQ8)"
            index = faiss.index_factory(self.dim, spec, faiss.METRIC_INNER_PRODUCT)
        faiss.extract_index_ivf(index).cp.niter = 10
        self._tune(index)
        return index

    def _tune(self, index: Any) -> None:
        faiss.extract_index_ivf(index).nprobe = self.nprobe
        if isinstance(index, faiss.IndexRefine):
            index.k_factor = self.k_factor

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, list[list[str | None]]]:
        """Top-k cosine and prompt_ids per query; missing neighbours are (-inf, None)."""
        n = queries.shape[0]
        if len(self) == 0 or n == 0:
            return np.full((n, k), -np.inf, dtype=np.float32), [[None] * k for _ in range(n)]
        if self.kind != "flat":
            self._tune(self._index)
        sims, rows = self._index.search(np.ascontiguousarray(queries, dtype=np.float32), k)
        pids = self._pids.pids
        ids = [[bytes(pids[r]).hex() if r >= 0 else None for r in row] for row in rows.tolist()]
        sims = np.where(rows >= 0, sims, -np.inf).astype(np.float32)
        return sims, ids

    def memory_bytes(self) -> int:
        """Estimated resident bytes: FAISS payload plus the id and owner bookkeeping."""
        return self.faiss_bytes() + self._pids.nbytes() + self._owners.nbytes()

    def faiss_bytes(self) -> int:
        idx = self._index
        if self.kind == "flat":
            return int(idx.ntotal) * self.dim * 4
        ivf: Any = faiss.extract_index_ivf(idx)
        invlists = ivf.invlists
        sizes = np.array([invlists.list_size(i) for i in range(ivf.nlist)], dtype=np.int64)
        centroids = ivf.nlist * (self.dim * 4 + 48)
        if self.kind == "ivf_sq8":  # code + int64 label per vector in its inverted list
            return int(sizes.sum() * (ivf.code_size + 8) + centroids)
        # fast-scan lists hold blocks of 32 codes; the refine index keeps 8-bit codes in row order
        blocks = (sizes + 31) // 32
        pq = int(blocks.sum() * 32 * ivf.code_size + sizes.sum() * 8)
        sq: Any = faiss.downcast_index(idx.refine_index)
        refine = int(idx.ntotal) * sq.code_size
        return pq + refine + centroids

    def state(self) -> dict[str, bytes]:
        """Serializable parts (see ``from_state``); FAISS's own format for the index."""
        n = len(self)
        own = self._owners
        meta = {
            "dim": self.dim,
            "n": n,
            "kind": self.kind,
            "nlist": self.nlist,
            "prefixes": own.prefixes,
            "verbatim": {str(k): v for k, v in own.verbatim.items()},
        }
        return {
            "meta": json.dumps(meta).encode(),
            "faiss": faiss.serialize_index(self._index).tobytes(),
            "pids": self._pids.pids[:n].tobytes(),
            "owner_code": own.code[:n].tobytes(),
            "owner_offset": own.offset[:n].tobytes(),
        }

    def load_state(self, parts: Mapping[str, bytes]) -> None:
        """Replace this index's contents with a ``state()``; keeps this index's ``nprobe``."""
        meta = json.loads(parts["meta"])
        if meta["dim"] != self.dim:
            raise ValueError(f"snapshot has dim {meta['dim']}, index has {self.dim}")
        n = int(meta["n"])
        index = faiss.deserialize_index(np.frombuffer(parts["faiss"], dtype=np.uint8))
        if index.ntotal != n:
            raise ValueError(f"snapshot index holds {index.ntotal} vectors, meta says {n}")
        self._index = index
        if meta["kind"] != "flat":
            self.nlist = int(meta["nlist"])
            self._tune(index)
        table = _PidTable()
        table.add(np.frombuffer(parts["pids"], dtype=np.uint8).reshape(n, PID_BYTES))
        self._pids = table
        own = _Owners()
        own.code = np.frombuffer(parts["owner_code"], dtype=np.int32).copy()
        own.offset = np.frombuffer(parts["owner_offset"], dtype=np.int64).copy()
        own.prefixes = list(meta["prefixes"])
        own._codes = {p: i for i, p in enumerate(own.prefixes)}
        own.verbatim = {int(k): v for k, v in meta["verbatim"].items()}
        self._owners = own


@dataclass(frozen=True)
class Candidate:
    prompt_id: str
    owner: str  # identity of the input message (topic/partition/offset); same on a replay
    vector: np.ndarray  # unit norm, float32


@dataclass(frozen=True)
class Decision:
    prompt_id: str
    accepted: bool
    nearest_id: str | None
    similarity: float | None  # max cosine to the accepted set before this prompt
    replayed: bool = False  # this event's prompt is already in the index: its acceptance stands
    exact_duplicate: bool = False  # another event already got this prompt_id accepted
    refused: str | None = None  # not a duplicate, but ``admit`` refused it (quota, mix)


class GreedyCurator:
    """Greedy semantic de-duplication of a batch against an index, in arrival order.

    Equivalent to ``greedy_reference`` on the concatenation (index contents, batch): each
    candidate is compared with the index (one batched FAISS search) and with the candidates of
    the same batch accepted before it. Accepted vectors are added to the index.
    A candidate whose prompt_id is already in the index for the same input message is a replay after a
    crash: the earlier decision (accept) stands and it is not added twice. The same prompt_id
    from another input message is an exact duplicate.
    """

    def __init__(self, index: VectorIndex, threshold: float) -> None:
        self.index = index
        self.threshold = threshold

    def decide(
        self,
        batch: Sequence[Candidate],
        admit: Callable[[int], str | None] | None = None,
    ) -> list[Decision]:
        """``admit(i)``, when given, is asked about each new acceptance (batch position ``i``)
        after the near-duplicate check; a reason refuses it (``Decision.refused``) and the
        candidate is not kept, so it neither enters the index nor shadows later candidates."""
        if not batch:
            return []
        queries = np.stack([c.vector for c in batch]).astype(np.float32)
        sims, ids = self.index.search(queries, k=2)
        # The nearest accepted prompt other than the candidate itself (itself: on a replay).
        nearest = [
            next(
                ((p, float(x)) for x, p in zip(sims[i], ids[i], strict=True) if p != c.prompt_id),
                (None, -np.inf),
            )
            for i, c in enumerate(batch)
        ]
        decisions, kept = greedy_pass(
            [(c.prompt_id, c.owner) for c in batch],
            self.index.owners_of([c.prompt_id for c in batch]),
            nearest,
            lambda rows, i: queries[rows] @ queries[i],
            self.threshold,
            admit,
        )
        if kept:
            self.index.add(
                queries[kept], [batch[i].prompt_id for i in kept], [batch[i].owner for i in kept]
            )
        return decisions


def greedy_pass(
    cands: Sequence[tuple[str, str]],
    owners: Sequence[str | None],
    nearest: Sequence[tuple[str | None, float]],
    local: Callable[[list[int], int], np.ndarray],
    threshold: float,
    admit: Callable[[int], str | None] | None = None,
) -> tuple[list[Decision], list[int]]:
    """The greedy rule over one batch, shared by the semantic and the lexical curators.

    ``cands``: (prompt_id, owner) per candidate in decision order; ``owners``: who got each
    prompt_id into the index already (None: nobody); ``nearest``: the best (prompt_id,
    similarity) in the index other than the candidate itself; ``local(rows, i)``: similarities
    of candidate ``i`` to the batch's kept candidates ``rows``. Returns the decisions and the
    positions kept (to add to the index).
    """
    decisions: list[Decision] = []
    kept: list[int] = []
    kept_set: set[str] = set()
    for i, ((pid, mine), owner) in enumerate(zip(cands, owners, strict=True)):
        if (owner is not None and owner != mine) or pid in kept_set:
            decisions.append(Decision(pid, False, pid, 1.0, False, True))
            continue
        best_id, best_sim = nearest[i]
        if owner is not None:  # replay: the earlier acceptance stands
            decisions.append(_decision(pid, True, best_id, best_sim, replayed=True))
            continue
        if kept:
            sims = local(kept, i)
            j = int(np.argmax(sims))
            if float(sims[j]) > best_sim:
                best_sim, best_id = float(sims[j]), cands[kept[j]][0]
        accepted = best_sim < threshold
        refused = admit(i) if accepted and admit is not None else None
        if refused is not None:
            decisions.append(replace(_decision(pid, False, best_id, best_sim), refused=refused))
            continue
        if accepted:
            kept.append(i)
            kept_set.add(pid)
        decisions.append(_decision(pid, accepted, best_id, best_sim))
    return decisions, kept


def _decision(
    pid: str, accepted: bool, best_id: str | None, best_sim: float, replayed: bool = False
) -> Decision:
    if best_id is None or not np.isfinite(best_sim):
        return Decision(pid, accepted, None, None, replayed)
    return Decision(pid, accepted, best_id, round(float(best_sim), 6), replayed)


def greedy_reference(vectors: np.ndarray, threshold: float) -> list[bool]:
    """Brute force: keep i iff max cosine to every kept j < i is below the threshold."""
    kept: list[int] = []
    out: list[bool] = []
    for i in range(vectors.shape[0]):
        keep = not kept or float(np.max(vectors[kept] @ vectors[i])) < threshold
        out.append(keep)
        if keep:
            kept.append(i)
    return out
