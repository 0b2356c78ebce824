"""Deciding: the curate stage and its parts.

``stage`` runs a micro-batch (``CurateStage``); ``indexes`` keeps the FAISS, MinHash and blocklist
indexes in step with their Redis logs; ``decide`` applies the greedy rule to one group;
``batch`` accumulates one micro-batch's verdicts and acceptances; ``ports`` says what the stage
needs of Redis (``services.state.curate_state`` implements it).
"""
