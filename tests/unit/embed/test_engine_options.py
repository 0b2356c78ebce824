"""The inference engines' options: ONNX Runtime session options from the settings, and the
openvino backend's reading of the model's configuration (its vectors against onnx fp32's are
tested on the real model in tests/integration/test_openvino_backend.py)."""

import json
from pathlib import Path

import pytest

from services.embed.embedder import Embedder, EngineOptions, onnx_session_options
from services.embed.openvino_backend import check_pooling, max_seq_length
from services.settings import Settings


def test_options_from_settings() -> None:
    assert EngineOptions.from_settings(Settings()) == EngineOptions()
    s = Settings(onnx_threads=1, onnx_spinning=False, openvino_precision="f32")
    assert EngineOptions.from_settings(s) == EngineOptions(1, False, "f32")


def test_the_embedder_takes_every_choice_from_the_settings_it_is_given(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    s = Settings(onnx_threads=1, embed_batch_size=8, state_dir=Path("/m"))
    monkeypatch.setenv("FLYWHEEL_ONNX_SPINNING", "false")  # not read behind the caller's back
    emb = Embedder.from_settings(s)
    assert emb.options == EngineOptions(1, s.onnx_spinning, s.openvino_precision)
    assert (emb.backend, emb.batch_size, emb.cache_dir) == ("openvino", 8, Path("/m/models"))
    assert emb.verifier_backend == s.cascade_verifier
    assert Embedder.from_settings(s, "static").backend == "static"


def test_session_options() -> None:
    so = onnx_session_options(EngineOptions(onnx_threads=1, onnx_spinning=False))
    assert so.intra_op_num_threads == 1
    assert so.get_session_config_entry("session.intra_op.allow_spinning") == "0"
    default = onnx_session_options(EngineOptions())
    assert default.intra_op_num_threads == 0  # ONNX Runtime's own choice: one per core
    with pytest.raises(Exception, match="allow_spinning"):  # not set: ONNX Runtime's default
        default.get_session_config_entry("session.intra_op.allow_spinning")


def test_max_seq_length_from_source_first(tmp_path: Path) -> None:
    src, export = tmp_path / "src", tmp_path / "export"
    src.mkdir()
    export.mkdir()
    (export / "sentence_bert_config.json").write_text(json.dumps({"max_seq_length": 512}))
    assert max_seq_length(src, export) == 512
    (src / "sentence_bert_config.json").write_text(json.dumps({"max_seq_length": 128}))
    assert max_seq_length(src, export) == 128
    assert max_seq_length(tmp_path / "none", tmp_path / "none") == 256


def test_only_mean_pooling(tmp_path: Path) -> None:
    check_pooling(tmp_path)  # no pooling config: sentence-transformers' default, mean
    (tmp_path / "1_Pooling").mkdir()
    (tmp_path / "1_Pooling" / "config.json").write_text(json.dumps({"pooling_mode": "cls"}))
    with pytest.raises(ValueError, match="mean pooling"):
        check_pooling(tmp_path)
