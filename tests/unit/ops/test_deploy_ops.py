"""The Grafana dashboard and the Prometheus configuration refer only to metrics Flywheel exports."""

import json
import re
from pathlib import Path

import yaml
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from services.ops.exposition import Snapshot
from services.ops.lag import PartitionLag
from services.ops.metrics import REGISTRY, StatsBook

DEPLOY = Path(__file__).resolve().parents[3] / "deploy"


def exported_names() -> set[str]:
    # labelled families show their samples once a label set is used
    StatsBook().record_batch("ingest", 1, ["accepted"], 0.01, [("accepted", 0.2)])
    reg = CollectorRegistry()
    reg.register(
        Snapshot(
            [PartitionLag("t", 0, 1, 0, 1, 0.5, True, "OK")],
            {
                "outputs": {"accepted": 1},
                "index_sizes": {"en": 1},
                "workers": ["w"],
                "diversity": {
                    "clusters_covered": 1,
                    "entropy_bits": 0.0,
                    "synthetic_share": 0.0,
                    "blocklist_vectors": 0,
                    "weights": {"3": 0.5},
                    "gaps": {"distance": 0.2, "clusters": [{"cluster": 1, "deficit": 3}]},
                    "synthetic_balance": [
                        {
                            "cluster": 1,
                            "real": {"duplicate_rate": 0.1, "acceptance": 0.8},
                            "synthetic": {"duplicate_rate": 0.4, "acceptance": 0.5},
                        }
                    ],
                },
            },
            "g",
        )
    )
    names = set()
    for text in (generate_latest(REGISTRY), generate_latest(reg)):
        for fam in text_string_to_metric_families(text.decode()):
            names |= {sample.name for sample in fam.samples} | {fam.name}
    return names


def test_grafana_dashboard_queries_exported_metrics():
    dash = json.loads((DEPLOY / "grafana" / "dashboards" / "flywheel.json").read_text())
    exprs = [t["expr"] for p in dash["panels"] for t in p["targets"]]
    used = {m for e in exprs for m in re.findall(r"flywheel_[a-z_]+", e)}
    assert used and used <= exported_names(), used - exported_names()
    assert len({p["id"] for p in dash["panels"]}) == len(dash["panels"])


def test_prometheus_scrapes_workers_and_ops_api():
    conf = yaml.safe_load((DEPLOY / "prometheus" / "prometheus.yml").read_text())
    jobs = {j["job_name"]: j for j in conf["scrape_configs"]}
    assert set(jobs) == {"flywheel-workers", "flywheel-ops"}
    assert jobs["flywheel-ops"]["metrics_path"] == "/metrics"


def test_compose_publishes_the_ops_port_on_loopback_unless_opted_in():
    compose = yaml.safe_load((DEPLOY.parent / "docker-compose.yml").read_text())
    ops = compose["services"]["ops"]
    (port,) = ops["ports"]
    # Compose's ${VAR:-default}: unset variable = the default
    published = re.sub(r"\$\{[A-Z_]+:-([^}]*)\}", r"\1", port)
    assert published == "127.0.0.1:8080:8080", port
    assert "FLYWHEEL_OPS_READ_TOKEN" in ops["environment"]
