from hypothesis import given, settings
from hypothesis import strategies as st

from services.clean.text import cjk_ratio, normalize, prompt_id, user_hash


def test_normalize_cleans_whitespace_controls_and_invisibles():
    raw = "  Hello\u200b   world\x07\r\n\r\n\r\n\tnext  line\ufeff "
    assert normalize(raw) == "Hello world\n\nnext line"


def test_normalize_nfkc_folds_compatibility_forms():
    assert normalize("ｆｕｌｌ　ｗｉｄｔｈ １２３") == "full width 123"


def test_prompt_id_is_stable_and_case_insensitive():
    assert prompt_id("Hello World") == prompt_id("hello world")
    assert prompt_id("hello world") != prompt_id("hello world!")
    assert len(prompt_id("x")) == 32


def test_user_hash_is_keyed_and_never_the_raw_id():
    a = user_hash("alice@example.com", b"k1")
    assert a is not None and "alice" not in a
    assert a == user_hash("alice@example.com", b"k1")
    assert a != user_hash("alice@example.com", b"k2")
    assert user_hash(None, b"k1") is None


def test_cjk_ratio():
    assert cjk_ratio("今天天气怎么样") == 1.0
    assert cjk_ratio("hello") == 0.0
    assert 0 < cjk_ratio("帮我 debug 这段 code") < 1


@settings(max_examples=500, deadline=None)
@given(st.text())
def test_normalize_is_idempotent_on_arbitrary_unicode(text):
    once = normalize(text)
    assert normalize(once) == once


@settings(max_examples=300, deadline=None)
@given(st.binary())
def test_normalize_never_raises_on_bytes_decoded_with_replacement(data):
    once = normalize(data.decode("utf-8", errors="replace"))
    assert normalize(once) == once
