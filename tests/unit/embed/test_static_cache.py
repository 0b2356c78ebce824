"""The static model's cache: what makes it unusable, and that it is rebuilt or refused in one
line, never replaced by another model. Pure file logic: the distillation itself is faked."""

import json
from pathlib import Path

import pytest

from services.embed import static
from services.embed.static import StaticModelError, ensure, expected_meta, problem


@pytest.fixture
def source(tmp_path: Path) -> Path:
    src = tmp_path / "src-model"
    src.mkdir()
    (src / "config.json").write_text('{"hidden_size": 4}')
    (src / "model.safetensors").write_bytes(b"weights-1")
    return src


def fake_build(calls: list[Path]):
    def build(source: Path, target: Path, meta: dict) -> None:
        calls.append(target)
        target.mkdir(parents=True, exist_ok=True)
        (target / "model.safetensors").write_bytes(b"distilled")
        files = {"model.safetensors": static.file_sha256(target / "model.safetensors")}
        (target / static.FINGERPRINT_FILE).write_text(json.dumps({**meta, "files": files}))

    return build


def test_a_missing_cache_is_distilled_once_then_reused(source, tmp_path, monkeypatch):
    calls: list[Path] = []
    monkeypatch.setattr(static, "build", fake_build(calls))
    path, fp = ensure(source, tmp_path / "models")
    assert calls == [path] and problem(path, expected_meta(source)) is None
    assert fp.startswith("src-model@") and "/static-" in fp
    assert ensure(source, tmp_path / "models") == (path, fp)
    assert len(calls) == 1


@pytest.mark.parametrize(
    "damage, reason",
    [
        (lambda d: (d / "model.safetensors").write_bytes(b"flipped"), "corrupt model.safetensors"),
        (lambda d: (d / "model.safetensors").unlink(), "corrupt model.safetensors"),
        (lambda d: (d / static.FINGERPRINT_FILE).write_text("{"), "unreadable"),
        (lambda d: (d / static.FINGERPRINT_FILE).unlink(), "is missing"),
    ],
)
def test_a_damaged_cache_is_refused_with_one_line_or_rebuilt(
    source, tmp_path, monkeypatch, damage, reason
):
    calls: list[Path] = []
    monkeypatch.setattr(static, "build", fake_build(calls))
    path, _ = ensure(source, tmp_path / "models")
    damage(path)
    assert reason in (problem(path, expected_meta(source)) or "")
    with pytest.raises(StaticModelError) as err:
        ensure(source, tmp_path / "models", rebuild=False)
    assert "\n" not in str(err.value) and "flywheel model --backend static" in str(err.value)
    ensure(source, tmp_path / "models")  # rebuilds
    assert len(calls) == 2 and problem(path, expected_meta(source)) is None


def test_other_source_weights_or_parameters_make_another_cache(source, tmp_path, monkeypatch):
    calls: list[Path] = []
    monkeypatch.setattr(static, "build", fake_build(calls))
    path, fp = ensure(source, tmp_path / "models")
    (source / "model.safetensors").write_bytes(b"weights-2")  # the configured model changed
    assert "another source_sha256" in (problem(path, expected_meta(source)) or "")
    _, fp2 = ensure(source, tmp_path / "models")
    assert fp2 != fp and len(calls) == 2
    monkeypatch.setitem(static.DISTILL_PARAMS, "pca_dims", 128)
    path3, fp3 = ensure(source, tmp_path / "models")
    assert path3 != path and fp3 not in (fp, fp2)


def test_a_failed_distillation_stops_with_one_line_and_leaves_no_model(
    source, tmp_path, monkeypatch
):
    def broken(source: Path, target: Path, meta: dict) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(static, "build", broken)
    with pytest.raises(StaticModelError) as err:
        ensure(source, tmp_path / "models")
    assert "disk full" in str(err.value) and "\n" not in str(err.value)
    assert not any(p.is_dir() for p in (tmp_path / "models").iterdir())
