"""Inference cost of the red-flag model per utterance: ``python -m bench.redflag_bench``.

Times, with 1 torch thread, single texts one at a time (as a live call sends them):
* ``model``: ``RedFlagModel.predict`` on the layer-``input_layer`` states (the extra cost
  on top of the frozen MiniLM pass the classifier already runs);
* ``encoder``: ``TextEncoder.token_states(texts, (input_layer,))`` for reference.
Reports p50/p95 in ms and the 1-minute load average (the machine may be shared).
"""

from __future__ import annotations

import argparse
import json
import os
import time

import numpy as np


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-n", type=int, default=200)
    ap.add_argument(
        "--write-metrics", action="store_true", help="store the result in redflag_metrics.json"
    )
    args = ap.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    import torch

    torch.set_num_threads(1)
    from models.encoder import TextEncoder
    from models.redflag import RedFlagModel
    from models.train_redflag import load_train_pool

    model = RedFlagModel.load()
    enc = TextEncoder(threads=1)
    texts = [r.text for r in load_train_pool()][::7][: args.n]
    enc_ms, model_ms = [], []
    for t in texts[:10]:  # warm-up
        model.predict([enc.token_states([t], (model.input_layer,))[0].states[0]])
    load_before = os.getloadavg()[0]
    for t in texts:
        t0 = time.perf_counter()
        s = enc.token_states([t], (model.input_layer,))[0].states[0]
        t1 = time.perf_counter()
        model.predict([s])
        t2 = time.perf_counter()
        enc_ms.append((t1 - t0) * 1e3)
        model_ms.append((t2 - t1) * 1e3)
    out = {
        "n": len(texts),
        "input_layer": model.input_layer,
        "torch_threads": torch.get_num_threads(),
        "model_ms_p50": round(float(np.percentile(model_ms, 50)), 2),
        "model_ms_p95": round(float(np.percentile(model_ms, 95)), 2),
        "encoder_ms_p50": round(float(np.percentile(enc_ms, 50)), 2),
        "encoder_ms_p95": round(float(np.percentile(enc_ms, 95)), 2),
        "loadavg_1min_before": round(load_before, 2),
        "loadavg_1min_after": round(os.getloadavg()[0], 2),
        "cpu_count": os.cpu_count(),
    }
    print(json.dumps(out, indent=1))
    if args.write_metrics:
        from models.train_redflag import METRICS

        report = json.loads(METRICS.read_text())
        report["latency"] = out
        METRICS.write_text(json.dumps(report, indent=1) + "\n")


if __name__ == "__main__":
    main()
