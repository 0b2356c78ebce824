"""``flywheel lag`` and ``flywheel top``: rich tables that refresh in the terminal."""

from __future__ import annotations

import asyncio
import time

import redis.asyncio as aioredis
from rich.console import Group
from rich.live import Live
from rich.table import Table

from services.ops.lag import PartitionLag, worst
from services.ops.lag_store import RedisTrackerStore
from services.ops.read_model import OpsState, lag_monitor
from services.settings import Settings

STYLE = {"OK": "green", "WARN": "yellow", "STALL": "red", "STOP": "bold red", "REWIND": "magenta"}


def lag_table(group: str, rows: list[PartitionLag]) -> Table:
    status = worst(r.status for r in rows)
    table = Table(title=f"group {group}: [{STYLE[status]}]{status}[/]")
    for col in ("partition", "log end", "committed", "lag", "lag (s)", "stuck (s)", "status"):
        table.add_column(col, justify="right" if col != "partition" else "left")
    for r in rows:
        lag_s = f"{r.lag_s:.1f}" + ("" if r.lag_s_exact else "+")
        table.add_row(
            f"{r.topic}[{r.partition}]",
            str(r.end),
            str(r.committed),
            str(r.lag),
            lag_s,
            f"{r.stuck_s:.1f}",
            f"[{STYLE[r.status]}]{r.status}[/]",
        )
    return table


def watch_lag(s: Settings, interval: float, once: bool) -> None:
    """The lag table; the trackers live in Redis, so ``--once`` run again 10 s later sees a
    committed offset that has not moved (STALL) although each run takes one sample."""
    store = RedisTrackerStore(s.redis_url.get_secret_value(), s.namespace)
    monitor = lag_monitor(s, store)
    try:
        if once:
            from rich import print as rprint

            rprint(lag_table(s.app_id, monitor.poll()))
            return
        with Live(auto_refresh=False) as live:
            while True:
                live.update(lag_table(s.app_id, monitor.poll()), refresh=True)
                time.sleep(interval)
    finally:
        monitor.close()
        store.close()


def stats_table(stats: dict) -> Table:
    table = Table(title=f"{len(stats['workers'])} workers, {stats['throughput']:.1f} outputs/s")
    table.add_column("outcome")
    table.add_column("count", justify="right")
    table.add_row("[green]accepted[/]", str(stats["accepted"]))
    for reason, n in sorted(stats["rejected"].items(), key=lambda kv: -kv[1]):
        table.add_row(f"rejected: {reason}", str(n))
    table.add_row("[red]dead-lettered[/]", str(stats["dlq"]))
    for name, n in sorted(stats["index_sizes"].items()):
        table.add_row(f"index {name}", str(n))
    return table


def watch_top(s: Settings, interval: float, once: bool) -> None:
    async def loop() -> None:
        redis = aioredis.from_url(s.redis_url.get_secret_value())
        state = OpsState(s, redis)
        try:
            with Live(auto_refresh=False) as live:
                while True:
                    await asyncio.get_running_loop().run_in_executor(None, state.poll_lag)
                    stats = await state.stats()
                    live.update(
                        Group(stats_table(stats), lag_table(s.app_id, state.lag)), refresh=True
                    )
                    if once:
                        return
                    await asyncio.sleep(interval)
        finally:
            state.close()
            await redis.aclose()

    asyncio.run(loop())
