"""Compact bookkeeping of an index's rows: prompt_id -> row, and the owner of each row.

A dict of 32-character strings costs ~250 bytes a row; these tables cost ~40 at 1M rows
(docs/vector-index.md). Both the FAISS index (``services.dedup.index``) and the Redis logs
(``services.state.vector_log``) use the 16-byte binary form of a prompt_id.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

PID_BYTES = 16  # prompt_id = 32 hex digits (sha256 prefix)
ERASED = b"\xff" * PID_BYTES  # the id of a row whose prompt was erased (docs/privacy.md)
ERASED_PID = ERASED.hex()

_HEX = frozenset("0123456789abcdefABCDEF")


def is_pid(p: str) -> bool:
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


class PidTable:
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

    def erase(self, rows: np.ndarray) -> None:
        """Give ``rows`` the id ``ERASED``: their prompt_ids are found no more (their slots stay
        taken, so probes for other ids go on past them) and may be added again."""
        self.pids[rows] = np.frombuffer(ERASED, dtype=np.uint8)

    def nbytes(self) -> int:
        return int(self.pids.nbytes + self.slots.nbytes)


class Owners:
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

    @classmethod
    def from_arrays(
        cls, code: np.ndarray, offset: np.ndarray, prefixes: list[str], verbatim: dict[int, str]
    ) -> Owners:
        """The table a snapshot stored (``VectorIndex.state``)."""
        own = cls()
        own.code, own.offset = code, offset
        own.prefixes = list(prefixes)
        own._codes = {p: i for i, p in enumerate(own.prefixes)}
        own.verbatim = dict(verbatim)
        return own

    def sliced(self, start: int, stop: int) -> Owners:
        """Rows ``[start, stop)`` renumbered from 0 (``VectorIndex.retire``)."""
        verbatim = {r - start: o for r, o in self.verbatim.items() if start <= r < stop}
        return Owners.from_arrays(
            self.code[start:stop].copy(), self.offset[start:stop].copy(), self.prefixes, verbatim
        )

    def get(self, row: int) -> str:
        c = int(self.code[row])
        return self.verbatim[row] if c < 0 else f"{self.prefixes[c]}/{int(self.offset[row])}"

    def nbytes(self) -> int:
        extra = sum(len(p) + 60 for p in self.prefixes) + 120 * len(self.verbatim)
        return int(self.code.nbytes + self.offset.nbytes + extra)
