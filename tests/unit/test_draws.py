"""The compiled day's draws (`sim.model.draws`) are numpy's: the same numbers, and each stream ends a day where numpy's would.

The compiled day steps each decision stream's PCG64 state itself and jumps over the numbers no decision
reads. Checked here against numpy's own generators, over many seeds, sizes and random sets of numbers read.
"""

from __future__ import annotations

import numpy as np
import pytest

from sim.inputs.rng import Streams, replicate_seeds
from sim.model import draws


def _numpy_state(gen: np.random.Generator) -> tuple[int, int]:
    d = gen.bit_generator.state["state"]
    return d["state"], d["inc"]


def _words(g: np.ndarray) -> tuple[int, int]:
    return (int(g[0]) << 64) | int(g[1]), (int(g[2]) << 64) | int(g[3])


@pytest.mark.parametrize("seed", replicate_seeds(2026, 6))
def test_a_days_numbers_are_numpys_and_the_stream_ends_where_numpys_does(seed):
    rng = np.random.default_rng(seed % 1000)
    st, ref = Streams(seed), Streams(seed)  # the compiled draws take their states from one, numpy draws from the other
    g = draws.states([st])[0]
    jt = draws.jumps(1075)
    for day in range(12):
        for q, name in enumerate(draws.DECISION_STREAMS):
            size = int(rng.choice([0, 1, 2, 3, 7, 143, 1075]))
            want = ref.gen[name].random(size)
            if rng.random() < 0.5:  # every number
                got = np.full(size, -1.0)
                draws.fill(g[q], got, jt)
                assert np.array_equal(got, want), (day, name, size)
            else:  # some numbers only, the others jumped over
                idx = np.sort(rng.choice(size, int(rng.integers(0, size + 1)), replace=False)).astype(np.int64)
                got = np.full(size, -1.0)
                draws.fill_at(g[q], idx, got, size, jt)
                assert np.array_equal(got[idx], want[idx]), (day, name, size)
                assert (np.delete(got, idx) == -1.0).all()  # the others are not written
            assert _words(g[q]) == _numpy_state(ref.gen[name]), (day, name, size)


def test_a_jump_of_k_numbers_is_k_steps():
    jt = draws.jumps(300)
    for k in (0, 1, 2, 5, 64, 299, 300):
        st, ref = Streams(k), Streams(k)
        g = draws.states([st])[0]
        draws.fill_at(g[0], np.zeros(0, dtype=np.int64), np.empty(k), k, jt)  # none read: k jumped over
        ref.gen["onset"].random(k)
        assert _words(g[0]) == _numpy_state(ref.gen["onset"]), k


def test_streams_other_than_pcg64_are_refused_in_one_line():
    st = Streams(1)
    st.gen["stage"] = np.random.Generator(np.random.SFC64(1))
    with pytest.raises(ValueError, match=r"^stream stage: the compiled draws need a PCG64 generator, not SFC64$"):
        draws.states([st])
