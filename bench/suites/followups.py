"""Follow-up detection: precision, recall and misses of ``needs_context`` on frozen labelled turns.

Sets (bench/data/followups/, described in manifest.json, read only after their sha256 matches):
``dev``, the turns the rules of services/clean/followup.py were written and tuned on, and
``holdout``, split off by a fixed seed before any rule existed and never tuned on. Both hold
second-or-later and first user turns of public multi-turn chats in English and Chinese,
labelled by reading (``needs_context`` or ``standalone``).

Per set and language: precision, recall and F1 of ``needs_context`` (positive = the detector
says the turn needs context), the confusion counts, and the share of labelled follow-ups the
detector misses, i.e. would accept as standalone (the issue's target: at most 10 %).
``--misses`` prints the dev set's errors; the holdout's texts are never printed.

The cost of a false positive is a good prompt lost (a bare prompt flagged is rejected
``needs_context``), so the suite also counts the public prompts (../shared/data, when present:
instructions and questions written to stand alone) the detector flags, per script.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import time
from dataclasses import dataclass

from bench.harness import ROOT, Recorder, public_texts
from services.clean.chain import Cleaned, Cleaner, Refused
from services.clean.followup import needs_context
from services.clean.text import CJK_CHAR, normalize
from services.contract.records import Reason
from services.settings import Settings

SETS = ROOT / "bench" / "data" / "followups"
LANGS = ("en", "zh")


@dataclass(frozen=True)
class Item:
    id: str
    lang: str
    text: str
    follow_up: bool


def load(name: str) -> list[Item]:
    """The set's items, refused when its bytes differ from the manifest's sha256."""
    meta = json.loads((SETS / "manifest.json").read_text(encoding="utf-8"))["files"][name]
    data = (SETS / meta["file"]).read_bytes()
    if hashlib.sha256(data).hexdigest() != meta["sha256"]:
        raise SystemExit(f"{meta['file']} differs from the sha256 in manifest.json: refused")
    rows = [json.loads(x) for x in data.decode("utf-8").splitlines()]
    assert len(rows) == meta["count"]
    return [Item(r["id"], r["lang"], r["text"], r["label"] == "needs_context") for r in rows]


def scores(pairs: list[tuple[bool, bool]]) -> dict[str, float | int]:
    """(label, predicted) pairs -> confusion counts, precision, recall, F1, missed share."""
    tp = sum(y and p for y, p in pairs)
    fp = sum(p and not y for y, p in pairs)
    fn = sum(y and not p for y, p in pairs)
    tn = len(pairs) - tp - fp - fn
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "n": len(pairs),
        "follow_ups": tp + fn,
        "tp": tp,
        "fp": fp,
        "fn": fn,
        "tn": tn,
        "precision": round(precision, 4),
        "recall": round(recall, 4),
        "f1": round(f1, 4),
        "missed": round(fn / (tp + fn), 4) if tp + fn else 0.0,
    }


def arguments(ap: argparse.ArgumentParser) -> None:
    ap.add_argument("--set", nargs="+", default=["dev", "holdout"], choices=["dev", "holdout"])
    ap.add_argument("--misses", action="store_true", help="print the dev set's errors")


def run(args: argparse.Namespace, rec: Recorder) -> int:
    sets = {name: load(name) for name in args.set}
    rec.header(
        ", ".join(f"{name} {len(items)} turns" for name, items in sets.items())
        + "; positive = needs_context; missed = labelled follow-ups accepted as standalone"
    )
    print(
        f"{'set':8s} {'lang':4s} {'n':>4s} {'follow-ups':>10s} {'tp':>4s} {'fp':>4s} {'fn':>4s}"
        f" {'tn':>4s} {'precision':>9s} {'recall':>7s} {'F1':>6s} {'missed':>7s}"
    )
    for name, items in sets.items():
        t = time.perf_counter()
        predicted = [needs_context(i.text, i.lang) for i in items]
        per_item_us = (time.perf_counter() - t) / len(items) * 1e6
        for lang in (*LANGS, "all"):
            pairs = [
                (i.follow_up, p)
                for i, p in zip(items, predicted, strict=True)
                if lang == "all" or i.lang == lang
            ]
            s = scores(pairs)
            print(
                f"{name:8s} {lang:4s} {s['n']:>4} {s['follow_ups']:>10} {s['tp']:>4} {s['fp']:>4}"
                f" {s['fn']:>4} {s['tn']:>4} {s['precision']:>9.3f} {s['recall']:>7.3f}"
                f" {s['f1']:>6.3f} {s['missed']:>7.1%}"
            )
            rec.add(s, set=name, lang=lang)
        print(f"{name:8s} {per_item_us:.1f} µs per turn")
        if args.misses and name == "dev":
            for i, p in zip(items, predicted, strict=True):
                if p != i.follow_up:
                    kind = "missed" if i.follow_up else "false+"
                    print(f"  {kind} {i.lang} {i.id}: {i.text[:140]!r}")
    for name, items in sets.items():
        through_chain(rec, name, items)
    ordinary(rec, args.misses)
    return 0


def through_chain(rec: Recorder, name: str, items: list[Item]) -> None:
    """The ingest chain's verdict on each turn sent alone, as a bare prompt (what the worker
    decides before the shared state: filters, then the follow-up check): the share of labelled
    follow-ups it lets through, and of standalone turns it rejects ``needs_context``."""
    cleaner = Cleaner(Settings())
    verdicts = cleaner.screen_batch(
        [json.dumps({"event_id": i.id, "prompt": i.text, "lang": i.lang}).encode() for i in items]
    )
    for lang in LANGS:
        rows = [(i, v) for i, v in zip(items, verdicts, strict=True) if i.lang == lang]
        follow = [v for i, v in rows if i.follow_up]
        alone = [v for i, v in rows if not i.follow_up]
        passed = sum(isinstance(v, Cleaned) for v in follow)
        lost = sum(isinstance(v, Refused) and v.reason is Reason.NEEDS_CONTEXT for v in alone)
        print(
            f"{name:8s} {lang:4s} alone through the chain: {passed}/{len(follow)} follow-ups "
            f"pass ({passed / len(follow):.1%}), {lost}/{len(alone)} standalone turns rejected "
            "needs_context"
        )
        rec.add(
            {"follow_ups_pass": passed, "follow_ups": len(follow), "standalone_lost": lost},
            set=name,
            lang=lang,
            path="chain",
        )


def ordinary(rec: Recorder, show: bool) -> None:
    """False positives on prompts that stand alone: the public prompts, by script."""
    texts = [normalize(t) for t in public_texts()]
    if not texts:
        print("public prompts: ../shared/data/public_prompts.jsonl not found, skipped")
        return
    for script in ("latin", "cjk"):
        part = [t for t in texts if bool(CJK_CHAR.search(t[:64])) == (script == "cjk")]
        lang = "zh" if script == "cjk" else "en"
        flagged = [t for t in part if needs_context(t, lang)]
        share = len(flagged) / len(part) if part else 0.0
        print(f"public   {script:5s} {len(part):>5} prompts, {len(flagged)} flagged ({share:.2%})")
        rec.add(
            {"n": len(part), "flagged": len(flagged), "share": round(share, 5)},
            set="public",
            script=script,
        )
        if show:
            for t in flagged:
                print(f"  flagged {t[:140]!r}")
