"""The decision streams drawn inside the compiled day: numpy's PCG64, stepped where a decision reads its number.

Each decision stream of a replicate (`sim.inputs.rng.STREAMS`) is a numpy `Generator` on a PCG64 bit
generator, and its draws of day d are the numbers d * size to (d + 1) * size - 1 of `Generator.random()`
(size: enterprises or committees). The compiled day (`sim.model.kernel`) holds each stream's 128-bit state
(`states`) and draws each day's numbers itself (`fill`), with numpy's arithmetic (PCG64's 128-bit linear
congruential step, its XSL-RR output, the 53 high bits as a double), so every number is the one numpy's
generator gives (tests/unit/test_draws.py). The return stream is drawn only for the strikers (`fill_at`):
the numbers of enterprises at work, which no decision reads, are jumped over (k steps of the generator are
one multiplication and one addition, `jumps`), so the stream still ends every day where numpy's would.
"""

from __future__ import annotations

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.extending import intrinsic

from sim.inputs.rng import STREAMS

DECISION_STREAMS = ("onset", "ret", "committee", "stage", "ally")
"""The streams the compiled day draws, in the order of the rows of `states` (a subset of `STREAMS`, in its order)."""
assert all(s in STREAMS for s in DECISION_STREAMS)

_MULT = 0x2360ED051FC65DA44385DF649FCCF645
"""PCG64's 128-bit multiplier (numpy's PCG_DEFAULT_MULTIPLIER_128)."""
_M64 = (1 << 64) - 1
_MH, _ML = np.uint64(_MULT >> 64), np.uint64(_MULT & _M64)
_JUMPS: dict[int, np.ndarray] = {}


def states(streams: list) -> np.ndarray:
    """(R, 5, 4) uint64: each replicate's `DECISION_STREAMS` as (state high, state low, increment high, increment low).

    Read from the streams' generators (`sim.inputs.rng.Streams`) before any of their numbers is drawn;
    the compiled day then owns them (the generators themselves are not advanced).
    """
    out = np.empty((len(streams), len(DECISION_STREAMS), 4), dtype=np.uint64)
    for r, st in enumerate(streams):
        for q, name in enumerate(DECISION_STREAMS):
            bg = st.gen[name].bit_generator
            if type(bg).__name__ != "PCG64":
                raise ValueError(f"stream {name}: the compiled draws need a PCG64 generator, not {type(bg).__name__}")
            d = bg.state["state"]
            s, inc = d["state"], d["inc"]
            out[r, q] = (s >> 64, s & _M64, inc >> 64, inc & _M64)
    return out


def jumps(size: int) -> np.ndarray:
    """(size + 1, 4) uint64: for k = 0..size, A^k and 1 + A + ... + A^(k-1) mod 2^128 (high, low words; A the multiplier).

    k steps of the generator take state s to A^k s + inc (1 + A + ... + A^(k-1)) (mod 2^128).
    """
    if size not in _JUMPS:
        out = np.empty((size + 1, 4), dtype=np.uint64)
        a, c = 1, 0
        for k in range(size + 1):
            out[k] = (a >> 64, a & _M64, c >> 64, c & _M64)
            a, c = (a * _MULT) & ((1 << 128) - 1), (c * _MULT + 1) & ((1 << 128) - 1)
        out.flags.writeable = False
        _JUMPS[size] = out
    return _JUMPS[size]


@intrinsic
def _affine(typingctx, sh, sl, ah, al, ch, cl):
    """(s * a + c) mod 2^128, each as (high, low) uint64 words: LLVM's 128-bit integers, so the machine's own multiplications."""
    sig = types.UniTuple(types.uint64, 2)(types.uint64, types.uint64, types.uint64, types.uint64, types.uint64, types.uint64)

    def codegen(context, builder, signature, args):
        wide, word = ir.IntType(128), ir.IntType(64)

        def join(hi, lo):
            return builder.or_(builder.shl(builder.zext(hi, wide), ir.Constant(wide, 64)), builder.zext(lo, wide))

        x = builder.add(builder.mul(join(args[0], args[1]), join(args[2], args[3])), join(args[4], args[5]))
        hi = builder.trunc(builder.lshr(x, ir.Constant(wide, 64)), word)
        return context.make_tuple(builder, signature.return_type, [hi, builder.trunc(x, word)])

    return sig, codegen


@njit(cache=True, nogil=True, inline="always")
def _next(sh, sl, ih, il):  # pragma: no cover (compiled)
    """One step of PCG64 from state (sh, sl) with increment (ih, il): the new state and its number, as numpy's `random()`."""
    sh, sl = _affine(sh, sl, _MH, _ML, ih, il)
    v = sh ^ sl  # XSL-RR: the two halves xor-ed, rotated right by the state's 6 top bits
    rot = sh >> np.uint64(58)
    out = (v >> rot) | (v << ((np.uint64(64) - rot) & np.uint64(63)))
    return sh, sl, np.float64(np.int64(out >> np.uint64(11))) * (1.0 / 9007199254740992.0)  # the 53 high bits / 2^53 (exact)


@njit(cache=True, nogil=True, inline="always")
def _jump(sh, sl, ih, il, ah, al, ph, pl):  # pragma: no cover (compiled)
    """Steps k at once from state (sh, sl) with increment (ih, il): A^k s + inc * (1 + ... + A^(k-1)), given A^k (ah, al) and the sum (ph, pl)."""
    ch, cl = _affine(ph, pl, ih, il, np.uint64(0), np.uint64(0))
    return _affine(sh, sl, ah, al, ch, cl)


@njit(cache=True, nogil=True)
def fill(g, out, jt):  # pragma: no cover (compiled)
    """out[:] = the next out.size numbers of the stream whose 4 words are g; g moves past them.

    Two runs of the generator side by side (the second jumped to the middle), whose steps the core
    overlaps: the same numbers in the same places as one run.
    """
    size = out.size
    half = size // 2
    sh, sl, ih, il = g[0], g[1], g[2], g[3]
    th, tl = _jump(sh, sl, ih, il, jt[half, 0], jt[half, 1], jt[half, 2], jt[half, 3])
    for i in range(half):
        sh, sl, out[i] = _next(sh, sl, ih, il)
        th, tl, out[half + i] = _next(th, tl, ih, il)
    if size > 2 * half:
        th, tl, out[size - 1] = _next(th, tl, ih, il)
    g[0], g[1] = th, tl


@njit(cache=True, nogil=True)
def fill_at(g, idx, out, size, jt):  # pragma: no cover (compiled)
    """out[i] = number i of the next `size` numbers of the stream whose 4 words are g, for each i of idx (ascending); g moves past all `size`.

    The numbers not asked for are jumped over (`jumps`: one multiplication and one addition, whatever
    their count); `out` elsewhere is left as it was.
    """
    sh, sl, ih, il = g[0], g[1], g[2], g[3]
    pos = 0
    for i in idx:
        k = i - pos
        if k > 0:
            sh, sl = _jump(sh, sl, ih, il, jt[k, 0], jt[k, 1], jt[k, 2], jt[k, 3])
        sh, sl, out[i] = _next(sh, sl, ih, il)
        pos = i + 1
    k = size - pos
    if k > 0:
        sh, sl = _jump(sh, sl, ih, il, jt[k, 0], jt[k, 1], jt[k, 2], jt[k, 3])
    g[0], g[1] = sh, sl
