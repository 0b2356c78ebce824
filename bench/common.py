"""Shared by the benchmarks: prompt sets and machine facts."""

from __future__ import annotations

import json
import os
import platform
from datetime import UTC, datetime
from pathlib import Path

from services.clean.text import cjk_ratio
from services.dev.generator import unique_prompts

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "public_prompts.jsonl"


def public_prompts(n: int, lang: str = "en") -> tuple[list[str], str]:
    """Distinct public prompts from ../shared/data when present, else generated ones.
    ``lang="en"`` keeps prompts without CJK characters (all of them need an embedding);
    ``"mixed"`` keeps the file's order, English and Chinese."""
    if SHARED.exists():
        seen: dict[str, None] = {}
        for line in SHARED.read_text().split("\n"):
            if not line.strip():
                continue
            text = json.loads(line)["prompt"].strip()
            if text and (lang == "mixed" or cjk_ratio(text) == 0):
                seen.setdefault(text, None)
        texts = list(seen)[:n]
        if len(texts) == n:
            return texts, f"{SHARED.name} (first {n} distinct, {lang})"
    return unique_prompts(n), f"generated unique_prompts({n})"


def machine() -> str:
    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{platform.system()} {platform.machine()}, {os.cpu_count()} cores, {cpu}, Python {platform.python_version()}"


def stamp() -> str:
    return datetime.now(tz=UTC).strftime("%Y-%m-%d %H:%M UTC")


def isolated_settings(stack, prefix: str, **overrides):  # type: ignore[no-untyped-def]
    """Settings for one run on a running dev stack: topics, consumer group and Redis namespace
    of its own (``<prefix><random>``), no metrics or ops port, the repository's model cache."""
    import uuid

    from services.settings import Settings

    run = f"{prefix}{uuid.uuid4().hex[:6]}"
    values = {
        "kafka_bootstrap": stack.bootstrap,
        "redis_url": stack.redis_url,
        "app_id": run,
        "namespace": run,
        "state_dir": Path(__file__).resolve().parents[1] / ".flywheel",
        "metrics_port": 0,
        "ops_port": 0,
    }
    for name in ("events", "annotation", "rejected", "dlq", "curate", "results"):
        default = Settings.model_fields[f"topic_{name}"].default
        values[f"topic_{name}"] = f"{run}.{default}"
    return Settings(**(values | overrides))

