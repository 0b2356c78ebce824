"""A slow downstream for the chaos tier, injected from outside the product.

A worker started with this directory on ``PYTHONPATH`` imports this module at start-up: each
micro-batch's first record for ``FLYWHEEL_TEST_SLOW_TOPIC`` waits ``FLYWHEEL_TEST_SLOW_S``
seconds before it is produced, as a broker or network stalling the produce would.
"""

from __future__ import annotations

import asyncio
import os

from services.pipeline import runner

_TOPIC = os.environ.get("FLYWHEEL_TEST_SLOW_TOPIC", "")
_DELAY_S = float(os.environ.get("FLYWHEEL_TEST_SLOW_S", "0"))
_init = runner.StageRunner.__init__
_run_batch = runner.StageRunner.run_batch


def _slowed_init(self, stage, ledger, send, *args, **kwargs):
    stalls = [False]  # set per batch: the batch's first record for the topic waits

    async def slow_send(topic, *rest, **kw):
        if topic == _TOPIC and stalls[0]:
            stalls[0] = False
            await asyncio.sleep(_DELAY_S)
        return await send(topic, *rest, **kw)

    _init(self, stage, ledger, slow_send, *args, **kwargs)
    self.stalls = stalls


async def _slowed_run_batch(self, msgs, process):
    self.stalls[0] = True
    return await _run_batch(self, msgs, process)


if _TOPIC:
    runner.StageRunner.__init__ = _slowed_init  # type: ignore[method-assign]
    runner.StageRunner.run_batch = _slowed_run_batch  # type: ignore[method-assign]
