"""The accounting invariant the integration tests check after a worker run."""

from __future__ import annotations

from services.dev.accounting import Outputs, topic_end_offsets
from services.settings import Settings


def check_invariant(s: Settings, out: Outputs) -> None:
    ends = topic_end_offsets(s.kafka_bootstrap, s.topic_events)
    assert out.missing(s.topic_events, ends) == []
    assert out.duplicated_srcs() == []
    assert out.total == sum(ends.values()), (
        out.total,
        ends,
        len(out.srcs),
        [k for k in out.srcs if not k.startswith(s.topic_events)][:5],
    )
    assert out.duplicated_prompt_ids() == []
