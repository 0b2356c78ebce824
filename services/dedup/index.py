"""FAISS inner-product index of accepted prompts, and its lifecycle (exact -> IVF, snapshots).

Vectors are L2-normalized, so inner product = cosine. ``VectorIndex`` starts exact
(``IndexFlatIP``) and, once it holds more than ``ann_after`` vectors, switches itself to IVF
(``ivf_pq4fs_sq8`` by default: 4-bit PQ fast-scan codes re-ranked with 8-bit scalar codes; or
``ivf_sq8``), trained on a sample of the vectors it holds, which then move over. Its state can be
serialized (``state``/``load_state``) for snapshots in Redis. docs/vector-index.md has the measurements
behind the defaults; the greedy decision over it is ``services.dedup.greedy``.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Mapping, Sequence
from typing import Any

import faiss
import numpy as np

from services.dedup.greedy import Candidate
from services.dedup.ids import ERASED_PID, PID_BYTES, Owners, PidTable, is_pid, pids_to_bytes
from services.settings import Settings

log = logging.getLogger(__name__)

# The defaults are the settings' (services/settings.py), measured with python -m bench index
# (docs/vector-index.md) at 1M vectors on a shared 2-core machine: ivf_pq4fs_sq8 with nprobe 64 gave
# ~3,500 curate decisions/s with one FAISS thread (~5,250 with two) at recall@1 0.96 and ~550
# bytes per vector all in (ivf_sq8: ~900/s, ~445 bytes); exact up to 50k vectors (~3,000
# decisions/s at 10k, falling as 1/n); 4,096 lists (~250 vectors a list at 1M); nprobe 32 gave
# recall@1 0.946-0.955 at 1M, too close.
_FIELDS = Settings.model_fields
DEFAULT_ANN_AFTER: int = _FIELDS["index_ann_after"].default
DEFAULT_NLIST: int = _FIELDS["index_nlist"].default
DEFAULT_NPROBE: int = _FIELDS["index_nprobe"].default
DEFAULT_ANN: str = _FIELDS["index_ann"].default
ANN_KINDS = ("ivf_sq8", "ivf_pq4fs_sq8")
DEFAULT_K_FACTOR = 64  # ivf_pq4fs_sq8: candidates re-ranked with 8-bit codes, per result
SQ_RANGE_MARGIN = 0.5  # see _switch_to_ivf
SQ_SMALL_SAMPLE = 10_000
TRAIN_PER_LIST = 64  # k-means sample: this many vectors per list, at most
DEFAULT_FAISS_THREADS: int = _FIELDS["faiss_threads"].default  # see configure_faiss_threads


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


class VectorIndex:
    """Inner-product index of unit vectors with a prompt_id and an owner per row.

    Exact (``IndexFlatIP``, kind ``"flat"``) up to ``ann_after`` vectors; the ``add`` that takes
    it past that trains the approximate index ``ann`` on a sample of the held vectors and moves
    them over, which takes seconds once. ``ann_after=None`` keeps it exact forever.

    ``ann``: ``"ivf_sq8"`` is IVF (``nlist`` lists, ``nprobe`` searched) with 8-bit scalar codes;
    ``"ivf_pq4fs_sq8"`` scans 4-bit PQ fast-scan codes (dim/2 sub-quantizers) in the same lists,
    then re-ranks the best ``k_factor * k`` with 8-bit codes: ~3x faster at equal recall, ~50
    more bytes a vector (docs/vector-index.md). Similarities come from the 8-bit codes either way.

    Rows are numbered in insertion order, which is also the position in the Redis vector log
    that ``len(index)`` stands for. ``retire`` forgets the rows below a position (the dedup
    horizon): row numbers and ``len`` stay, ``live`` counts the rows held.
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
        self.first = 0  # rows below were retired; FAISS label and table row = row - first
        self._pids = PidTable()
        self._owners = Owners()
        self.switch_seconds: float | None = None

    @property
    def kind(self) -> str:
        if isinstance(self._index, faiss.IndexFlat):
            return "flat"
        return "ivf_pq4fs_sq8" if isinstance(self._index, faiss.IndexRefine) else "ivf_sq8"

    def __len__(self) -> int:
        return self.first + self._pids.n

    @property
    def live(self) -> int:
        """Rows held (``len`` minus the retired ones)."""
        return self._pids.n

    def __contains__(self, pid: object) -> bool:
        return isinstance(pid, str) and self.owners_of([pid])[0] is not None

    @property
    def ids(self) -> list[str]:
        """All prompt_ids in row order (materialized: O(n), for tests and tools)."""
        return [bytes(r).hex() for r in self._pids.pids[: self._pids.n]]

    def owners_of(self, pids: Sequence[str]) -> list[str | None]:
        """Owner of each prompt_id, ``None`` where absent (one vectorized look-up)."""
        out: list[str | None] = [None] * len(pids)
        valid = [i for i, p in enumerate(pids) if is_pid(p)]
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
        if self.kind == "flat" and self.ann_after is not None and self.live > self.ann_after:
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
            self.live,
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
        if self.live == 0 or n == 0:
            return np.full((n, k), -np.inf, dtype=np.float32), [[None] * k for _ in range(n)]
        if self.kind != "flat":
            self._tune(self._index)
        sims, rows = self._index.search(np.ascontiguousarray(queries, dtype=np.float32), k)
        pids = self._pids.pids
        ids = [[bytes(pids[r]).hex() if r >= 0 else None for r in row] for row in rows.tolist()]
        ids = [[None if p == ERASED_PID else p for p in row] for row in ids]
        sims = np.where(rows >= 0, sims, -np.inf).astype(np.float32)
        return sims, ids

    # The greedy curator's view of the index (services.dedup.greedy.NearIndex).

    def queries(self, batch: Sequence[Candidate]) -> np.ndarray:
        return np.stack([c.vector for c in batch]).astype(np.float32)

    def check_threshold(self, threshold: float) -> None:
        """Every cosine is searched: any threshold is safe."""

    def nearest_other(
        self, queries: np.ndarray, pids: Sequence[str]
    ) -> list[tuple[str | None, float]]:
        # k=2: the nearest may be the candidate itself (on a replay)
        sims, ids = self.search(queries, k=2)
        return [
            next(
                ((p, float(x)) for x, p in zip(sims[i], ids[i], strict=True) if p != pid),
                (None, -np.inf),
            )
            for i, pid in enumerate(pids)
        ]

    def similarities(self, queries: np.ndarray, rows: list[int], i: int) -> np.ndarray:
        return queries[rows] @ queries[i]

    def add_kept(self, queries: np.ndarray, pids: Sequence[str], owners: Sequence[str]) -> None:
        self.add(queries, pids, owners)

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

    def retire(self, upto: int) -> int:
        """Forget the rows below position ``upto`` (the dedup horizon); returns how many.

        Row numbers and ``len`` do not change. The flat kind is rebuilt from its vectors; the
        IVF kinds drop the rows from their lists (and refine codes) and renumber the rest."""
        n = self._pids.n
        cut = min(upto - self.first, n)
        if cut <= 0:
            return 0
        if self.kind == "flat":
            xb = faiss.rev_swig_ptr(self._index.get_xb(), n * self.dim).reshape(n, self.dim)
            flat = faiss.IndexFlatIP(self.dim)
            flat.add(np.ascontiguousarray(xb[cut:]))
            self._index = flat
        else:
            ivf: Any = faiss.extract_index_ivf(self._index)
            ivf.remove_ids(faiss.IDSelectorRange(0, cut))
            lists = ivf.invlists
            for i in range(ivf.nlist):
                size = lists.list_size(i)
                if size:
                    faiss.rev_swig_ptr(lists.get_ids(i), size)[:] -= cut
            if isinstance(self._index, faiss.IndexRefine):
                refine: Any = faiss.downcast_index(self._index.refine_index)
                refine.remove_ids(faiss.IDSelectorRange(0, cut))
                self._index.ntotal = ivf.ntotal
        table = PidTable()
        table.add(self._pids.pids[cut:n].copy())
        self._pids = table
        self._owners = self._owners.sliced(cut, n)
        self.first += cut
        return cut

    def erase(self, pids: Sequence[str]) -> int:
        """Erase these prompts (docs/privacy.md); returns how many rows held one. Each row keeps
        its number (the log position it stands for) but loses its id and its vector: the flat
        kind's row is zeroed, the IVF kinds hold a zero vector in its place (and zero 8-bit codes).
        ``state()`` afterwards holds nothing of them."""
        valid = [p for p in pids if is_pid(p) and p != ERASED_PID]
        if not valid or self._pids.n == 0:
            return 0
        rows, _ = self._pids.find(pids_to_bytes(valid))
        rows = rows[rows >= 0]
        if rows.size == 0:
            return 0
        if self.kind == "flat":
            xb = faiss.rev_swig_ptr(self._index.get_xb(), self._pids.n * self.dim)
            xb.reshape(self._pids.n, self.dim)[rows] = 0
        else:  # out of the lists, back as zero vectors: numbering and counts stay whole
            labels = np.sort(rows).astype(np.int64)
            ivf: Any = faiss.extract_index_ivf(self._index)
            ivf.remove_ids(faiss.IDSelectorArray(labels))
            ivf.add_with_ids(np.zeros((len(labels), self.dim), dtype=np.float32), labels)
            if isinstance(self._index, faiss.IndexRefine):
                refine: Any = faiss.downcast_index(self._index.refine_index)
                width = refine.code_size
                codes = faiss.rev_swig_ptr(refine.codes.data(), refine.ntotal * width)
                codes.reshape(refine.ntotal, width)[labels] = 0
        self._pids.erase(rows)
        return int(rows.size)

    def state(self) -> dict[str, bytes]:
        """Serializable parts (see ``from_state``); FAISS's own format for the index."""
        n = self.live
        own = self._owners
        meta = {
            "dim": self.dim,
            "first": self.first,
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
        table = PidTable()
        table.add(np.frombuffer(parts["pids"], dtype=np.uint8).reshape(n, PID_BYTES))
        self._pids = table
        self.first = int(meta.get("first", 0))  # snapshots before the horizon have none
        self._owners = Owners.from_arrays(
            np.frombuffer(parts["owner_code"], dtype=np.int32).copy(),
            np.frombuffer(parts["owner_offset"], dtype=np.int64).copy(),
            list(meta["prefixes"]),
            {int(k): v for k, v in meta["verbatim"].items()},
        )
