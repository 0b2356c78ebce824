"""With its backends down the ops read model says so instead of reporting OK or failing."""

import redis.asyncio as aioredis
from prometheus_client.parser import text_string_to_metric_families

from services.ops.lag import PartitionLag
from services.ops.read_model import OpsState
from services.settings import Settings

DOWN = "redis://127.0.0.1:1/0"  # nothing listens on port 1


def state() -> OpsState:
    s = Settings(redis_url=DOWN, kafka_bootstrap="127.0.0.1:1")
    return OpsState(s, aioredis.from_url(DOWN, socket_connect_timeout=1))


def test_lag_status_is_unknown_before_a_poll_and_error_when_it_fails():
    st = state()
    assert st.lag_view()["status"] == "UNKNOWN"

    def broken(now=None):
        raise ConnectionError("no broker")

    st.monitor.poll = broken
    st.lag = [PartitionLag("t", 0, 5, 5, 0, 0.0, True, "OK")]  # a table from before
    st.last_poll = 1.0
    st.poll_lag()
    view = st.lag_view()
    assert view["status"] == "ERROR" and "no broker" in view["error"]


async def test_metrics_are_served_with_up_gauges_at_zero():
    st = state()
    st.lag = [PartitionLag("t", 0, 5, 5, 0, 0.0, True, "OK")]
    st.error = "NoBrokersAvailable"
    text = (await st.metrics_text()).decode()
    await st.redis.aclose()
    families = {f.name: f for f in text_string_to_metric_families(text)}
    up = {s.labels["backend"]: s.value for s in families["flywheel_ops_backend_up"].samples}
    assert up == {"kafka": 0, "redis": 0}
    assert not families["flywheel_lag_messages"].samples  # no stale lag while polls fail
