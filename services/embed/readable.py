"""What the model reads of a prompt, and its vector when the model can read it.

Ingest and reindex embed the same way, through ``Reader``: shared preambles are left out of what
the model reads (services/embed/preamble.py), and a text whose word pieces are mostly the
unknown token (all-MiniLM-L6-v2 maps most Chinese characters to [UNK]) gets no vector at all,
since cosines between such vectors are meaningless: it takes the lexical path instead
(docs/lexical.md).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from typing import Protocol

import numpy as np

from services.embed.preamble import Preambles

log = logging.getLogger(__name__)


class Encoder(Protocol):
    """The embedding model (``services.embed.embedder.Embedder``)."""

    dim: int
    fingerprint: str

    def encode(self, texts: Sequence[str]) -> np.ndarray: ...

    def unknown_token_ratio(self, texts: Sequence[str]) -> list[float]: ...


class Reader:
    """``read`` gives the text the model reads of each prompt, ``encode`` the vectors of those
    texts (None for the unreadable). ``texts`` and ``seconds`` add up what the model encoded and
    the time it took (how busy the embedding stage is)."""

    def __init__(
        self, encoder: Encoder, max_unknown_token_ratio: float, preambles: Preambles | None = None
    ) -> None:
        self.encoder = encoder
        self.max_unknown_token_ratio = max_unknown_token_ratio
        self.preambles = preambles
        self.texts = 0
        self.seconds = 0.0

    async def read(self, texts: Sequence[str]) -> list[str]:
        """What the model reads of each text: the question, not the boilerplate before it (the
        batch is counted towards the preambles it begins with)."""
        if self.preambles is None or not texts:
            return list(texts)
        return await self.preambles.strip(texts)

    def encode(self, texts: Sequence[str]) -> list[np.ndarray | None]:
        """Each text's unit vector, or None when more than ``max_unknown_token_ratio`` of its
        word pieces are unknown to the model. A text repeated in the batch is encoded once.
        Blocking: call it off the event loop."""
        unique = list(dict.fromkeys(texts))
        ratios = self.encoder.unknown_token_ratio(unique) if unique else []
        readable = [
            t for t, r in zip(unique, ratios, strict=True) if r <= self.max_unknown_token_ratio
        ]
        vectors: dict[str, np.ndarray] = {}
        if readable:
            t0 = time.perf_counter()
            encoded = np.asarray(self.encoder.encode(readable), dtype=np.float32)
            spent = time.perf_counter() - t0
            self.seconds += spent
            self.texts += len(readable)
            log.debug("embedded %d of %d in %.3fs", len(readable), len(texts), spent)
            vectors = dict(zip(readable, encoded, strict=True))
        return [vectors.get(t) for t in texts]
