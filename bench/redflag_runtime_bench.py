"""How the red-flag model runs per utterance: torch int8 vs onnxruntime fp32 / int8.

    python bench/redflag_runtime_bench.py   # prints; writes bench/results/redflag_runtime.json

The classifier scores one caller text at a time on one thread, so this times exactly that:
``RedFlagModel.predict([states])`` for the shipped artifact (all its nets), on the hidden
states of training-pool utterances (red flags, look-alikes, ordinary call text), after a
warm-up. Also printed: how far
each runtime's probabilities move from float32 torch, and how many decisions of the shipped
two-tier policy change on those texts. Refuses to write results while other work loads the
machine (1-minute load average above 0.5), as ``bench/e2e_bench.py`` does.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).resolve().parent / "results" / "redflag_runtime.json"


def _states(n: int) -> list[np.ndarray]:
    """Hidden states of ``n`` training-pool utterances (crisis rows and concern-set text).

    Training rows only (never the hard set's test split), shuffled with a fixed seed, so the
    decision counts cover red flags and look-alikes as well as ordinary call text.
    """
    from models.encoder import get_encoder
    from models.redflag import RedFlagModel
    from models.train_redflag import load_train_pool

    layer = RedFlagModel.load().input_layer
    pool = [r.text for r in load_train_pool()]
    texts = [pool[i] for i in np.random.default_rng(7).permutation(len(pool))[:n]]
    enc = get_encoder()
    return [ts.states[0] for ts in enc.token_states(texts, (layer,))]


def _decisions(probs: np.ndarray) -> np.ndarray:
    from models.classifier import DEFAULT_RED_FLAG_POLICY as pol
    from models.redflag import CLASSES

    sh, em = probs[:, CLASSES.index("self_harm")], probs[:, CLASSES.index("emergency")]
    urgent = (sh >= pol.urgent_self_harm) | (em >= pol.urgent_emergency)
    soft = ~urgent & (probs[:, 1:].max(axis=1) >= pol.soft)
    return urgent * 2 + soft


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=1000, help="utterances timed per runtime")
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args(argv)
    import torch

    from models.redflag import RedFlagModel

    torch.set_num_threads(1)
    load_before = os.getloadavg()[0]
    states = _states(args.n)
    base = RedFlagModel.load()
    runtimes = {
        "torch-int8": base.quantized(),
        "onnxruntime-fp32": base.on_onnxruntime(int8=False),
        "onnxruntime-int8": base.on_onnxruntime(int8=True),
    }
    ref = np.concatenate([base.predict([s]) for s in states])
    out: dict[str, object] = {
        "nets": base.n_nets,
        "utterances": len(states),
        "mean_tokens": float(np.mean([s.shape[0] for s in states])),
        "load_avg_1m_before": round(load_before, 2),
        "runtimes": {},
    }
    for name, model in runtimes.items():
        for s in states[:20]:
            model.predict([s])
        times = []
        probs = []
        for s in states:
            t0 = time.perf_counter()
            probs.append(model.predict([s]))
            times.append((time.perf_counter() - t0) * 1000)
        p = np.concatenate(probs)
        times.sort()
        row = {
            "p50_ms": round(statistics.median(times), 2),
            "p95_ms": round(times[int(0.95 * (len(times) - 1))], 2),
            "max_abs_prob_diff_vs_fp32": float(np.abs(p - ref).max()),
            "decisions_changed_vs_fp32": int((_decisions(p) != _decisions(ref)).sum()),
        }
        out["runtimes"][name] = row  # type: ignore[index]
        print(
            f"{name:18s} p50 {row['p50_ms']:6.2f} ms  p95 {row['p95_ms']:6.2f} ms  "
            f"max |dp| {row['max_abs_prob_diff_vs_fp32']:.1e}  "
            f"decisions changed {row['decisions_changed_vs_fp32']}/{len(states)}"
        )
    load_after = os.getloadavg()[0]
    out["load_avg_1m_after"] = round(load_after, 2)
    print(f"nets {base.n_nets}, load average {load_before:.2f} before, {load_after:.2f} after")
    if args.no_write:
        return 0
    if load_before > 0.5:  # the run itself then loads one core: "after" is for the record
        print("not writing: the machine was busy before the run")
        return 1
    RESULTS.write_text(json.dumps(out, indent=1) + "\n")
    print(f"wrote {RESULTS}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
