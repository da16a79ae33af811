"""Experiment: how often backprop's parameter gradient depends on ``relu'(0)`` (docs/kinks.md).

Protocol
--------
What is measured. A small MLP (default 64-32-32-10: two ReLU hidden layers with biases, softmax
cross-entropy, PyTorch's default uniform initialisation from ``seed``) is trained by minibatch SGD in
float32 (``relu'(0) = 0``, learning rate 0.1) on scikit-learn's ``digits`` (1797 images 8 x 8, pixel
values the integers 0..16, scaled by 1/16, which is exact in every float format; a seeded 80 % / 20 %
train/test split; the data ship with scikit-learn, nothing is downloaded). At each of ``steps``
training steps (default 200; batch ``batch`` = 128, shuffled epochs, the last partial batch dropped)
and for each dtype in float16, float32, float64, the current float32 weights and the minibatch are
cast to that dtype (exact: casting up adds nothing; casting float32 weights down to float16 rounds
them, and the float16 numbers are then *the* data of that dtype) and the training-loss gradient with
respect to every parameter is computed by backprop twice, with ``relu'(0) = 0`` and ``= 1``
(docs/theory.md section 1.7), forward and backward in that dtype. Recorded per (step, dtype):

- ``differs``: the two gradients differ (some entry differs, exactly as floats);
- ``float_zero``: some hidden pre-activation is exactly 0.0 in that dtype's forward pass;
- ``exact_kink``: some hidden pre-activation is exactly 0 in rational arithmetic, computed from the
  same numbers (the weights and inputs of that dtype, read as the dyadic rationals they are);
- ``rounding_kink``: some unit is 0.0 in float but not exactly 0 (rounding created the kink);
- ``missed_kink``: some unit is exactly 0 but not 0.0 in float (rounding hid the kink);
- the numbers of such units.

How the exact zeros are found, completely and cheaply. For every step and dtype the hidden
pre-activations are recomputed in float64 from that dtype's numbers with a rigorous error bound
(:func:`screen`): ``|fl(w.h + b) - (w.h + b)| <= gamma_{n+1} (|w|.|h~| + |b|) + |w|.e``, where
``gamma_m = m u / (1 - m u)``, ``u = 2^-53`` (valid for every summation order, with or without FMA),
``e`` the bound on the previous layer (``relu`` is 1-Lipschitz) plus a tiny absolute term for
underflow. A unit with ``|z~| > bound`` has a nonzero exact value; only the samples holding a unit
with ``|z~| <= bound`` are evaluated exactly (:func:`exact_preactivations`: Python integers after
scaling every array by a power of two, object arrays). On ``audit`` random steps (default 5) the
whole minibatch is also evaluated exactly in every dtype and compared with the screen (the
``audit_mismatches`` count must be 0).

Float arithmetic. Elementwise operations run in the dtype. Matrix products run in the dtype for
float32 and float64 (BLAS); for float16 they accumulate in float32 and round each result to float16,
which is what numpy's own float16 ``matmul`` does and what mixed-precision hardware does (products of
two float16 numbers are exact in float32).

How often: once per invocation; counts come with 95 % Wilson score intervals (:func:`wilson`). Each
invocation gets a fresh ``run_id``; rows (one per dtype) go to the results store (``kinks_runs``).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Iterable, Sequence

import numpy as np

from nsad.experiments.stats import Z95, wilson  # noqa: F401  (re-exported: kinks.wilson)

DTYPES = ("float16", "float32", "float64")
DATASET = "sklearn digits"

#: the per-dtype counts (steps with the property), in table order
COUNTS = ("differs", "float_zero", "exact_kink", "differs_exact", "differs_no_float_zero",
          "float_zero_no_differs", "rounding_kink", "missed_kink")


# ---- statistics: the Wilson interval lives in experiments/stats.py ---------------------------

# ---- data and model -----------------------------------------------------------------------------

def load_data(seed: int = 0):
    """Digits scaled by 1/16 (float32, exact), labels, split 80/20 with ``seed``.

    >>> Xtr, ytr, Xte, yte = load_data()
    >>> Xtr.shape, Xte.shape, Xtr.dtype, bool(np.all(Xtr * 16 == np.round(Xtr * 16)))
    ((1438, 64), (359, 64), dtype('float32'), True)
    """
    from sklearn.datasets import load_digits

    d = load_digits()
    X = (d.data / 16.0).astype(np.float32)
    y = d.target.astype(np.int64)
    perm = np.random.default_rng([seed, 1]).permutation(len(y))
    cut = int(round(0.8 * len(y)))
    tr, te = perm[:cut], perm[cut:]
    return X[tr], y[tr], X[te], y[te]


def init_params(sizes: Sequence[int], seed: int = 0) -> list[np.ndarray]:
    """PyTorch's default ``nn.Linear`` init (uniform in +-1/sqrt(fan_in)), float32: [W1, b1, W2, ...].

    >>> [p.shape for p in init_params([64, 32, 10])]
    [(32, 64), (32,), (10, 32), (10,)]
    """
    rng = np.random.default_rng([seed, 2])
    params = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
        bound = 1.0 / math.sqrt(fan_in)
        params.append(rng.uniform(-bound, bound, (fan_out, fan_in)).astype(np.float32))
        params.append(rng.uniform(-bound, bound, fan_out).astype(np.float32))
    return params


def _matmul(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    if A.dtype == np.float16:  # float32 accumulation, one rounding per result (numpy's float16 matmul)
        return (A.astype(np.float32) @ B.astype(np.float32)).astype(np.float16)
    return A @ B


def forward(params: Sequence[np.ndarray], X: np.ndarray):
    """Float forward pass in ``X``'s dtype: (hidden pre-activations, hidden activations, logits)."""
    zs, hs = [], [X]
    h = X
    n_layers = len(params) // 2
    for k in range(n_layers - 1):
        z = _matmul(h, params[2 * k].T) + params[2 * k + 1]
        h = np.maximum(z, 0).astype(z.dtype)
        zs.append(z)
        hs.append(h)
    logits = _matmul(h, params[-2].T) + params[-1]
    return zs, hs, logits


def loss_and_grads(params: Sequence[np.ndarray], X: np.ndarray, y: np.ndarray, slopes=(0, 1)):
    """Mean softmax cross-entropy and its backprop gradient for each ``relu'(0)`` in ``slopes``.

    Everything in ``X``'s dtype (cast ``params`` first). Returns ``(loss, zs, {s: [grads]})``.

    >>> import numpy as np
    >>> W1 = np.array([[1.0, -1.0]]); b1 = np.array([0.0]); W2 = np.array([[1.0], [-1.0]]); b2 = np.zeros(2)
    >>> X = np.array([[1.0, 1.0]]); y = np.array([0])  # the hidden unit is exactly at its kink
    >>> _, zs, g = loss_and_grads([W1, b1, W2, b2], X, y)
    >>> zs[0].tolist(), g[0][0].tolist(), g[1][0].tolist()
    ([[0.0]], [[0.0, 0.0]], [[-1.0, -1.0]])
    """
    dt = X.dtype
    B = X.shape[0]
    zs, hs, logits = forward(params, X)
    m = logits.max(axis=1, keepdims=True)
    e = np.exp(logits - m)
    ssum = e.sum(axis=1, keepdims=True)
    p = e / ssum
    loss = float(np.mean(np.log(ssum[:, 0]) + m[:, 0] - logits[np.arange(B), y]))
    g_logits = p.copy()
    g_logits[np.arange(B), y] -= 1
    g_logits = (g_logits / dt.type(B)).astype(dt)
    out = {}
    n_layers = len(params) // 2
    for s in slopes:
        grads = [None] * len(params)
        g = g_logits
        for k in range(n_layers - 1, -1, -1):
            grads[2 * k] = _matmul(g.T, hs[k])
            grads[2 * k + 1] = g.sum(axis=0).astype(dt)
            if k == 0:
                break
            gh = _matmul(g, params[2 * k])
            z = zs[k - 1]
            d = np.where(z > 0, dt.type(1), np.where(z == 0, dt.type(s), dt.type(0))).astype(dt)
            g = (gh * d).astype(dt)
        out[s] = grads
    return loss, zs, out


def grads_differ(g0: Sequence[np.ndarray], g1: Sequence[np.ndarray]) -> bool:
    """Whether two gradients (lists of arrays) differ in some entry, exactly as floats.

    >>> a = [np.array([1.0, 2.0])]
    >>> grads_differ(a, [np.array([1.0, 2.0])]), grads_differ(a, [np.array([1.0, np.nextafter(2.0, 3.0)])])
    (False, True)
    """
    return any(not np.array_equal(a, b) for a, b in zip(g0, g1))


# ---- exact arithmetic ---------------------------------------------------------------------------

def to_scaled_ints(A: np.ndarray) -> tuple[np.ndarray, int]:
    """``A`` (finite floats) as ``(I, K)``: an object array of Python ints with ``A == I / 2**K`` exactly.

    >>> I, K = to_scaled_ints(np.array([0.5, -3.0, 0.375], dtype=np.float16))
    >>> I.tolist(), K
    ([4, -24, 3], 3)
    """
    flat = np.asarray(A).ravel()
    ratios = [float(v).as_integer_ratio() for v in flat]
    K = max((d.bit_length() - 1 for _, d in ratios), default=0)
    ints = np.empty(len(ratios), dtype=object)
    for i, (nu, de) in enumerate(ratios):
        ints[i] = nu << (K - (de.bit_length() - 1))
    return ints.reshape(np.shape(A)), K


def exact_preactivations(params: Sequence[np.ndarray], X: np.ndarray) -> list[np.ndarray]:
    """Hidden pre-activations of the rational network at the float data, as object arrays of ints.

    Each returned array is the exact pre-activation matrix times a positive power of two, so its
    zeros and signs are exact.

    >>> W1 = np.array([[0.1, 0.2]], dtype=np.float32); b1 = np.array([0.0], dtype=np.float32)
    >>> X = np.array([[3.0, 0.0]], dtype=np.float32)
    >>> z = exact_preactivations([W1, b1, np.ones((1, 1), np.float32), np.zeros(1, np.float32)], X)
    >>> Fraction(int(z[0][0, 0]), 1) == 3 * Fraction(float(np.float32(0.1))) * 2 ** 27  # 0.1f = m / 2**27
    True
    """
    H, Kh = to_scaled_ints(X)
    out = []
    n_layers = len(params) // 2
    for k in range(n_layers - 1):
        W, Kw = to_scaled_ints(params[2 * k])
        b, Kb = to_scaled_ints(params[2 * k + 1])
        S = max(Kh + Kw, Kb)
        Z = (H @ W.T) * (1 << (S - Kh - Kw)) + b[None, :] * (1 << (S - Kb))
        out.append(Z)
        H = np.where(Z > 0, Z, 0).astype(object)
        Kh = S
    return out


def screen(params: Sequence[np.ndarray], X: np.ndarray) -> list[np.ndarray]:
    """Masks of the hidden units whose exact pre-activation *may* be 0 (rigorous float64 bound).

    A unit outside the mask has a nonzero exact pre-activation (protocol). ``params`` and ``X`` are
    the numbers of one dtype; the computation is in float64 whatever it is.
    """
    u = 2.0 ** -53
    tiny = 2.0 ** -1000  # absolute slack for underflow (subnormal products and sums)
    h = X.astype(np.float64)
    e = np.zeros_like(h)
    masks = []
    n_layers = len(params) // 2
    for k in range(n_layers - 1):
        W = params[2 * k].astype(np.float64)
        b = params[2 * k + 1].astype(np.float64)
        n = W.shape[1] + 1
        gamma = n * u / (1 - n * u)
        z = h @ W.T + b
        absW = np.abs(W)
        mag = np.abs(h) @ absW.T + np.abs(b)
        err = gamma * mag + e @ absW.T
        err = err * (1 + 4 * n * u) + n * tiny  # cover the rounding of the bound itself
        masks.append(np.abs(z) <= err)
        h = np.maximum(z, 0.0)
        e = err
    return masks


def exact_zero_masks(params, X, *, full: bool = False) -> list[np.ndarray]:
    """Boolean masks of the hidden units whose exact pre-activation is 0 (screened unless ``full``).

    Only the samples the screen (:func:`screen`) cannot settle are evaluated exactly; ``full``
    evaluates every sample.

    >>> W1 = np.array([[1.0, -1.0], [1.0, 1.0]]); b1 = np.zeros(2)
    >>> P = [W1, b1, np.ones((1, 2)), np.zeros(1)]
    >>> [m.tolist() for m in exact_zero_masks(P, np.array([[0.5, 0.5], [1.0, 0.0]]))]
    [[[True, False], [False, False]]]
    """
    return _exact_zero(params, X, full)[0]


def _exact_zero(params, X, full):
    B = X.shape[0]
    if full:
        rows = np.arange(B)
    else:
        cand = screen(params, X)
        rows = np.flatnonzero(np.any(np.concatenate(cand, axis=1), axis=1)) if cand else np.arange(0)
    masks = [np.zeros((B, params[2 * k].shape[0]), dtype=bool) for k in range(len(params) // 2 - 1)]
    if len(rows):
        for m, Z in zip(masks, exact_preactivations(params, X[rows])):
            m[rows] = (Z == 0).astype(bool)
    return masks, len(rows)


# ---- the experiment -----------------------------------------------------------------------------

@dataclass
class DtypeTally:
    """Per-dtype counts over the measured steps."""

    dtype: str
    steps: int = 0
    counts: dict = field(default_factory=lambda: {c: 0 for c in COUNTS})
    float_zero_units: int = 0
    exact_zero_units: int = 0
    units_seen: int = 0
    exact_rows: int = 0  # samples evaluated exactly after the screen
    audited: int = 0
    audit_mismatches: int = 0
    by_layer_float: list = field(default_factory=list)
    by_layer_exact: list = field(default_factory=list)

    def add(self, rec: dict) -> None:
        self.steps += 1
        for c in COUNTS:
            self.counts[c] += int(rec[c])
        self.float_zero_units += rec["float_zero_units"]
        self.exact_zero_units += rec["exact_zero_units"]
        self.units_seen += rec["units"]
        self.exact_rows += rec["exact_rows"]
        for name in ("by_layer_float", "by_layer_exact"):
            acc = getattr(self, name)
            if not acc:
                acc.extend([0] * len(rec[name]))
            for i, v in enumerate(rec[name]):
                acc[i] += v

    def row(self) -> dict:
        r = {"dtype": self.dtype, "steps": self.steps}
        for c in COUNTS:
            k = self.counts[c]
            n = self.counts["differs"] if c == "differs_exact" else self.steps
            lo, hi = wilson(k, n)
            r[c] = k
            r[f"{c}_lo"], r[f"{c}_hi"] = lo, hi
        r.update(float_zero_units=self.float_zero_units, exact_zero_units=self.exact_zero_units,
                 units_per_step=self.units_seen // max(1, self.steps), exact_rows=self.exact_rows,
                 audited=self.audited, audit_mismatches=self.audit_mismatches,
                 float_zero_units_by_layer=list(self.by_layer_float),
                 exact_zero_units_by_layer=list(self.by_layer_exact))
        return r


def measure_step(params32, Xb, yb, dtype: str, *, audit: bool = False) -> tuple[dict, float, list]:
    """One (step, dtype) record (see the protocol), the loss, and the ``relu'(0) = 0`` gradient."""
    dt = np.dtype(dtype)
    P = [p.astype(dt) for p in params32]
    X = Xb.astype(dt)
    loss, zs, g = loss_and_grads(P, X, yb)
    fz = [z == 0 for z in zs]
    ez, exact_rows = _exact_zero(P, X, False)
    rec = {"differs": grads_differ(g[0], g[1]),
           "float_zero": any(m.any() for m in fz),
           "exact_kink": any(m.any() for m in ez),
           "rounding_kink": any((f & ~e).any() for f, e in zip(fz, ez)),
           "missed_kink": any((e & ~f).any() for f, e in zip(fz, ez)),
           "float_zero_units": int(sum(m.sum() for m in fz)),
           "exact_zero_units": int(sum(m.sum() for m in ez)),
           "by_layer_float": [int(m.sum()) for m in fz],
           "by_layer_exact": [int(m.sum()) for m in ez],
           "units": int(sum(m.size for m in fz)),
           "exact_rows": int(exact_rows)}
    rec["differs_exact"] = rec["differs"] and rec["exact_kink"]
    rec["differs_no_float_zero"] = rec["differs"] and not rec["float_zero"]
    rec["float_zero_no_differs"] = rec["float_zero"] and not rec["differs"]
    if audit:
        full = exact_zero_masks(P, X, full=True)
        rec["audit_mismatch"] = any(not np.array_equal(a, b) for a, b in zip(full, ez))
    return rec, loss, g[0]


def run(*, steps: int = 200, batch: int = 128, seed: int = 0, dtypes: Iterable[str] = DTYPES,
        hidden: Sequence[int] = (32, 32), lr: float = 0.1, audit: int = 5, progress=None) -> dict:
    """Train and measure (see the protocol). Returns ``{"rows": [per-dtype row], "train": {...}}``.

    >>> out = run(steps=3, batch=16, audit=1)
    >>> [(r["dtype"], r["steps"], r["audited"], r["audit_mismatches"]) for r in out["rows"]]
    [('float16', 3, 1, 0), ('float32', 3, 1, 0), ('float64', 3, 1, 0)]
    >>> out["rows"][2]["differs"], out["rows"][2]["differs_no_float_zero"]
    (0, 0)
    """
    dtypes = list(dtypes)
    for d in dtypes:
        if d not in DTYPES:
            raise ValueError(f"unknown dtype {d!r} (choose from {', '.join(DTYPES)})")
    t0 = time.perf_counter()
    Xtr, ytr, Xte, yte = load_data(seed)
    if batch > len(ytr):
        raise ValueError(f"batch {batch} exceeds the {len(ytr)} training images")
    sizes = [Xtr.shape[1], *hidden, 10]
    params = init_params(sizes, seed)
    rng = np.random.default_rng([seed, 3])
    audit_steps = set(rng.choice(steps, size=min(audit, steps), replace=False).tolist())
    tallies = {d: DtypeTally(d) for d in dtypes}
    order, pos, losses = rng.permutation(len(ytr)), 0, []
    for step in range(steps):
        if pos + batch > len(ytr):
            order, pos = rng.permutation(len(ytr)), 0
        idx = order[pos:pos + batch]
        pos += batch
        Xb, yb = Xtr[idx], ytr[idx]
        g32 = None
        for d in dtypes:
            rec, loss, g = measure_step(params, Xb, yb, d, audit=step in audit_steps)
            tallies[d].add(rec)
            if "audit_mismatch" in rec:
                tallies[d].audited += 1
                tallies[d].audit_mismatches += int(rec["audit_mismatch"])
            if d == "float32":
                g32, loss32 = g, loss
        if g32 is None:
            loss32, _, gg = loss_and_grads(params, Xb, yb, slopes=(0,))
            g32 = gg[0]
        losses.append(loss32)
        params = [(p - np.float32(lr) * gp).astype(np.float32) for p, gp in zip(params, g32)]
        if progress is not None:
            progress.update("kinks")
    _, _, logits = forward(params, Xte)
    acc = float(np.mean(np.argmax(logits, axis=1) == yte))
    seconds = time.perf_counter() - t0
    common = {"dataset": DATASET, "layers": "-".join(map(str, sizes)), "batch": batch, "seed": seed,
              "lr": lr, "test_accuracy": acc, "t_seconds": seconds}
    rows = [{**common, **tallies[d].row()} for d in dtypes]
    return {"rows": rows, "train": {"first_loss": losses[0] if losses else None,
                                    "last_loss": losses[-1] if losses else None,
                                    "test_accuracy": acc, "seconds": seconds}}


TABLE_COLUMNS = (("differs", "grad changes"), ("float_zero", "float zero"), ("exact_kink", "exact kink"),
                 ("differs_exact", "changes & exact"), ("rounding_kink", "float0 not exact"),
                 ("missed_kink", "exact not float0"))


def format_table(rows: list[dict]) -> str:
    """A plain-text table: counts ``k/n`` and 95 % Wilson intervals in percent.

    >>> print(format_table([{"dtype": "float64", "steps": 10, **{c: 0 for c in COUNTS},
    ...                      **{f"{c}_lo": 0.0 for c in COUNTS}, **{f"{c}_hi": 0.2775 for c in COUNTS}}]))
    ... # doctest: +ELLIPSIS
    dtype   | steps | grad changes ...
    float64 |    10 | 0/10 [0, 28]% ...
    """
    head = ["dtype  ", "steps"] + [name for _, name in TABLE_COLUMNS]
    lines = [" | ".join(head)]
    for r in rows:
        cells = [f"{r['dtype']:7}", f"{r['steps']:5d}"]
        for key, name in TABLE_COLUMNS:
            n = r["differs"] if key == "differs_exact" else r["steps"]
            cell = f"{r[key]}/{n} [{100 * r[key + '_lo']:.0f}, {100 * r[key + '_hi']:.0f}]%"
            cells.append(f"{cell:>{len(name)}}")
        lines.append(" | ".join(cells))
    return "\n".join(lines)


KEYS = (("differs", "gradient changes with relu'(0)"), ("float_zero", "float sees a zero"),
        ("exact_kink", "exact kink"), ("rounding_kink", "float zero, not exact"))


def bars(rows: list[dict]) -> list[dict]:
    """The plotted data: per count of :data:`KEYS` and per dtype, the fraction of steps, its 95 %
    Wilson interval and the number of steps behind it.

    >>> b = bars([{"dtype": "float16", "steps": 10, **{f"{k}{e}": v for k, _ in KEYS
    ...            for e, v in (("", 3), ("_lo", 0.1), ("_hi", 0.6))}}])
    >>> b[0]["label"], b[0]["y"], b[0]["steps"]
    ("gradient changes with relu'(0)", [0.3], [10])
    """
    out = []
    for key, label in KEYS:
        steps = [int(r["steps"]) for r in rows]
        out.append({"key": key, "label": label, "dtypes": [r["dtype"] for r in rows],
                    "y": [r[key] / max(1, n) for r, n in zip(rows, steps)],
                    "lo": [r[key + "_lo"] for r in rows], "hi": [r[key + "_hi"] for r in rows], "steps": steps})
    return out


def figure(rows: list[dict]):
    """The bar chart of one ``nsad kinks`` run (see :func:`bars`); not saved."""
    from nsad.experiments.plotting import legend, new_figure

    data = bars(rows)
    fig, (ax,) = new_figure(8.0, 4.6)
    width = 0.8 / len(data)
    xs = np.arange(len(rows))
    for i, b in enumerate(data):
        p, lo, hi = np.array(b["y"]), np.array(b["lo"]), np.array(b["hi"])
        ax.bar(xs + (i - (len(data) - 1) / 2) * width, p, width, label=b["label"],
               yerr=np.vstack([np.maximum(p - lo, 0), np.maximum(hi - p, 0)]), capsize=3)
    ax.set_xticks(xs)
    ax.set_xticklabels([f"{r['dtype']}\n({r['steps']} steps)" for r in rows])
    ax.set_ylim(0, 1.05)
    ax.set_xlabel("float format of backprop (number of minibatch steps)")
    ax.set_ylabel("fraction of minibatch steps (95% Wilson CI)")
    r0 = rows[0] if rows else {}
    ax.set_title(f"nsad kinks: relu'(0) = 0 vs 1, MLP {r0.get('layers', '')} on {DATASET}, "
                 f"{r0.get('steps', 0)} steps of batch {r0.get('batch', 0)}", fontsize=10)
    ax.grid(True, axis="y", lw=0.3)
    legend(ax, below=0.22)
    return fig


def plot(rows: list[dict], path: str) -> list[str]:
    """Bar chart: fraction of steps per dtype for each count, with 95 % Wilson error bars.

    >>> import tempfile, os
    >>> rows = run(steps=2, batch=8, audit=0)["rows"]
    >>> [os.path.basename(f) for f in plot(rows, os.path.join(tempfile.mkdtemp(), "k.png"))]
    ['k.png', 'k.svg']
    """
    from nsad.experiments.plotting import save_figure

    return save_figure(figure(rows), path)
