"""The ``openvino`` backend: the ONNX export of the transformer, run by OpenVINO's CPU plugin.

sentence-transformers reaches OpenVINO only through optimum-intel, whose releases pin another
optimum than the one the ONNX backend needs; OpenVINO reads the ONNX file itself, so this module
does the rest of the sentence-transformers pipeline: the model's tokenizer (truncated at the
source model's ``max_seq_length``), mean pooling over the attention mask, unit norm. Texts are
sorted by length and encoded in batches padded to their longest text, as sentence-transformers
does. On CPUs with AMX or AVX-512 BF16, OpenVINO computes in bfloat16 unless told otherwise
(``FLYWHEEL_OPENVINO_PRECISION``); docs/benchmarks.md measures both against onnx fp32.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

DEFAULT_MAX_SEQ_LENGTH = 256


def max_seq_length(source: Path, export: Path) -> int:
    """The source model's ``max_seq_length`` (the export's config may leave it out)."""
    for d in (source, export):
        cfg = d / "sentence_bert_config.json"
        if cfg.exists():
            value = json.loads(cfg.read_text()).get("max_seq_length")
            if value:
                return int(value)
    return DEFAULT_MAX_SEQ_LENGTH


def check_pooling(export: Path) -> None:
    cfg = export / "1_Pooling" / "config.json"
    mode = json.loads(cfg.read_text()).get("pooling_mode", "mean") if cfg.exists() else "mean"
    if mode != "mean":
        raise ValueError(f"backend openvino supports mean pooling only; {export} uses {mode}")


class OpenVinoEncoder:
    def __init__(
        self,
        onnx_file: Path,
        export: Path,
        source: Path,
        batch_size: int,
        precision: str = "",
        threads: int = 0,
    ) -> None:
        try:
            import openvino as ov
        except ModuleNotFoundError as exc:  # an optional install on other machines
            raise RuntimeError("backend openvino needs the openvino package") from exc
        from transformers import AutoTokenizer

        check_pooling(export)
        config: dict[str, Any] = {"PERFORMANCE_HINT": "LATENCY"}
        if precision:
            config["INFERENCE_PRECISION_HINT"] = precision
        if threads:
            config["INFERENCE_NUM_THREADS"] = threads
        self.compiled = ov.Core().compile_model(str(onnx_file), "CPU", config)
        self.request = self.compiled.create_infer_request()
        self.inputs = [i.get_any_name() for i in self.compiled.inputs]
        self.tokenizer = AutoTokenizer.from_pretrained(str(export))
        self.max_length = max_seq_length(source, export)
        self.batch_size = batch_size
        self.dim = int(self.compiled.outputs[0].get_partial_shape()[-1].get_length())
        self.precision = str(self.compiled.get_property("INFERENCE_PRECISION_HINT"))

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        order = np.argsort([-len(t) for t in texts], kind="stable")
        for i in range(0, len(texts), self.batch_size):
            rows = order[i : i + self.batch_size]
            enc = self.tokenizer(
                [texts[j] for j in rows],
                padding=True,
                truncation=True,
                max_length=self.max_length,
                return_tensors="np",
            )
            hidden = self.request.infer({k: enc[k].astype(np.int64) for k in self.inputs})[0]
            mask = enc["attention_mask"][..., None].astype(np.float32)
            vecs = (hidden * mask).sum(axis=1) / np.clip(mask.sum(axis=1), 1e-9, None)
            norms = np.linalg.norm(vecs, axis=1, keepdims=True)
            out[rows] = vecs / np.clip(norms, 1e-12, None)
        return out
