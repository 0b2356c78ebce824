"""OpenVINO int8 against its bf16/fp32 default: the transformer's ONNX export quantized with
NNCF's post-training quantization, without optimum-intel (which pins another optimum than the
ONNX backend's).

    pip install nncf   # not a dependency of the project
    .venv/bin/python bench/openvino_int8.py [--n 2000] [--product 1000] [--calibration 320]

Calibration: prompts of the project's own generator (services/dev/generator.py, seed 3), never
the prompts measured. Measured: encode prompts/s the way the worker calls it (bench/embedding.py
``rate``, best of three), greedy decisions at 0.85 against onnx fp32 on --n public prompts and on
--product prompts of bench/product_stream.py (per language, readable texts only, as
bench/backends.py does), and the mean / minimum cosine of each prompt's vector to onnx fp32's.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np

from bench.backends import compare, decisions
from bench.common import machine, public_prompts, stamp
from bench.embedding import rate
from services.dev.product_stream import product_prompts
from services.dev.generator import ChatLogGenerator
from services.embed.embedder import FP32_FILE, Embedder
from services.embed.openvino_backend import OpenVinoEncoder
from services.settings import Settings


def quantize(onnx: Path, export: Path, n: int, out: Path) -> float:
    import nncf  # type: ignore[import-not-found]
    import openvino as ov
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(export))
    texts = [json.loads(raw)["prompt"] for raw, _ in ChatLogGenerator(seed=3).events(n)]
    calib = []
    for i in range(0, len(texts), 16):
        enc = tok(texts[i : i + 16], padding=True, truncation=True, max_length=256,
                  return_tensors="np")  # fmt: skip
        calib.append({k: enc[k].astype(np.int64) for k in enc})
    t = time.perf_counter()
    model = ov.Core().read_model(str(onnx))
    q = nncf.quantize(model, nncf.Dataset(calib), model_type=nncf.ModelType.TRANSFORMER,
                      subset_size=len(calib))  # fmt: skip
    ov.save_model(q, str(out))
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--product", type=int, default=1000)
    ap.add_argument("--calibration", type=int, default=320)
    args = ap.parse_args()
    s = Settings()
    ref = Embedder(s.embedding_model, "onnx", s.state_dir / "models", s.embed_batch_size).setup()
    export = s.state_dir / "models" / "model-onnx"
    source = Path(ref.model_name)
    texts, _ = public_prompts(args.n, "en")
    stream = product_prompts(args.product)
    prod = [t for t, _, _ in stream]
    langs = np.array([lang for _, lang, _ in stream])
    rpub, rprod = ref.encode(texts), ref.encode(prod)
    readable = np.array(ref.unknown_token_ratio(prod)) <= s.max_unknown_token_ratio
    groups = [np.flatnonzero(readable & (langs == g)) for g in sorted(set(langs))]
    ref_pub = decisions(rpub, s.near_dup_threshold, [np.arange(len(texts))])
    ref_prod = decisions(rprod, s.near_dup_threshold, groups)
    print(f"# {stamp()} | {machine()}")
    with tempfile.TemporaryDirectory() as tmp:
        xml = Path(tmp) / "model.xml"
        secs = quantize(export / FP32_FILE, export, args.calibration, xml)
        print(f"# quantized with {args.calibration} generated prompts in {secs:.1f} s")
        print("| model | precision | encode prompts/s | mean / min cosine to onnx fp32 | "
              "decisions ≠ onnx fp32, public | product stream |")  # fmt: skip
        print("|---|---|---|---|---|---|")
        for name, f in (
            ("openvino (the default export)", export / FP32_FILE),
            ("openvino int8", xml),
        ):
            enc = OpenVinoEncoder(f, export, source, s.embed_batch_size)
            enc.encode(texts[:128])
            speed = max(rate(enc, texts, s.batch_max) for _ in range(3))
            pub, pv = enc.encode(texts), enc.encode(prod)
            cos = np.sum(pub * rpub, axis=1)
            prec = enc.precision.split("'")[1] if "'" in enc.precision else enc.precision
            print(
                f"| {name} | {prec} | {speed:.1f} | {cos.mean():.4f} / {cos.min():.4f} | "
                f"{compare(ref_pub, decisions(pub, s.near_dup_threshold, [np.arange(len(texts))]))}"
                f" | {compare(ref_prod, decisions(pv, s.near_dup_threshold, groups))} |"
            )


if __name__ == "__main__":
    main()
