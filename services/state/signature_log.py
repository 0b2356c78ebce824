"""The log of accepted MinHash signatures per index (language), replayed into ``LshIndex``."""

from __future__ import annotations

import numpy as np
import redis.asyncio as aioredis

from services.dedup.lsh import LshIndex
from services.dedup.minhash import NUM_PERM, MinHasher
from services.keys import Keys
from services.state.log import RedisLog


class RedisSignatureLog(RedisLog):
    """Append-only log of accepted signatures per index (language), replayed into ``LshIndex``.

    Same pattern as ``services.state.vector_log.RedisVectorLog``. Entry layout: 16 bytes
    prompt_id, ``num_perm`` uint32 (little endian), then the owning input message's coordinate
    in UTF-8: hashes and ids only, never text. The key carries the hasher's tag, so signatures
    made with other parameters are never mixed into an index (a changed tag starts an empty log).
    """

    def __init__(
        self, redis: aioredis.Redis, namespace: str, hasher: MinHasher | None = None
    ) -> None:
        self.num_perm = hasher.num_perm if hasher else NUM_PERM
        tag = hasher.tag if hasher else MinHasher().tag
        super().__init__(redis, Keys(namespace).minhash(tag))
        self.sig_bytes = 4 * self.num_perm

    def encode(self, pid: str, sig: np.ndarray, owner: str) -> bytes:
        raw = np.asarray(sig, dtype="<u4").tobytes()
        if len(raw) != self.sig_bytes:
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
                sigs[i] = np.frombuffer(entry[16 : 16 + self.sig_bytes], dtype="<u4")
                owners.append(entry[16 + self.sig_bytes :].decode())
            index.add(ids, sigs, owners)
            added += len(raw)
        return added
