"""Vector index at scale: curate decisions/s, recall and memory, exact (flat) vs IVF kinds.

``--threads`` measures FAISS OpenMP threads x OMP_WAIT_POLICY instead; ``--plot DST`` draws the
recorded runs (bench/results/index.jsonl) instead of running.

Vectors (docs/vector-index.md has the reasoning):
- real: the first 8,000 distinct English public prompts embedded with the ONNX model, cached in
  .flywheel/bench/index_real_en_8000.npy; rows 0-6,999 are the *bases*, 7,000-7,999 held out.
- corpus row: normalize(sum_j w_j b_j) with 3 random bases b_j and Dirichlet(0.5, 0.5, 0.5)
  weights, plus Gaussian noise of norm ~0.5 (sigma 0.5/sqrt(384) per dimension), normalized
  again. Generated in 100,000-row chunks with seed 1000 + chunk number, so a size is a prefix.
  At 8,000 rows its nearest-neighbour cosines (p10/p50/p90 0.56/0.69/0.79) and mean pairwise
  cosine (0.28) are close to the real prompts' (0.52/0.70/0.79, 0.26).
- queries, per size: 1/2 near duplicates (q = c x + sqrt(1-c^2) u, x an indexed row, c uniform
  in [0.85, 0.97], u the unit part of another indexed row orthogonal to x, so cos(q, x) = c),
  1/4 fresh synthetic rows (not indexed), 1/4 held-out real prompts.

For each configuration and size: recall@1 of ``index.search`` against exact search, agreement of
the near-duplicate decision (top-1 cosine >= --threshold) with exact search, curate decisions/s
(``GreedyCurator.decide`` on 128-candidate batches of fresh and near-duplicate candidates: one
batched k=2 search plus the add of the accepted, time-boxed), and ``memory_bytes()`` per vector.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

import faiss
import numpy as np

from bench.harness import CACHE, Recorder, embedder, public_prompts, results
from services.dedup.greedy import Candidate, GreedyCurator
from services.dedup.index import (
    DEFAULT_ANN_AFTER,
    DEFAULT_K_FACTOR,
    DEFAULT_NLIST,
    DEFAULT_NPROBE,
    VectorIndex,
    configure_faiss_threads,
)
from tests.oracles import search_rows

DIM = 384
N_REAL, N_BASES = 8000, 7000
CHUNK = 100_000


def real_vectors(n: int = N_REAL) -> np.ndarray:
    """Unit vectors of ``n`` distinct English public prompts (ONNX model), cached as .npy."""
    path = CACHE / f"index_real_en_{n}.npy"
    if path.exists():
        return np.load(path)

    texts, origin = public_prompts(n, "en")
    print(f"# embedding {len(texts)} prompts from {origin} (once, cached in {path})", flush=True)
    vecs = embedder("onnx", 16).encode(texts)
    CACHE.mkdir(parents=True, exist_ok=True)
    np.save(path, vecs)
    return vecs


def _unit(x: np.ndarray) -> np.ndarray:
    x = x.astype(np.float32, copy=False)
    x /= np.sqrt(np.einsum("ij,ij->i", x, x))[:, None]
    return x


def synth(bases: np.ndarray, n: int, seed: int) -> np.ndarray:
    """Mixtures of 3 random bases (Dirichlet 0.5 weights) plus noise of norm ~0.5, unit norm."""
    rng = np.random.default_rng(seed)
    pick = rng.integers(0, len(bases), (n, 3))
    w = rng.dirichlet([0.5, 0.5, 0.5], n).astype(np.float32)
    x = w[:, :1] * bases[pick[:, 0]]
    for j in (1, 2):
        x += w[:, j : j + 1] * bases[pick[:, j]]
    x = _unit(x)
    x += rng.standard_normal(size=x.shape, dtype=np.float32) * np.float32(0.5 / np.sqrt(DIM))
    return _unit(x)


def corpus(bases: np.ndarray, start: int, stop: int) -> np.ndarray:
    """Rows [start, stop) of the synthetic corpus (chunk c is ``synth(bases, CHUNK, 1000 + c)``)."""
    out = []
    for c in range(start // CHUNK, (stop - 1) // CHUNK + 1):
        rows = synth(bases, CHUNK, 1000 + c)
        lo, hi = max(start - c * CHUNK, 0), min(stop - c * CHUNK, CHUNK)
        out.append(rows[lo:hi])
    return np.concatenate(out)


def near_duplicates(held: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """Perturbed copies of random rows of ``held`` at cosine uniform in [0.85, 0.97]."""
    pick = rng.integers(0, len(held), n)
    x = held[pick]
    other = held[(pick + rng.integers(1, len(held), n)) % len(held)]  # another row
    c = rng.uniform(0.85, 0.97, n).astype(np.float32)[:, None]
    u = other - np.sum(other * x, axis=1, keepdims=True) * x
    flat = np.einsum("ij,ij->i", u, u) < 1e-8  # the other row is (nearly) the same vector
    if flat.any():
        g = rng.standard_normal(size=(int(flat.sum()), DIM), dtype=np.float32)
        u[flat] = g - np.sum(g * x[flat], axis=1, keepdims=True) * x[flat]
    return _unit(c * x + np.sqrt(1 - c**2) * _unit(u))


def queries(held: np.ndarray, real: np.ndarray, n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    fresh_real = real[N_BASES:][rng.choice(N_REAL - N_BASES, n // 4, replace=n // 4 > 1000)]
    return np.concatenate(
        [
            near_duplicates(held, n // 2, rng),
            synth(real[:N_BASES], n - n // 2 - n // 4, seed + 7),
            fresh_real,
        ]
    )


def make_index(config: str, args: argparse.Namespace) -> VectorIndex:
    if config == "flat":
        return VectorIndex(DIM, ann_after=None)
    return VectorIndex(
        DIM, ann_after=args.ann_after, nlist=args.nlist, ann=config, k_factor=args.k_factor
    )


class Stream:
    """Curate candidates: half near duplicates of what is indexed, half fresh synthetic rows."""

    def __init__(self, bases: np.ndarray, seed: int) -> None:
        self.bases = bases
        self.rng = np.random.default_rng(seed)
        self.n = 0

    def batch(self, held: np.ndarray, size: int) -> list[Candidate]:
        half = size // 2
        vecs = np.concatenate(
            [
                near_duplicates(held, half, self.rng),
                synth(self.bases, size - half, int(self.rng.integers(1 << 30))),
            ]
        )
        vecs = vecs[self.rng.permutation(size)]
        out = []
        for v in vecs:
            self.n += 1
            out.append(Candidate(f"{self.n:032x}", f"bench.curate/0/{self.n}", v))
        return out


def curate_rate(
    index: VectorIndex,
    exact: faiss.IndexFlatIP,
    stream: Stream,
    held: np.ndarray,
    threshold: float,
    seconds: float,
) -> tuple[float, int, float]:
    """Decisions/s of GreedyCurator on 128-candidate batches for about ``seconds`` (>= 3 batches).
    The accepted vectors are mirrored into ``exact``."""
    curator = GreedyCurator(index, threshold)
    batches = [stream.batch(held, 128) for _ in range(400)]
    decided, spent, accepted = 0, 0.0, 0
    for i, batch in enumerate(batches):
        t0 = time.perf_counter()
        decisions = curator.decide(batch)
        spent += time.perf_counter() - t0
        decided += len(batch)
        kept = [c.vector for c, d in zip(batch, decisions, strict=True) if d.accepted]
        accepted += len(kept)
        if kept:
            exact.add(np.stack(kept))
        if i >= 2 and spent >= seconds:
            break
    return decided / spent, decided, accepted / decided


def held_rows(exact: faiss.IndexFlatIP, size: int) -> np.ndarray:
    """A sample of 20,000 indexed corpus rows (near duplicates are made of these)."""
    rng = np.random.default_rng(size)
    rows = np.sort(rng.choice(size, min(size, 20_000), replace=False))
    xb = faiss.rev_swig_ptr(exact.get_xb(), exact.ntotal * DIM).reshape(-1, DIM)
    return np.array(xb[rows])


def search_quality(
    index: VectorIndex,
    nprobe: int | None,
    q: np.ndarray,
    true_sims: np.ndarray,
    true_rows: np.ndarray,
    args: argparse.Namespace,
) -> dict:
    """Recall@1 and near-duplicate decision agreement of ``index.search`` against exact."""
    if nprobe is not None:
        index.nprobe = nprobe
    sims, _ = index.search(q, 1)
    # rows of ``index`` and ``exact`` are added in the same order: compare row numbers
    got_rows = search_rows(index, q, 1)
    th = args.threshold
    return {
        "recall_at_1": round(float(np.mean(got_rows[:, 0] == true_rows[:, 0])), 4),
        "decision_agreement": round(
            float(np.mean((sims[:, 0] >= th) == (true_sims[:, 0] >= th))), 4
        ),
        "true_duplicates": round(float(np.mean(true_sims[:, 0] >= th)), 3),
    }


def measure(
    index: VectorIndex,
    exact: faiss.IndexFlatIP,
    stream: Stream,
    held: np.ndarray,
    args: argparse.Namespace,
) -> dict:
    """Curate decisions/s (the accepted are added to both indexes) and memory."""
    rate, decided, acc = curate_rate(index, exact, stream, held, args.threshold, args.seconds)
    flat = index.kind == "flat"
    return {
        "load_avg": round(os.getloadavg()[0], 2),
        "kind": index.kind,
        "indexed": len(index),
        "decisions_per_s": round(rate, 1),
        "decided": decided,
        "accepted_share": round(acc, 3),
        "bytes_per_vector": round(index.memory_bytes() / len(index), 1),
        "switch_s": None if index.switch_seconds is None else round(index.switch_seconds, 1),
        "ann_after": index.ann_after,
        "nlist": None if flat else index.nlist,
        "nprobe": None if flat else index.nprobe,
        "faiss_threads": args.faiss_threads,
        "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY", "default"),
        "queries": args.queries,
        "threshold": args.threshold,
    }


def sizes_run(args: argparse.Namespace, rec: Recorder) -> None:
    configure_faiss_threads(args.faiss_threads)
    real = real_vectors()
    bases = real[:N_BASES]
    sizes = [int(s) for s in args.sizes.split(",")]
    rec.header(
        f"faiss threads {args.faiss_threads}, OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY', 'default')}"
        f", {args.queries} queries per size, threshold {args.threshold}"
    )
    head = (
        f"{'config':<8} {'size':>9} {'kind':>8} {'nprobe':>6} {'dec/s':>8} {'recall@1':>9} "
        f"{'agree':>7} {'B/vec':>6} {'build s':>8}"
    )
    print(head)
    for config in args.configs.split(","):
        index = make_index(config, args)
        exact = faiss.IndexFlatIP(DIM)
        stream = Stream(bases, 99)
        done, build = 0, 0.0
        for size in sizes:
            if config == "flat" and size > args.flat_max:
                continue
            for lo in range(done, size, 10_000):
                chunk = corpus(bases, lo, min(lo + 10_000, size))
                pids = np.random.default_rng(lo).bytes(16 * len(chunk))
                ids = [pids[16 * i : 16 * i + 16].hex() for i in range(len(chunk))]
                t0 = time.perf_counter()
                index.add(chunk, ids, [f"bench.log/0/{lo + i}" for i in range(len(chunk))])
                build += time.perf_counter() - t0
                exact.add(chunk)
            done = size
            held = held_rows(exact, size)
            q = queries(held, real, args.queries, seed=size)
            true_sims, true_rows = exact.search(q, 1)
            probes = [None] if index.kind == "flat" else [int(p) for p in args.nprobes.split(",")]
            quality = {p: search_quality(index, p, q, true_sims, true_rows, args) for p in probes}
            for nprobe in probes:  # curate runs add vectors: after every quality measurement
                if nprobe is not None:
                    index.nprobe = nprobe
                row = measure(index, exact, stream, held, args) | quality[nprobe]
                row["build_s"] = round(build, 1)
                print(
                    f"{config:<8} {size:>9,} {row['kind']:>8} {nprobe or '':>6} "
                    f"{row['decisions_per_s']:>8.0f} {row['recall_at_1']:>9.4f} "
                    f"{row['decision_agreement']:>7.4f} {row['bytes_per_vector']:>6.0f} {build:>8.1f}",
                    flush=True,
                )
                rec.add(row, config=config, size=size, nprobe=nprobe)
        del index, exact


def thread_probe(batch_sizes: list[int], seconds: float) -> None:
    """One process: queries/s by thread count and batch size, flat 20k and the default ANN 100k."""
    real = real_vectors()
    bases = real[:N_BASES]
    out = {}
    for name, size, index in (
        ("flat", 20_000, VectorIndex(DIM, ann_after=None)),
        ("ann", 100_000, VectorIndex(DIM)),
    ):
        x = corpus(bases, 0, size)
        pid = np.random.default_rng(1).bytes(16 * size)
        index.add(x, [pid[16 * i : 16 * i + 16].hex() for i in range(size)], ["t/0/0"] * size)
        q = queries(x, real, 4096, seed=5)
        for threads in (1, 2):
            faiss.omp_set_num_threads(threads)
            for b in batch_sizes:
                n, t0 = 0, time.perf_counter()
                while time.perf_counter() - t0 < seconds:
                    lo = (n * b) % (len(q) - b)
                    index.search(q[lo : lo + b], 2)
                    n += 1
                out[f"{name} threads={threads} batch={b}"] = n * b / (time.perf_counter() - t0)
    print(json.dumps(out))


def threads(args: argparse.Namespace, rec: Recorder) -> None:
    rec.header("queries/s by FAISS threads and batch, OMP_WAIT_POLICY default vs PASSIVE")
    print(f"{'index':<8} {'threads':>7} {'batch':>5} {'q/s default':>12} {'q/s PASSIVE':>12}")
    results = {}
    for policy in ("default", "PASSIVE"):
        env = dict(os.environ)
        env.pop("OMP_WAIT_POLICY", None)
        if policy != "default":
            env["OMP_WAIT_POLICY"] = policy
        cmd = [
            sys.executable,
            "-m",
            "bench",
            "index",
            "--thread-probe",
            "--seconds",
            str(args.seconds),
        ]
        done = subprocess.run(cmd, env=env, check=True, capture_output=True, text=True)
        results[policy] = json.loads(done.stdout.strip().splitlines()[-1])
    for key in results["default"]:
        name, th, b = key.split()
        d, p = results["default"][key], results["PASSIVE"][key]
        print(f"{name:<8} {th.split('=')[1]:>7} {b.split('=')[1]:>5} {d:>12.0f} {p:>12.0f}")
        metrics = {"qps_default": round(d, 1), "qps_passive": round(p, 1)}
        rec.add(metrics | {"load_avg": os.getloadavg()[0]}, threads_probe=True, probe=key)


def plot(dst: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [
        r["params"] | r["metrics"] | {"machine": r["machine"]}
        for r in results("index")
        if "config" in r["params"]
    ]

    def label(config: str, nprobe: int | None, threads: int) -> str:
        name = "flat (exact)" if config == "flat" else f"{config} nprobe={nprobe}"
        return name + ("" if threads == 1 else f", {threads} threads")

    probes: dict[tuple[str, int], set[int]] = {}
    for r in rows:
        if r["nprobe"] is not None:
            probes.setdefault((r["config"], r["faiss_threads"]), set()).add(r["nprobe"])
    speed: dict[str, dict[int, dict]] = {}
    memory: dict[str, dict[int, float]] = {}
    for r in rows:  # the latest row per (series, size) wins
        key = (r["config"], r["faiss_threads"])
        ps: list[int | None] = [r["nprobe"]]
        if r["nprobe"] is None and key in probes:
            ps = list(sorted(probes[key]))
        for p in ps:
            speed.setdefault(label(r["config"], p, r["faiss_threads"]), {})[r["size"]] = r
        memory.setdefault(r["config"], {})[r["size"]] = r["bytes_per_vector"]
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(11, 4.5))
    for name, by_size in sorted(speed.items()):
        pts = sorted(by_size.items())
        a1.plot([s for s, _ in pts], [r["decisions_per_s"] for _, r in pts], "o-", label=name)
        for s, r in pts:
            if r["kind"] != "flat" and r["nprobe"] == DEFAULT_NPROBE:
                a1.annotate(
                    f"R@1 {r['recall_at_1']:.3f}",
                    (s, r["decisions_per_s"]),
                    fontsize=7,
                    textcoords="offset points",
                    xytext=(4, 4),
                )
    for config, sizes in sorted(memory.items()):
        mem = sorted(sizes.items())
        a2.plot([s for s, _ in mem], [b for _, b in mem], "o-", label=config)
    a1.axhline(5000, color="grey", ls=":", lw=1)
    a2.axhline(600, color="grey", ls=":", lw=1)
    for ax, ylabel in (
        (a1, "curate decisions/s (128-candidate batches)"),
        (a2, "bytes per vector, all in"),
    ):
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("indexed vectors")
        ax.set_ylabel(ylabel)
        ax.legend(fontsize=7)
        ax.grid(True, which="both", alpha=0.3)
    cpu = rows[-1]["machine"].split(",")[1].strip()
    fig.suptitle(
        f"VectorIndex (384-d, ANN switch at 50k): exact vs IVF; {cpu}, shared with other jobs",
        fontsize=10,
    )
    fig.tight_layout()
    fig.savefig(dst, dpi=110)
    print(f"# wrote {dst}")


def arguments(ap: argparse.ArgumentParser) -> None:
    ap.add_argument("--sizes", default="10000,100000,300000,1000000")
    ap.add_argument("--configs", default="flat,ivf_sq8,ivf_pq4fs_sq8", help="flat or an ANN kind")
    ap.add_argument("--k-factor", type=int, default=DEFAULT_K_FACTOR)
    ap.add_argument("--ann-after", type=int, default=DEFAULT_ANN_AFTER)
    ap.add_argument("--nlist", type=int, default=DEFAULT_NLIST)
    ap.add_argument("--nprobes", default=str(DEFAULT_NPROBE), help="IVF nprobe values to measure")
    ap.add_argument("--queries", type=int, default=2048)
    ap.add_argument("--threshold", type=float, default=0.85)
    ap.add_argument("--seconds", type=float, default=3.0, help="time box per measurement")
    ap.add_argument("--flat-max", type=int, default=1_000_000, help="largest size for flat")
    ap.add_argument("--faiss-threads", type=int, default=1)
    ap.add_argument("--plot", default=None, help="draw the recorded runs into this PNG and stop")
    ap.add_argument("--threads", action="store_true", help="measure OpenMP threads and policy")
    ap.add_argument("--thread-probe", action="store_true", help=argparse.SUPPRESS)


def run(args: argparse.Namespace, rec: Recorder) -> int:
    if args.plot:
        plot(args.plot)
    elif args.thread_probe:
        thread_probe([1, 16, 128], args.seconds)
    elif args.threads:
        threads(args, rec)
    else:
        sizes_run(args, rec)
    return 0
