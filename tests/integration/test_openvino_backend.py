"""The ``openvino`` backend against ONNX Runtime fp32 on the real model: OpenVINO reads the same
ONNX export (scripts/setup.sh makes it; the onnx backend's first start would too), so at f32 the
vectors agree and the model fingerprint is the same."""

import numpy as np
import pytest

from services.embed.embedder import Embedder
from services.settings import Settings
from tests.integration.harness import ROOT

pytestmark = pytest.mark.integration


def test_openvino_vectors_match_onnx() -> None:
    texts = [
        "Translate 'good morning' into French.",
        "Write a haiku about autumn leaves falling on a quiet pond at dusk.",
        "hi",
        "Explain the difference between a list and a tuple in Python, with examples. " * 40,
    ]
    s = Settings(state_dir=ROOT / ".flywheel", embed_batch_size=2, openvino_precision="f32")
    ref = Embedder.from_settings(s, "onnx").setup()
    ov = Embedder.from_settings(s, "openvino").setup()
    assert ov.fingerprint == ref.fingerprint and ov.dim == ref.dim
    a, b = ref.encode(texts), ov.encode(texts)
    assert b.dtype == np.float32 and b.shape == a.shape
    assert np.sum(a * b, axis=1).min() > 0.9999
    assert ov.unknown_token_ratio(["你好世界"]) == ref.unknown_token_ratio(["你好世界"])
