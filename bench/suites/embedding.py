"""Embedding backends side by side: speed, start-up, memory, vectors and decisions.

Each backend runs in its own process (clean memory figures): load time with a warm cache,
resident memory added by loading and peak after encoding, prompts/s encoding the way the worker
calls it (calls of one micro-batch, FLYWHEEL_BATCH_MAX, best of ``--repeat``), mean and minimum
cosine of its vectors to the first backend's (the reference), and the greedy decisions at each
backend's own default threshold that differ from the reference's at its own, on ``--n`` distinct
public prompts and on ``--product`` prompts of services/dev/product_stream.py (one product, a
long shared preamble, five languages; greedy per language over the texts the model can read, as
the worker does). ``static`` also distils into an empty cache once (a first start).
FLYWHEEL_ONNX_THREADS, FLYWHEEL_ONNX_SPINNING and FLYWHEEL_OPENVINO_PRECISION apply as in the
worker. ``--scan BACKEND`` prints prompts/s by encoder batch and call size instead.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from bench.harness import Recorder, embedder, public_prompts
from services.dev.product_stream import product_prompts
from services.embed.embedder import Embedder
from services.settings import Settings
from tests.oracles import greedy_reference


def arguments(ap: argparse.ArgumentParser) -> None:
    ap.add_argument(
        "--backends",
        nargs="+",
        default=["onnx", "openvino", "static"],
        help="the first is the reference the others are compared with",
    )
    ap.add_argument("--n", type=int, default=2000, help="public prompts")
    ap.add_argument("--product", type=int, default=1000, help="product-stream prompts")
    ap.add_argument("--lang", choices=["en", "mixed"], default="en")
    ap.add_argument("--repeat", type=int, default=3, help="timed passes; the best counts")
    ap.add_argument("--batch", type=int, default=None, help="encoder batch (default: settings)")
    ap.add_argument("--scan", default=None, help="backend whose batch and call sizes to scan")
    ap.add_argument("--child", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--child-out", default=None, help=argparse.SUPPRESS)


def rate(emb: Embedder, texts: list[str], call: int) -> float:
    t = time.perf_counter()
    for i in range(0, len(texts), call):
        emb.encode(texts[i : i + call])
    return len(texts) / (time.perf_counter() - t)


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def child(args: argparse.Namespace) -> None:
    """In a process of its own: one backend's figures and vectors, saved to ``--child-out``."""
    backend = args.child
    s = Settings(embedding_backend=backend)
    if backend == "distil":  # a first start of ``static``: distil into an empty cache
        from services.embed.fingerprint import resolve_source
        from services.embed.static import ensure

        model = Embedder.from_settings(s, "static").model_name
        with tempfile.TemporaryDirectory() as tmp:
            t = time.perf_counter()
            ensure(resolve_source(model), Path(tmp))
            np.savez(args.child_out, distil_s=time.perf_counter() - t)
        return
    texts, _ = public_prompts(args.n, args.lang)
    prod = [t for t, _, _ in product_prompts(args.product)]
    base = rss_mb()
    t = time.perf_counter()
    emb = embedder(backend, args.batch or 0)
    figures = {"load_s": time.perf_counter() - t, "load_mb": rss_mb() - base}
    emb.encode(texts[:128])
    figures["prompts_s"] = max(rate(emb, texts, s.batch_max) for _ in range(args.repeat))
    pub, pvecs = emb.encode(texts), emb.encode(prod)
    figures["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    figures["threshold"] = s.near_dup_threshold
    ratios = np.array(emb.unknown_token_ratio(prod))
    np.savez(args.child_out, public=pub, product=pvecs, ratios=ratios, figures=json.dumps(figures))


def in_process(args: argparse.Namespace, backend: str) -> dict[str, np.ndarray]:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "out.npz"
        cmd = [
            sys.executable,
            "-m",
            "bench",
            "embedding",
            "--child",
            backend,
            "--child-out",
            str(out),
        ]
        cmd += ["--n", str(args.n), "--product", str(args.product), "--lang", args.lang]
        cmd += ["--repeat", str(args.repeat)] + (["--batch", str(args.batch)] if args.batch else [])
        subprocess.run(cmd, check=True, stderr=subprocess.DEVNULL)
        with np.load(out) as data:
            return {k: data[k] for k in data.files}


def decisions(vecs: np.ndarray, t: float, groups: list[np.ndarray]) -> np.ndarray:
    """Kept (True) / near duplicate (False) per row, greedy within each group of rows."""
    keep = np.ones(len(vecs), dtype=bool)
    for rows in groups:
        keep[rows] = greedy_reference(vecs[rows], t)
    return keep


def compare(ref: np.ndarray, mine: np.ndarray) -> tuple[int, float, float]:
    """Decisions that differ, and precision / recall of the near duplicates against ``ref``."""
    both = np.sum(~ref & ~mine)
    return int(np.sum(ref != mine)), both / max(1, (~mine).sum()), both / max(1, (~ref).sum())


def scan(args: argparse.Namespace) -> None:
    texts, _ = public_prompts(args.n, args.lang)
    emb = embedder(args.scan)
    print(f"{args.scan}: prompts/s by encoder batch (rows) and call size (columns)")
    sizes = [64, 128, 256, len(texts)]
    print("batch " + " ".join(f"{c:>6}" for c in sizes))
    for b in (8, 16, 32, 64):
        emb.batch_size = b
        print(f"{b:>5} " + " ".join(f"{rate(emb, texts, c):>6.0f}" for c in sizes))


def run(args: argparse.Namespace, rec: Recorder) -> int:
    if args.child:
        child(args)
        return 0
    if args.scan:
        rec.header(f"{args.n} public prompts ({args.lang})")
        scan(args)
        return 0
    results = {b: in_process(args, b) for b in dict.fromkeys(args.backends)}
    if "static" in results:
        results["static"]["distil_s"] = in_process(args, "distil")["distil_s"]
    ref_name, cut = args.backends[0], Settings().max_unknown_token_ratio
    ref = results[ref_name]
    langs = np.array([lang for _, lang, _ in product_prompts(args.product)])
    readable = ref["ratios"] <= cut
    groups = [np.flatnonzero(readable & (langs == g)) for g in sorted(set(langs))]
    ref_t = json.loads(str(ref["figures"]))["threshold"]
    ref_pub = decisions(ref["public"], ref_t, [np.arange(len(ref["public"]))])
    ref_prod = decisions(ref["product"], ref_t, groups)
    rec.header(
        f"{len(ref['public'])} public prompts ({args.lang}); {args.product} product-stream "
        f"prompts, {int((~readable).sum())} of them on the lexical path; reference {ref_name}"
    )
    print(f"| backend | threshold | encode prompts/s | cosine to {ref_name} mean / min | "
          f"decisions ≠ {ref_name}, public | product stream | near dups public / product | "
          "load s | distil s | memory MB (load / peak) |\n|---|---|---|---|---|---|---|---|---|---|")  # fmt: skip
    for b, r in results.items():
        fig = json.loads(str(r["figures"]))
        if not np.array_equal(r["ratios"] <= cut, readable):
            print(f"# {b}: another set of texts takes the lexical path than for {ref_name}")
        cos = np.sum(r["public"] * ref["public"], axis=1)
        pub = decisions(r["public"], fig["threshold"], [np.arange(len(r["public"]))])
        prod = decisions(r["product"], fig["threshold"], groups)
        d_pub, d_prod = compare(ref_pub, pub), compare(ref_prod, prod)
        distil = float(r["distil_s"]) if "distil_s" in r else None
        print(
            f"| {b} | {fig['threshold']:.2f} | {fig['prompts_s']:.0f} | {cos.mean():.4f} / "
            f"{cos.min():.4f} | {d_pub[0]} (P {d_pub[1]:.2f} R {d_pub[2]:.2f}) | {d_prod[0]} "
            f"(P {d_prod[1]:.2f} R {d_prod[2]:.2f}) | {int((~pub).sum())} / {int((~prod).sum())} "
            f"| {fig['load_s']:.1f} | {'-' if distil is None else f'{distil:.1f}'} | "
            f"{fig['load_mb']:.0f} / {fig['peak_mb']:.0f} |"
        )
        metrics = fig | {"cos_mean": float(cos.mean()), "cos_min": float(cos.min())}
        metrics |= {"differ_public": d_pub[0], "differ_product": d_prod[0], "distil_s": distil}
        rec.add(metrics, backend=b, reference=ref_name)
    return 0
