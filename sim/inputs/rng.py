"""Seeds and named random streams: one root seed in, one generator per decision process out.

Each decision process draws a full vector for every mine (or committee) every day from its own
stream, whatever the state, so a lever that changes one decision does not reshuffle the draws of
another (common random numbers across the arms of a counterfactual). The per-agent model takes its
draws in blocks of days (a block of `k` days is the same numbers as `k` single-day draws); the compiled
day steps the same generators' states itself and draws the same numbers (`sim.model.draws`).
"""

from __future__ import annotations

import numpy as np

STREAMS = ("init", "onset", "ret", "committee", "stage", "ally", "params")
"""Named streams, one per decision process (and `params`: which posterior draw a replicate uses).

The order is part of the seed contract; a stream added at the end leaves the others unchanged."""

BLOCK = 64
"""Days drawn at once per stream."""


def replicate_seeds(root: int, n: int) -> list[int]:
    """Spawn `n` replicate seeds from one root seed (recorded in every manifest).

    Args:
        root: the experiment's root seed (any non-negative integer).
        n: number of replicates.

    Returns:
        n integer seeds, each the entropy of an independent child SeedSequence.
    """
    children = np.random.SeedSequence(root).spawn(n)
    return [int(c.generate_state(1, dtype=np.uint64)[0]) for c in children]


class Streams:
    """Per-replicate named generators with blocked daily draws.

    Args:
        seed: the replicate seed (from `replicate_seeds`).
    """

    def __init__(self, seed: int) -> None:
        children = np.random.SeedSequence(seed).spawn(len(STREAMS))
        self.gen = {name: np.random.Generator(np.random.PCG64(c)) for name, c in zip(STREAMS, children, strict=True)}
        self._block: dict[str, np.ndarray] = {}
        self._start: dict[str, int] = {}

    def daily(self, name: str, day: int, size: int) -> np.ndarray:
        """Uniform draws in [0, 1) of stream `name` for day `day`; days are asked in order from 0."""
        block = day // BLOCK
        if self._start.get(name) != block:
            if self._start.get(name, -1) != block - 1:
                raise ValueError(f"stream {name}: day {day} asked out of order")
            self._block[name] = self.gen[name].random((BLOCK, size))
            self._start[name] = block
        return self._block[name][day - block * BLOCK]
