"""The greedy decision of one group of a batch (one index: a language's shard, or its lexical
index), in priority order, the same way for vectors and MinHash signatures.

Each candidate, in order: ``blocklisted`` when near a blocked prompt (vectors only); an exact or
near duplicate of the index or of the group's earlier acceptances; then ``mix`` or ``quota``
when the accepted window has no room for it (``services.diversity.quota``); else accepted. With
the cascade backend the index is first narrowed to the pairs the transformer confirms
(``services.dedup.cascade``).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import numpy as np

from services.contract.records import CurateItem, Reason
from services.dedup.cascade import CascadeIndex, Verifier, plan, verify
from services.dedup.greedy import Candidate, Decision, GreedyCurator, NearIndex
from services.pipeline.curate.batch import Batch, Verdict
from services.state.accepted import encode_accepted


@dataclass
class Group:
    name: str  # the index (``services.pipeline.routing``)
    rows: list[int]  # the batch's rows, in decision order
    index: NearIndex
    keys: np.ndarray  # per row: its unit vector, or its MinHash signature
    threshold: float
    blocked: list[tuple[str | None, float]]  # per row: the blocked prompt it is near, if any
    lexical: bool = False  # keys are MinHash signatures


async def decide_group(d: Batch, g: Group) -> None:
    """Decide ``g``'s rows into ``d``."""
    items = [d.items[i][1] for i in g.rows]
    cands = [Candidate(it.prompt_id, it.src, g.keys[j]) for j, it in enumerate(items)]
    todo = [j for j in range(len(items)) if g.blocked[j][0] is None]
    admit = d.admit_fn(g.rows)
    for j in range(len(items)):
        bid, bsim = g.blocked[j]
        if bid is not None:
            dec = Decision(items[j].prompt_id, False, bid, round(bsim, 6))
            d.verdicts[g.rows[j]] = Verdict(dec, Reason.BLOCKLISTED, "faiss")
    curator = GreedyCurator(g.index, g.threshold)
    decisions = await asyncio.get_running_loop().run_in_executor(
        None, lambda: curator.decide([cands[j] for j in todo], admit=lambda k: admit(todo[k]))
    )
    check = "minhash" if g.lexical else "faiss"
    entries = d.sig_entries if g.lexical else d.vec_entries
    for k, dec in enumerate(decisions):
        j = todo[k]
        d.verdicts[g.rows[j]] = Verdict.of(dec, check)
        if dec.accepted and not dec.replayed:
            it = items[j]
            entries[g.name].append((dec.prompt_id, g.keys[j], it.src))
            vec = None if g.lexical else g.keys[j]
            cluster = None if g.lexical else it.cluster
            d.acc[dec.prompt_id] = encode_accepted(cluster, vec, it.source == "synthetic")


async def verified(
    c: Verifier, d: Batch, index: NearIndex, g: Group, threshold: float
) -> tuple[NearIndex, dict[str, int]]:
    """The cascade: the group's static candidates, their transformer vectors, and the index
    the greedy rule then decides against; with what it counted."""
    todo = [j for j in range(len(g.rows)) if g.blocked[j][0] is None]
    if not todo:
        return index, {}
    group: list[CurateItem] = [d.items[g.rows[j]][1] for j in todo]
    loop = asyncio.get_running_loop()
    queries = np.stack([g.keys[j] for j in todo])
    pids = [it.prompt_id for it in group]
    p = await loop.run_in_executor(None, plan, index, queries, pids, c.k, c.floor, c.sure)
    found, computed = await verify(
        p,
        pids,
        [it.verify_text or it.text for it in group],
        d.texts,
        c.cache,
        c.source,
        c.encode,
        asyncio.to_thread,
    )
    d.computed.update(computed)
    counts = {
        "cascade_candidates": sum(len(x) for x in p.cands) + len(p.pairs),
        "cascade_encoded": len(computed),
        "cascade_unverifiable": len(found.unverified),
    }
    cascade = CascadeIndex(index, p, found, c.floor, c.fallback, threshold, c.sure)  # type: ignore[arg-type]
    return cascade, counts
