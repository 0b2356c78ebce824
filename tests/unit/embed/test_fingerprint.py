"""Model fingerprints: what changes them, and the refusals built on them."""

from pathlib import Path

import numpy as np
import pytest

from services.embed.clusters import DEFAULT_TOPICS, TopicModel
from services.embed.fingerprint import (
    ModelMismatch,
    check,
    source_digest,
    transformer_fingerprint,
)
from services.errors import ConfigError
from services.settings import BACKEND_DEFAULTS, Settings


def model_dir(tmp_path: Path, weights: bytes) -> Path:
    src = tmp_path / f"m{len(list(tmp_path.iterdir()))}"
    src.mkdir()
    (src / "config.json").write_text("{}")
    (src / "model.safetensors").write_bytes(weights)
    return src


def test_the_digest_follows_the_weights_not_the_readme(tmp_path):
    a, b = model_dir(tmp_path, b"w1"), model_dir(tmp_path, b"w2")
    before = source_digest(a)
    (a / "README.md").write_text("new model card")
    assert source_digest(a) == before != source_digest(b)
    assert transformer_fingerprint(a).endswith("/transformer")


def test_a_directory_without_weights_has_no_fingerprint(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ModelMismatch, match="no model weights"):
        source_digest(empty)


def test_check_refuses_another_model_in_one_line():
    check("m@1/transformer", "m@1/transformer", "x")
    with pytest.raises(ModelMismatch) as err:
        check("m@1/static-ab", "m@1/transformer", "the vector log fw:vectors:*")
    assert "\n" not in str(err.value) and "runbook" in str(err.value)
    assert isinstance(err.value, ConfigError)  # the worker stops on it


def test_each_backend_has_centroids_of_its_own_model():
    transformer = TopicModel.load(DEFAULT_TOPICS)
    static = TopicModel.load(Settings(embedding_backend="static").topics_path)
    assert transformer.model.endswith("/transformer") and "/static-" in static.model
    assert transformer.dim == static.dim  # same shape: only the fingerprint tells them apart
    transformer.check(transformer.model)
    with pytest.raises(ModelMismatch):
        transformer.check(static.model)
    with pytest.raises(ModelMismatch):
        static.check(transformer.model)


def test_untagged_centroids_are_refused(tmp_path):
    path = tmp_path / "old.npz"
    np.savez(
        path,
        version=np.array("old"),
        centroids=np.eye(2, dtype=np.float32),
        labels=np.array(["a", "b"]),
        weights=np.array([0.5, 0.5]),
    )
    with pytest.raises(ModelMismatch, match="not recorded"):
        TopicModel.load(path).check("m@1/transformer")


def test_static_gets_its_own_defaults_unless_given(monkeypatch):
    assert Settings().near_dup_threshold == 0.85
    s = Settings(embedding_backend="static")
    for name, value in BACKEND_DEFAULTS["static"].items():
        assert getattr(s, name) == value
    monkeypatch.setenv("FLYWHEEL_EMBEDDING_BACKEND", "static")
    monkeypatch.setenv("FLYWHEEL_NEAR_DUP_THRESHOLD", "0.93")
    s = Settings()
    assert s.near_dup_threshold == 0.93
    assert s.blocklist_threshold == BACKEND_DEFAULTS["static"]["blocklist_threshold"]
    # a worker started from to_env() sees the same values
    assert (
        Settings(
            **{
                k.removeprefix("FLYWHEEL_").lower(): v
                for k, v in s.to_env().items()
                if k in ("FLYWHEEL_EMBEDDING_BACKEND", "FLYWHEEL_NEAR_DUP_THRESHOLD")
            }
        ).near_dup_threshold
        == 0.93
    )
