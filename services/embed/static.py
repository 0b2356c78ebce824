"""The ``static`` backend: a model2vec distillation of the configured model, built offline.

model2vec's ``distill`` runs the transformer once over every token of its vocabulary (15-20 s
on 2 cores) and keeps one PCA-rotated, SIF-weighted vector per token; a prompt's vector is the
normalized mean of its tokens' vectors, so encoding is a tokenizer call and a gather (about
100x the transformer's throughput, docs/benchmarks.md). It reads only the local model
directory: nothing is downloaded.

The distilled model is cached in ``<state_dir>/models/<model>-static-<params>/`` with
``fingerprint.json``: the source model's digest, the distill parameters, the model2vec version
and the sha256 of every file written. A cache that is missing, made from other weights or
parameters, or whose files do not match their digests is distilled again (one warning line
saying why); if that is impossible the worker stops with ``StaticModelError``. It is never
replaced by another model.
"""

from __future__ import annotations

import fcntl
import json
import logging
import shutil
import tempfile
from collections.abc import Sequence
from importlib.metadata import version as pkg_version
from pathlib import Path
from typing import cast

import numpy as np

from services.embed.fingerprint import file_sha256, params_digest, source_digest
from services.errors import ConfigError

log = logging.getLogger(__name__)

# pca_dims "auto" rotates without reducing: the vectors keep the source's dimension (384), so
# the index, the logs and the centroid files keep their shapes. Float32 storage: the model is
# 47 MB and the gather stays in float32 (no float16 arithmetic).
DISTILL_PARAMS: dict[str, object] = {
    "pca_dims": "auto",
    "sif_coefficient": 1e-4,
    "token_remove_pattern": r"\[unused\d+\]",
    "quantize_to": "float32",
    "pooling": "mean",
}
# The source's tokenizer.json pads every text to 128 pieces and truncates there (right for the
# transformer's batches); model2vec 0.9 keeps both, so each static vector would average in
# (128 - n) [PAD] vectors and drop the words past 128. The distilled tokenizer is saved
# without them; the name enters the fingerprint, so caches built without the fix are rebuilt.
TOKENIZER_FIX = "no-padding-no-truncation"
FINGERPRINT_FILE = "fingerprint.json"
MAX_TOKENS = 512  # model2vec's default truncation; the [UNK] ratio looks at the same pieces


class StaticModelError(ConfigError):
    """The distilled model can be neither loaded nor built; the message says why in one line."""


def model2vec_version() -> str:
    return pkg_version("model2vec")


def expected_meta(source: Path) -> dict[str, object]:
    return {
        "source": source.name,
        "source_sha256": source_digest(source),
        "params": {**DISTILL_PARAMS, "tokenizer": TOKENIZER_FIX},
        "model2vec": model2vec_version(),
    }


def fingerprint_of(meta: dict[str, object]) -> str:
    digest = params_digest(cast(dict[str, object], meta["params"]), str(meta["model2vec"]))
    return f"{meta['source']}@{str(meta['source_sha256'])[:12]}/static-{digest}"


def cache_dir_for(source: Path, cache_root: Path) -> Path:
    meta = expected_meta(source)
    return cache_root / f"{source.name}-static-{fingerprint_of(meta).rsplit('-', 1)[1]}"


def problem(target: Path, meta: dict[str, object]) -> str | None:
    """Why ``target`` is not a usable cache of the model ``meta`` describes; None when it is."""
    fp = target / FINGERPRINT_FILE
    if not fp.is_file():
        return "is missing"
    try:
        found = json.loads(fp.read_text())
        files = dict(found.pop("files"))
    except (ValueError, KeyError, TypeError) as exc:
        return f"has an unreadable {FINGERPRINT_FILE} ({exc})"
    for key, value in meta.items():
        if found.get(key) != value:
            return f"was made with another {key} ({found.get(key)!r}, expected {value!r})"
    if not files:
        return "lists no files"
    for name, digest in files.items():
        path = target / name
        if not path.is_file() or file_sha256(path) != digest:
            return f"has a missing or corrupt {name}"
    return None


def build(source: Path, target: Path, meta: dict[str, object]) -> None:
    """Distil into a temporary directory next to ``target``, then move it in place."""
    from model2vec.distill import distill

    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=target.name + ".", dir=target.parent))
    try:
        model = distill(model_name=str(source), device="cpu", **DISTILL_PARAMS)  # type: ignore[arg-type]
        model.tokenizer.no_padding()
        model.tokenizer.no_truncation()
        model.save_pretrained(tmp)
        files = {
            str(p.relative_to(tmp)): file_sha256(p)
            for p in sorted(tmp.rglob("*"))
            if p.is_file() and p.suffix in (".json", ".safetensors") and p.name != "README.md"
        }
        (tmp / FINGERPRINT_FILE).write_text(json.dumps({**meta, "files": files}, indent=1))
        if target.exists():
            shutil.rmtree(target)
        tmp.rename(target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def ensure(source: Path, cache_root: Path, rebuild: bool = True) -> tuple[Path, str]:
    """The cache directory of the distilled model and its fingerprint, distilling it when
    needed (serialized by a file lock: workers starting together distil once)."""
    meta = expected_meta(source)
    target = cache_dir_for(source, cache_root)
    cache_root.mkdir(parents=True, exist_ok=True)
    with (cache_root / f"{target.name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        why = problem(target, meta)
        if why is not None:
            if not rebuild:
                raise StaticModelError(
                    f"static model cache {target} {why}: run `flywheel model --backend static`"
                )
            log.warning(
                "static model cache %s %s: distilling it from %s (offline)", target, why, source
            )
            try:
                build(source, target, meta)
            except Exception as exc:
                raise StaticModelError(
                    f"cannot distil {source} into {target}: {type(exc).__name__}: {exc}"
                ) from exc
            why = problem(target, meta)
            if why is not None:
                raise StaticModelError(f"static model cache {target} {why} right after distilling")
    return target, fingerprint_of(meta)


class StaticEncoder:
    """A distilled model loaded for encoding. ``StaticModel.encode`` is used as is: it was
    faster here than a vectorized gather of our own (11,200 vs 5,500 prompts/s in calls of
    128) and than sentence-transformers' ``StaticEmbedding`` (3,500 prompts/s, and vectors
    up to 0.06 apart, since it keeps the [UNK] pieces model2vec drops)."""

    def __init__(self, path: Path, fingerprint: str) -> None:
        from model2vec import StaticModel

        self.model = StaticModel.from_pretrained(path, force_download=False)
        self.fingerprint = fingerprint
        self.dim = int(self.model.dim)
        self.unk = self.model.unk_token_id
        self._max_chars = MAX_TOKENS * self.model.median_token_length

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        vecs = self.model.encode(
            list(texts), max_length=MAX_TOKENS, batch_size=1024, use_multiprocessing=False
        )
        return np.asarray(vecs, dtype=np.float32)

    def unknown_token_ratio(self, texts: Sequence[str]) -> list[float]:
        """Share of [UNK] pieces, counted before model2vec drops them: a Chinese prompt of
        [UNK]s would otherwise be embedded from its few readable pieces (or as a zero vector)."""
        out = [0.0] * len(texts)
        todo = [i for i, t in enumerate(texts) if not t.isascii()]
        if not todo:
            return out
        enc = self.model.tokenizer.encode_batch_fast(
            [texts[i][: self._max_chars] for i in todo], add_special_tokens=False
        )
        for i, e in zip(todo, enc, strict=True):
            ids = e.ids[:MAX_TOKENS]
            out[i] = sum(1 for t in ids if t == self.unk) / len(ids) if ids else 0.0
        return out
