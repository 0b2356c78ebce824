"""One table per embedding backend: speed, start-up, memory and the decisions that differ from
the transformer's, on public prompts and on a stream unlike them.

    .venv/bin/python bench/backends.py [--backend onnx static ...] [--n 2000] [--product 1000]

Each backend runs in its own process (clean memory figures): load time with a warm cache,
resident memory added by loading and peak after encoding, encode prompts/s the way the worker
calls it (bench/embedding.py ``rate``: calls of FLYWHEEL_BATCH_MAX). ``static`` also distils
into a temporary cache once (the cost of a first start). Decisions: the greedy rule at each
backend's own default threshold (services/settings.py) against onnx (the default transformer
backend) at its own, on --n distinct public English prompts and on --product prompts of
bench/product_stream.py (one product, long shared preamble, five languages; greedy per
language over the texts the model can read, as the worker does).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np

from bench.common import machine, public_prompts, stamp
from bench.embedding import rate
from services.dev.product_stream import product_prompts
from services.embed.embedder import Embedder
from services.settings import Settings
from tests.oracles import greedy_reference

REFERENCE = "onnx"


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def distil_seconds() -> float:
    """A first start of ``static``: distil into an empty cache (own process: torch's memory)."""
    from services.embed.fingerprint import resolve_source
    from services.embed.static import ensure

    model = Embedder(Settings().embedding_model, "static", Path(".")).model_name
    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        ensure(resolve_source(model), Path(tmp))
        return time.perf_counter() - t


def child(backend: str, n: int, product: int, out: Path) -> None:
    """Runs in a subprocess: measures one backend, saves its vectors and figures to ``out``."""
    s = Settings(embedding_backend=backend)  # type: ignore[arg-type]
    figures: dict[str, float] = {}
    texts, _ = public_prompts(n, "en")
    prod = [t for t, _, _ in product_prompts(product)]
    base = rss_mb()
    t = time.perf_counter()
    emb = Embedder(s.embedding_model, backend, s.state_dir / "models", s.embed_batch_size).setup()
    figures["load_s"] = time.perf_counter() - t
    figures["load_mb"] = rss_mb() - base
    emb.encode(texts[:128])
    figures["prompts_s"] = max(rate(emb, texts, s.batch_max) for _ in range(3))
    pub = emb.encode(texts)
    pvecs = emb.encode(prod)
    ratios = np.array(emb.unknown_token_ratio(prod))
    figures["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    figures["threshold"] = s.near_dup_threshold
    np.savez(out, public=pub, product=pvecs, ratios=ratios, figures=json.dumps(figures))


def decisions(vecs: np.ndarray, t: float, groups: list[np.ndarray]) -> np.ndarray:
    """Kept (True) / near duplicate (False) per row, greedy within each group of rows."""
    keep = np.ones(len(vecs), dtype=bool)
    for rows in groups:
        keep[rows] = greedy_reference(vecs[rows], t)
    return keep


def compare(ref: np.ndarray, mine: np.ndarray) -> str:
    diff = int(np.sum(ref != mine))
    rr, mr = ~ref, ~mine
    if not rr.any():
        return f"{diff} ({diff / len(ref):.1%})"
    p = np.sum(rr & mr) / max(1, mr.sum())
    r = np.sum(rr & mr) / max(1, rr.sum())
    return f"{diff} ({diff / len(ref):.1%}; P {p:.2f} R {r:.2f})"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument(
        "--backend", nargs="+", default=["torch", "onnx", "onnx-int8", "openvino", "static"]
    )
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--product", type=int, default=1000)
    ap.add_argument("--child", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--out", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child == "distil":
        print(distil_seconds())
        return
    if args.child:
        child(args.child, args.n, args.product, Path(args.out))
        return
    backends = list(dict.fromkeys([REFERENCE, *args.backend]))
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for b in backends:
            out = Path(tmp) / f"{b}.npz"
            cmd = [sys.executable, __file__, "--child", b, "--out", str(out), "--n", str(args.n),
                   "--product", str(args.product)]  # fmt: skip
            subprocess.run(cmd, check=True, stderr=subprocess.DEVNULL)
            with np.load(out) as data:
                results[b] = {k: data[k] for k in data.files}
            if b == "static":
                cmd = [sys.executable, __file__, "--child", "distil"]
                done = subprocess.run(cmd, check=True, capture_output=True, text=True)
                results[b]["distil_s"] = float(done.stdout.strip().splitlines()[-1])
    langs = [lang for _, lang, _ in product_prompts(args.product)]
    ref = results[REFERENCE]
    readable = ref["ratios"] <= Settings().max_unknown_token_ratio
    groups = [np.flatnonzero(readable & (np.array(langs) == g)) for g in sorted(set(langs))]
    lexical = int((~readable).sum())
    ref_fig = json.loads(str(ref["figures"]))
    ref_pub = decisions(ref["public"], ref_fig["threshold"], [np.arange(args.n)])
    ref_prod = decisions(ref["product"], ref_fig["threshold"], groups)
    print(f"# {stamp()} | {machine()}")
    print(f"# {args.n} public prompts (en); {args.product} product-stream prompts, {lexical} of "
          f"them on the lexical path ([UNK] share > 0.3); reference {REFERENCE}")  # fmt: skip
    print("| backend | threshold | encode prompts/s | decisions ≠ onnx, public | decisions ≠ onnx, "
          "product stream | near dups public / product | load s | distil s | memory MB (load / peak) |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|---|")
    for b in backends:
        r, fig = results[b], json.loads(str(results[b]["figures"]))
        if not np.array_equal(r["ratios"] <= Settings().max_unknown_token_ratio, readable):
            print(f"# {b}: another set of texts takes the lexical path than for {REFERENCE}")
        pub = decisions(r["public"], fig["threshold"], [np.arange(args.n)])
        prod = decisions(r["product"], fig["threshold"], groups)
        distil = f"{float(r['distil_s']):.1f}" if "distil_s" in r else "-"
        print(
            f"| {b} | {fig['threshold']:.2f} | {fig['prompts_s']:.0f} | {compare(ref_pub, pub)} | "
            f"{compare(ref_prod, prod)} | {int((~pub).sum())} / {int((~prod).sum())} | "
            f"{fig['load_s']:.1f} | {distil} | {fig['load_mb']:.0f} / {fig['peak_mb']:.0f} |"
        )


if __name__ == "__main__":
    main()
