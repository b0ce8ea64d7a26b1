"""How the red-flag model runs per utterance: torch int8 vs onnxruntime float32 / int8.

    python bench/redflag_runtime_bench.py   # prints; writes bench/results/redflag_runtime.{json,md}

The classifier scores one caller text at a time on one thread, so this times exactly that:
``RedFlagModel.predict([states])`` for the shipped artifact (all its nets), after a warm-up.
Texts: a seeded sample of the red-flag training pool (red flags, look-alikes, ordinary call
text) and the concern set's test split (call text the red-flag model never trained on);
never the hard set's test split. Also reported: how far each runtime's probabilities move
from float32 torch, and on how many texts the flags raised by the shipped two-tier rule
(``CareClassifier._apply_red_flag_model``) differ from float32's. Refuses to write results
while other work loads the machine (1-minute load average above 0.5 before the run).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np

RESULTS = Path(__file__).resolve().parent / "results" / "redflag_runtime"


def _texts(n: int) -> dict[str, list[str]]:
    from models.datasets import load_concerns
    from models.train_redflag import load_train_pool

    pool = [r.text for r in load_train_pool()]
    sample = [pool[i] for i in np.random.default_rng(7).permutation(len(pool))[:n]]
    unseen = [r.text for r in load_concerns() if r.split == "test"]
    return {"training pool": sample, "concern set, test split": unseen}


def _each(model: object, states: list[np.ndarray]) -> np.ndarray:
    """Probabilities text by text, as the classifier asks for them."""
    return np.concatenate([model.predict([s]) for s in states])  # type: ignore[attr-defined]


def _flags(probs: np.ndarray) -> list[frozenset[str]]:
    from models.classifier import DEFAULT_RED_FLAG_POLICY, CareClassifier

    holder = SimpleNamespace(red_flag_policy=DEFAULT_RED_FLAG_POLICY)
    out = []
    for row in probs:
        raised: set[str] = set()
        CareClassifier._apply_red_flag_model(holder, row, raised)  # type: ignore[arg-type]
        out.append(frozenset(raised))
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=1000, help="training-pool utterances")
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args(argv)
    import torch

    from models.encoder import get_encoder
    from models.redflag import RedFlagModel

    torch.set_num_threads(1)
    load_before = os.getloadavg()[0]
    base = RedFlagModel.load()
    enc = get_encoder()
    sets = {
        name: [ts.states[0] for ts in enc.token_states(texts, (base.input_layer,))]
        for name, texts in _texts(args.n).items()
    }
    ref = {name: _each(base, states) for name, states in sets.items()}
    builders = {
        "torch-int8": base.quantized,
        "onnxruntime-fp32": lambda: base.on_onnxruntime(int8=False),
        "onnxruntime-int8": lambda: base.on_onnxruntime(int8=True),
    }
    runtimes: dict[str, RedFlagModel] = {}
    build_s: dict[str, float] = {}
    for name, build in builders.items():
        t0 = time.perf_counter()
        runtimes[name] = build()
        build_s[name] = time.perf_counter() - t0
    out: dict[str, object] = {
        "nets": base.n_nets,
        "texts": {name: len(states) for name, states in sets.items()},
        "load_avg_1m_before": round(load_before, 2),
        "runtimes": {},
    }
    timed = [s for states in sets.values() for s in states]
    for name, model in runtimes.items():
        for s in timed[:20]:
            model.predict([s])
        times = []
        for s in timed:
            t0 = time.perf_counter()
            model.predict([s])
            times.append((time.perf_counter() - t0) * 1000)
        times.sort()
        row: dict[str, object] = {
            "build_s": round(build_s[name], 2),
            "p50_ms": round(statistics.median(times), 2),
            "p95_ms": round(times[int(0.95 * (len(times) - 1))], 2),
        }
        for set_name, states in sets.items():
            p = _each(model, states)
            changed = sum(a != b for a, b in zip(_flags(p), _flags(ref[set_name]), strict=True))
            row[set_name] = {
                "max_abs_prob_diff_vs_fp32": float(np.abs(p - ref[set_name]).max()),
                "flags_changed_vs_fp32": int(changed),
            }
        out["runtimes"][name] = row  # type: ignore[index]
    load_after = os.getloadavg()[0]
    out["load_avg_1m_after"] = round(load_after, 2)
    md = markdown(out)
    print(md)
    if args.no_write:
        return 0
    if load_before > 0.5:  # the run itself then loads one core: "after" is for the record
        print("not writing: the machine was busy before the run")
        return 1
    RESULTS.with_suffix(".json").write_text(json.dumps(out, indent=1) + "\n")
    RESULTS.with_suffix(".md").write_text(md + "\n")
    print(f"wrote {RESULTS}.json and .md")
    return 0


def markdown(out: dict) -> str:
    sets = list(out["texts"])
    lines = [
        "# Red-flag model: runtime per utterance (`bench/redflag_runtime_bench.py`)",
        "",
        f"{out['nets']} nets, one text per call, 1 thread; texts: "
        + ", ".join(f"{name} {n}" for name, n in out["texts"].items())
        + f". 1-minute load average {out['load_avg_1m_before']} before,"
        f" {out['load_avg_1m_after']} after (the run itself loads one core).",
        "",
        "| runtime | build at load | p50 | p95 | "
        + " | ".join(f"flags changed vs float32 ({s})" for s in sets)
        + " |",
        "|---|---:|---:|---:|" + "---:|" * len(sets),
    ]
    for name, row in out["runtimes"].items():
        changed = " | ".join(
            f"{row[s]['flags_changed_vs_fp32']}/{out['texts'][s]}"
            f" (max dp {row[s]['max_abs_prob_diff_vs_fp32']:.2f})"
            for s in sets
        )
        lines.append(
            f"| {name} | {row['build_s']:.1f} s | {row['p50_ms']:.2f} ms | {row['p95_ms']:.2f} ms"
            f" | {changed} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
