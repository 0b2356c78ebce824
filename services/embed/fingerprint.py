"""Model fingerprints: which vector space a vector, a log or a centroid file belongs to.

Cosines are only meaningful between vectors of one model. A fingerprint names that space:
``<model dir>@<12 hex of the source files' sha256>/<family>``. The transformer backends
(``onnx``, ``openvino``) share the family ``transformer``: they run the same weights (OpenVINO's
bf16 vectors keep a cosine above 0.9999 to fp32, python -m bench embedding), so a deployment may move
between them without re-embedding. A distilled static model is another space
(``static-<8 hex of its distill parameters and model2vec version>``): mixing it with the
transformer's vectors would compare unrelated numbers, so the vector log and the topic
centroids record the fingerprint and refuse another one (``ModelMismatch``).
"""

from __future__ import annotations

import hashlib
import json
from functools import lru_cache
from pathlib import Path

from services.errors import ConfigError

# Files that decide a sentence-transformers model's vectors; README, licences and training
# metadata are left out so re-packaging them does not change the fingerprint.
SOURCE_FILES = (
    "config.json",
    "modules.json",
    "sentence_bert_config.json",
    "1_Pooling/config.json",
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "vocab.txt",
)
WEIGHT_SUFFIXES = (".safetensors", ".bin")


class ModelMismatch(ConfigError):
    """State (vector log, centroids, cached model) made by another model than the configured one."""


def resolve_source(model: str) -> Path:
    """The local directory of a model given as a path or as a name already in the HF cache."""
    path = Path(model)
    if path.is_dir():
        return path
    from huggingface_hub import snapshot_download

    return Path(snapshot_download(model, local_files_only=True))


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def source_digest(source: Path) -> str:
    """sha256 over the files that decide the vectors (names and contents), in a fixed order."""
    files = [source / name for name in SOURCE_FILES if (source / name).is_file()]
    files += sorted(p for p in source.iterdir() if p.suffix in WEIGHT_SUFFIXES and p.is_file())
    if not any(p.suffix in WEIGHT_SUFFIXES for p in files):
        raise ModelMismatch(f"no model weights (*.safetensors, *.bin) in {source}")
    stats = tuple((str(p), p.stat().st_size, p.stat().st_mtime_ns) for p in files)
    return _digest(stats)


@lru_cache(maxsize=8)
def _digest(stats: tuple[tuple[str, int, int], ...]) -> str:
    """Cached per (path, size, mtime): hashing 90 MB of weights costs ~0.2 s, once per process."""
    h = hashlib.sha256()
    for name, _, _ in stats:
        h.update(Path(name).name.encode() + b"\0" + file_sha256(Path(name)).encode() + b"\n")
    return h.hexdigest()


def params_digest(params: dict[str, object], version: str) -> str:
    text = json.dumps({"params": params, "model2vec": version}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:8]


def transformer_fingerprint(source: Path) -> str:
    return f"{source.name}@{source_digest(source)[:12]}/transformer"


def check(expected: str, found: str, what: str) -> None:
    """Raise ``ModelMismatch`` with one line an operator can act on."""
    if found != expected:
        raise ModelMismatch(
            f"{what} was made by model {found!r}, this worker embeds with {expected!r}: "
            "refusing to mix vector spaces (docs/runbook.md, switching the embedding model)"
        )
