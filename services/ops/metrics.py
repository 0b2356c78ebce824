"""Prometheus metrics of a worker, all prefixed ``flywheel_`` (Faust's own sensor uses unprefixed
names that collide with other exporters), in a registry of their own.

Workers serve them on ``FLYWHEEL_METRICS_PORT`` and also publish a snapshot of their counters to
Redis (``<ns>:stats:<worker>``) every few seconds, which the ops API sums across workers.
"""

from __future__ import annotations

import json
import os
import socket
import time
from collections import Counter
from collections.abc import Sequence

from prometheus_client import CollectorRegistry, Gauge, Histogram
from prometheus_client import Counter as PCounter

REGISTRY = CollectorRegistry(auto_describe=True)

EVENTS_IN = PCounter("flywheel_events_in", "Messages read by a stage", ["stage"], registry=REGISTRY)
EVENTS_OUT = PCounter(
    "flywheel_events_out",
    "Records produced, by stage, outcome (accepted, rejected, dlq, forwarded) and reason",
    ["stage", "outcome", "reason"],
    registry=REGISTRY,
)
STAGE_OUTCOMES = PCounter(
    "flywheel_stage_outcomes",
    "What each stage decided, by stage and outcome (forwarded, embedded, rejected_<reason>, "
    "dlq_<code>, accepted, results, ...)",
    ["stage", "outcome"],
    registry=REGISTRY,
)
STAGE_RETRYING = Gauge(
    "flywheel_stage_retrying_seconds",
    "How long a stage has been retrying its current micro-batch (0 = healthy)",
    ["stage"],
    registry=REGISTRY,
)
POISON = PCounter(
    "flywheel_poison_messages",
    "Messages isolated from a failing batch and dead-lettered after bounded retries",
    ["stage"],
    registry=REGISTRY,
)
WORKER_READY = Gauge(
    "flywheel_worker_ready",
    "1 when the worker is set up and no stage has retried longer than FLYWHEEL_UNREADY_AFTER_S",
    registry=REGISTRY,
)
BATCH_SECONDS = Histogram(
    "flywheel_stage_batch_seconds",
    "Time to process one micro-batch, by stage",
    ["stage"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
    registry=REGISTRY,
)
E2E_SECONDS = Histogram(
    "flywheel_end_to_end_seconds",
    "Input message timestamp to final output, by outcome",
    ["outcome"],
    buckets=(0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300),
    registry=REGISTRY,
)
EMBED_BATCH = Histogram(
    "flywheel_embed_batch_size",
    "Prompts per embedding call",
    buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256, 512),
    registry=REGISTRY,
)
INDEX_SIZE = Gauge(
    "flywheel_index_size", "Accepted vectors per index", ["index"], registry=REGISTRY
)
CLUSTERS_COVERED = Gauge(
    "flywheel_clusters_covered",
    "Topic clusters with accepted prompts in the quota window (as the last curate batch saw it)",
    registry=REGISTRY,
)
CLUSTER_ENTROPY = Gauge(
    "flywheel_cluster_entropy_bits",
    "Entropy of the accepted window's topic-cluster distribution (bits; log2(K) = even)",
    registry=REGISTRY,
)
TOPIC_MODEL_CLUSTERS = Gauge(
    "flywheel_topic_model_clusters",
    "Clusters of the topic model a curate worker uses, by version (1 = in use)",
    ["version", "clusters"],
    registry=REGISTRY,
)
TOPIC_MODEL_SWAPS = PCounter(
    "flywheel_topic_model_swaps",
    "Topic models this worker trained from the accepted sample and made current",
    registry=REGISTRY,
)
TOPIC_MODEL_LOAD_FAILURES = PCounter(
    "flywheel_topic_model_load_failures",
    "Current topic models this worker could not load (it keeps the previous one)",
    registry=REGISTRY,
)
WINDOW_ACCEPTED = Gauge(
    "flywheel_window_accepted", "Accepted prompts in the quota window", registry=REGISTRY
)
FEEDBACK_RESULTS = PCounter(
    "flywheel_feedback_results",
    "Annotation results applied by the feedback agent, by label class (pos, neg, unknown)",
    ["label_class"],
    registry=REGISTRY,
)
FEEDBACK_BLOCKED = PCounter(
    "flywheel_feedback_blocked",
    "Prompt vectors added to the blocklist index from spam/unsafe labels",
    registry=REGISTRY,
)
CLUSTER_WEIGHT = Gauge(
    "flywheel_cluster_weight",
    "Quota weight of a topic cluster from annotator feedback (1 = neutral)",
    ["cluster"],
    registry=REGISTRY,
)
CONTAMINATED = PCounter(
    "flywheel_contaminated",
    "Prompts rejected as copies of a registered evaluation item, by set and method",
    ["evalset", "method"],
    registry=REGISTRY,
)
EVAL_ITEMS = Gauge(
    "flywheel_eval_items",
    "Evaluation items the contamination check of this worker matches against",
    registry=REGISTRY,
)
REBALANCES = PCounter("flywheel_rebalances", "Consumer group rebalances seen", registry=REGISTRY)


def worker_id() -> str:
    return f"{socket.gethostname()}-{os.getpid()}"


class StatsBook:
    """Counts outputs by label ("accepted", "rejected:near_duplicate", "dlq:invalid_json", …)
    and updates the Prometheus metrics; ``snapshot`` is what goes to Redis."""

    def __init__(self) -> None:
        self.outputs: Counter[str] = Counter()
        self.inputs: Counter[str] = Counter()
        self.started = time.time()

    def record_batch(
        self,
        stage: str,
        n_in: int,
        labels: Sequence[str],
        seconds: float,
        latencies: Sequence[tuple[str, float]],
    ) -> None:
        self.inputs[stage] += n_in
        EVENTS_IN.labels(stage).inc(n_in)
        BATCH_SECONDS.labels(stage).observe(seconds)
        for label in labels:
            self.outputs[label] += 1
            outcome, _, reason = label.partition(":")
            EVENTS_OUT.labels(stage, outcome, reason).inc()
        for outcome, secs in latencies:
            E2E_SECONDS.labels(outcome).observe(secs)

    def snapshot(
        self, index_sizes: dict[str, int], embedded: int = 0, embed_seconds: float = 0.0
    ) -> str:
        return json.dumps(
            {
                "worker": worker_id(),
                "ts": time.time(),
                "started": self.started,
                "inputs": dict(self.inputs),
                "outputs": dict(self.outputs),
                "index_sizes": index_sizes,
                "embedded": embedded,
                "embed_seconds": round(embed_seconds, 3),
            }
        )


def serve_worker_http(port: int, host: str = "0.0.0.0") -> None:  # noqa: S104 - a pod's probe port
    """The worker's HTTP port, in a daemon thread: ``/metrics`` (Prometheus) and ``/readyz``,
    200 once the runtime is set up and no stage has retried longer than
    ``FLYWHEEL_UNREADY_AFTER_S``, 503 otherwise (Kubernetes takes the pod out of rotation and
    alerts; the worker exits by itself after ``FLYWHEEL_EXIT_AFTER_S``)."""
    import threading
    from wsgiref.simple_server import WSGIRequestHandler, make_server

    from prometheus_client import make_wsgi_app
    from prometheus_client.exposition import ThreadingWSGIServer

    metrics = make_wsgi_app(REGISTRY)

    def app(environ, start_response):
        if environ.get("PATH_INFO") == "/readyz":
            ready = WORKER_READY._value.get() >= 1  # noqa: SLF001 - the gauge's own value
            start_response(
                "200 OK" if ready else "503 Service Unavailable", [("Content-Type", "text/plain")]
            )
            return [b"ready\n" if ready else b"not ready\n"]
        return metrics(environ, start_response)

    class _Quiet(WSGIRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            """Probes every few seconds: no access log."""

    server = make_server(host, port, app, ThreadingWSGIServer, handler_class=_Quiet)
    threading.Thread(target=server.serve_forever, daemon=True, name="worker-http").start()


# --- annotator agreement (services/pipeline/feedback.py, services/diversity/agreement.py) ---
ANNOTATOR_ALPHA = Gauge(
    "flywheel_annotator_alpha",
    "Krippendorff's alpha (nominal) of the annotators' classes, per v1 cluster and 'all' "
    "(NaN while undefined)",
    ["cluster"],
    registry=REGISTRY,
)
REVIEW_REQUESTS = PCounter(
    "flywheel_review_requests",
    "Prompts sent back for another annotation round because their annotators disagree",
    registry=REGISTRY,
)
FEEDBACK_PROMPTS = Gauge(
    "flywheel_feedback_prompts",
    "Annotated prompts by agreement state: agreed, open (sent back, waiting for its round), "
    "unresolved (still split after its last round)",
    ["state"],
    registry=REGISTRY,
)

ERASURE_SECONDS = Histogram(
    "flywheel_erasure_seconds",
    "Time from an erasure request (its requested_at, else its arrival) to done",
    buckets=(1, 5, 30, 60, 300, 1800, 3600, 6 * 3600, 24 * 3600, 7 * 86400),
    registry=REGISTRY,
)
ERASED_PROMPTS = PCounter(
    "flywheel_erased_prompts_total", "Prompts erased on request", registry=REGISTRY
)
