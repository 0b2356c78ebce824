"""In-memory fakes of the ports that more than one unit test module drives.

Only pure logic is tested over a fake; what runs in Redis (Lua scripts, transactions, the logs
and their snapshots) is tested against the real redis-server in tests/integration.
"""

from __future__ import annotations

import asyncio
from collections import Counter, defaultdict

import numpy as np

from services.contract.envelope import InMsg
from services.diversity.quota import QuotaPolicy, Window
from services.pipeline.curate.stage import CurateStage


class FakeCurateState:
    """The curate stage's state port: logs as lists; ``sync`` adds what an index has not seen
    yet, as the Redis logs do."""

    def __init__(self) -> None:
        self.logs: dict[str, list[tuple[str, np.ndarray, str]]] = defaultdict(list)
        self.counts: Counter[str] = Counter()
        self.accepted: dict[str, bytes] = {}
        self.overrides: dict[str, bytes] = {}
        self.commits = 0
        self.origins: dict = {}  # prompt_id -> Origin, as the commits noted them
        self.erasures: list[tuple[str, str]] = []  # (index, prompt_id), the erasure log
        self.crowds: dict[int, set[str]] = defaultdict(set)  # cluster -> users, as committed

    async def override(self, name):
        return self.overrides.get(name)

    async def load_window(self, policy: QuotaPolicy, tag: str = "") -> Window:
        win = Window(policy, {}, tag=tag)
        win.total = self.counts["total"]
        return win

    async def sync_vectors(self, name, index):
        todo = self.logs[name][len(index) :]
        if todo:
            index.add(
                np.stack([v for _, v, _ in todo]), [p for p, _, _ in todo], [o for *_, o in todo]
            )
        return len(todo)

    async def sync_signatures(self, name, index):
        todo = self.logs[name][len(index) :]
        if todo:
            index.add(
                [p for p, _, _ in todo], np.stack([v for _, v, _ in todo]), [o for *_, o in todo]
            )
        return len(todo)

    async def commit(self, vectors, signatures, accepted, win, cascade=None, origins=None):
        self.origins.update(origins or {})
        if not accepted:
            return
        for entries in (vectors, signatures):
            for name, rows in entries.items():
                self.logs[name].extend(rows)
        self.counts["total"] += len(win.added)
        for cluster, user in win.users:
            self.crowds[cluster].add(user)
        self.accepted.update(accepted)
        self.commits += 1

    async def maybe_snapshot(self, name, index, erasures=0):
        return False

    async def erasures_since(self, position):
        return self.erasures[position:], len(self.erasures)


def run_batch(stage: CurateStage, msgs: list[InMsg]):
    """One micro-batch through the stage, as the runtime drives it."""

    async def go():
        await stage.before_batch()
        return await stage.process(msgs)

    return asyncio.run(go())
