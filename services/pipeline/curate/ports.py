"""What the curate stage reads and writes outside itself (``services.state.curate_state``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol

import numpy as np

from services.dedup.index import VectorIndex
from services.dedup.lsh import LshIndex
from services.diversity.quota import QuotaPolicy, Window
from services.state.privacy import Origin

Entries = Mapping[str, Sequence[tuple[str, np.ndarray, str]]]


class CurateState(Protocol):
    async def override(self, name: str) -> bytes | str | None: ...

    async def load_window(self, policy: QuotaPolicy, tag: str = "") -> Window: ...

    async def sync_vectors(self, name: str, index: VectorIndex) -> int: ...

    async def sync_signatures(self, name: str, index: LshIndex) -> int: ...

    async def commit(
        self,
        vectors: Entries,
        signatures: Entries,
        accepted: Mapping[str, bytes],
        win: Window,
        cascade: tuple[Mapping[str, str], Mapping[str, np.ndarray]] | None = None,
        origins: Mapping[str, Origin] | None = None,
    ) -> None: ...

    async def erasures_since(self, position: int) -> tuple[list[tuple[str, str]], int]: ...

    async def maybe_snapshot(self, name: str, index: VectorIndex, erasures: int = 0) -> bool: ...
