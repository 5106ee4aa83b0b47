"""The names the trail keeps in a session's `info` between its flushes and its commit (trail/hooks.py)."""

TOUCHED = "trail_touched"  # the batches this transaction wrote
DECIDED = "trail_decided"  # the decisions this transaction wrote, in order
NOTES = "trail_notes"  # trail/evidence.py: what the writers of each batch wrote
HEADS_CACHED = "trail_heads_cached"  # trail/chain.py: each chain's head within this transaction
