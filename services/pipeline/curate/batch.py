"""One micro-batch's decisions in the making, and the verdict of one item."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from services.clean.text import event_key
from services.contract.envelope import InMsg
from services.contract.records import CurateItem, Reason
from services.dedup.greedy import Decision
from services.dedup.union import Pending
from services.diversity.quota import Window
from services.pipeline.routing import lexical_index, vector_index
from services.state.privacy import Origin

Admit = Callable[[int], Reason | None]
DUPLICATE = (Reason.EXACT_DUPLICATE, Reason.NEAR_DUPLICATE)


@dataclass
class Verdict:
    decision: Decision | None  # None: no check ran
    reason: Reason | None  # rejection reason, None = accepted
    check: str  # faiss | minhash

    @classmethod
    def of(cls, d: Decision, check: str) -> Verdict:
        if d.accepted:
            return cls(d, None, check)
        if d.refused is not None:
            return cls(d, Reason(d.refused), check)
        return cls(d, Reason.EXACT_DUPLICATE if d.exact_duplicate else Reason.NEAR_DUPLICATE, check)


class Batch:
    """Verdicts, log entries, the window, and the acceptances not committed yet (``pending``,
    per language as the indexes are)."""

    def __init__(
        self,
        items: list[tuple[InMsg, CurateItem]],
        vectors: dict[int, np.ndarray],
        quota_cluster: list[int | None],
        win: Window,
    ) -> None:
        self.items = items
        self.vectors = vectors  # decoded once per batch
        self.quota_cluster = quota_cluster
        self.win = win
        self.verdicts: dict[int, Verdict] = {}
        self.vec_entries: dict[str, list[tuple[str, np.ndarray, str]]] = defaultdict(list)
        self.sig_entries: dict[str, list[tuple[str, np.ndarray, str]]] = defaultdict(list)
        self.acc: dict[str, bytes] = {}
        self.pending: dict[str, Pending] = {}
        self.computed: dict[str, np.ndarray] = {}  # the cascade's transformer vectors

    def groups(self) -> tuple[dict[str, list[int]], dict[str, list[int]]]:
        """Rows per index: embedded items by their language's shard, the others by language."""
        vector: dict[str, list[int]] = defaultdict(list)
        lexical: dict[str, list[int]] = defaultdict(list)
        for i, (_, item) in enumerate(self.items):
            if item.vector is not None:
                vector[vector_index(item.space or item.lang, item.shard or 0)].append(i)
            else:
                lexical[lexical_index(item.space or item.lang)].append(i)
        return vector, lexical

    @cached_property
    def texts(self) -> dict[str, str]:
        """The cascade: what the transformer reads per prompt (built only when asked)."""
        return {it.prompt_id: it.verify_text or it.text for _, it in self.items}

    def cascade_commit(self) -> tuple[dict[str, str], dict[str, np.ndarray]]:
        """Texts of the batch's embedded acceptances, and the transformer vectors computed for
        them or for earlier acceptances (never for the batch's duplicates)."""
        accepted = {pid for entries in self.vec_entries.values() for pid, _, _ in entries}
        texts = {pid: self.texts[pid] for pid in accepted}
        vectors = {
            pid: v for pid, v in self.computed.items() if pid in accepted or pid not in self.texts
        }
        return texts, vectors

    def admit_fn(self, rows: list[int]) -> Admit:
        def admit(j: int) -> Reason | None:
            it = self.items[rows[j]][1]
            synthetic = it.source == "synthetic"
            return self.win.admit(self.quota_cluster[rows[j]], synthetic, it.cluster, it.user)

        return admit

    def origins(self) -> dict[str, Origin]:
        """Where each acceptance went and whom it came from, for erasure."""
        item = {it.prompt_id: it for _, it in self.items}
        return {
            pid: Origin(name, item[pid].user, event_key(item[pid].event_id))
            for entries in (self.vec_entries, self.sig_entries)
            for name, rows in entries.items()
            for pid, _, _ in rows
        }

    def accepted_vectors(self) -> list[tuple[str, np.ndarray, str]]:
        """(prompt_id, vector, text) of the batch's acceptances, for the topic sample."""
        return [
            (self.items[i][1].prompt_id, v, self.items[i][1].text)
            for i, v in self.vectors.items()
            if self.verdicts[i].reason is None
        ]

    def note_outcomes(self) -> None:
        """For the synthetic-balance signal and the gap examples: per cluster and origin, the
        prompts de-duplication decided and which were duplicates; the acceptances' ids."""
        for i in self.vectors:
            v, cluster = self.verdicts[i], self.quota_cluster[i]
            if cluster is None or v.reason is Reason.BLOCKLISTED:
                continue
            msg, item = self.items[i]
            if not self.win.fresh_outcome(f"{msg.topic}/{msg.partition}", msg.offset):
                continue  # noted before a crash, by the commit of this batch's first decision
            self.win.note_decided(cluster, item.source == "synthetic", v.reason in DUPLICATE)
            if v.reason is None:
                self.win.examples.append((cluster, item.prompt_id))

    def restart(self, window: Window) -> None:
        """Forget the vector groups' decisions (the lexical ones stand)."""
        self.win = window.copy()
        for entries in self.vec_entries.values():
            for pid, _, _ in entries:
                self.acc.pop(pid, None)
        self.vec_entries.clear()
        self.pending.clear()  # the next decision starts new ones
        for i in self.vectors:
            self.verdicts.pop(i, None)
