"""A red-flag model candidate judged as the whole system would run it: ``python -m
bench.redflag_candidate --artifact X.pt --sets heldout16 calls:heldout16 vader``.

The committed patterns and policy with the given red-flag artifact in place of the shipped one
(torch int8, as ``load_classifier`` loads it), on:

* an utterance set by name (``models.datasets.CRISIS_SETS``): self-harm recall, urgent false
  alarms and soft checks on its ordinary rows (``models/evaluate_crisis.py``);
* ``calls:<name>``, a call set of ``models.evaluate_calls.CALL_SETS`` with the call context:
  risk calls caught, in time or later, and ordinary calls escalated;
* ``vader``: urgent, self-harm and soft-check flags on a fixed sample of 3,000 VADER
  sentences (everyday text, seed 16), which should raise almost nothing.

Prints aggregates only (never a row's text: the held-out sets must stay unread) and, with
``--out``, writes them as JSON. Used to judge each issue-9 round's candidates by a rule fixed
before the runs (``bench/results/redflag_round*.json``).
"""

from __future__ import annotations

import argparse
import json
import os
import random
from pathlib import Path
from typing import Any

VADER_SAMPLE = 3000
VADER_SEED = 16


def utterance_metrics(clf: Any, name: str) -> dict[str, object]:
    from models.datasets import CRISIS_SETS, load_crisis_rows
    from models.evaluate_crisis import evaluate

    rows = load_crisis_rows(CRISIS_SETS[name])
    if name == "test":
        rows = [r for r in rows if r.split == "test"]
    m = evaluate([s.red_flags for s in clf.score_batch([r.text for r in rows])], rows)
    sh = m["self_harm"]
    assert isinstance(sh, dict)
    n_neg = int(m["n_negatives"])  # type: ignore[call-overload]
    return {
        "self_harm_hits": round(float(sh["recall"]) * sh["n"]),
        "n_self_harm": sh["n"],
        "self_harm_recall": round(float(sh["recall"]), 4),
        "self_harm_prompted_rate": round(float(m["self_harm_prompted_rate"]), 4),  # type: ignore[arg-type]
        "emergency_recall": m["emergency"]["recall"],  # type: ignore[index]
        "false_alarms": round(float(m["false_alarm_rate"]) * n_neg),  # type: ignore[arg-type]
        "n_negatives": n_neg,
        "false_alarm_rate": round(float(m["false_alarm_rate"]), 4),  # type: ignore[arg-type]
        "soft_check_rate": round(float(m["soft_check_rate"]), 4),  # type: ignore[arg-type]
    }


def call_metrics(clf: Any, name: str) -> dict[str, object]:
    from models.evaluate_calls import CALL_SETS, evaluate_calls, load_calls

    m = evaluate_calls(clf, load_calls(CALL_SETS[name]), context=True)
    n_risk, n_ord = int(m["n_risk"]), int(m["n_ordinary"])  # type: ignore[call-overload]
    return {
        "caught": round(float(m["recall"]) * n_risk),  # type: ignore[arg-type]
        "n_risk": n_risk,
        "escalated": round(float(m["false_alarm_rate"]) * n_ord),  # type: ignore[arg-type]
        "n_ordinary": n_ord,
        "in_time": m["in_time"],
        "later": m["later"],
    }


def vader_metrics(clf: Any) -> dict[str, int]:
    from models.crisis import URGENT_FLAGS
    from models.datasets import load_vader_sentences

    texts = [s.text for s in load_vader_sentences()]
    sample = random.Random(VADER_SEED).sample(texts, VADER_SAMPLE)
    flags = [s.red_flags for s in clf.score_batch(sample)]
    return {
        "n": len(sample),
        "urgent": sum(bool(set(f) & set(URGENT_FLAGS)) for f in flags),
        "self_harm": sum("self_harm" in f for f in flags),
        "soft": sum("safety_check" in f and not set(f) & set(URGENT_FLAGS) for f in flags),
    }


def measure(clf: Any, name: str) -> tuple[str, object]:
    """(result key, aggregates) of one set: ``vader``, ``calls:<name>`` or an utterance set."""
    if name == "vader":
        return "vader3000", vader_metrics(clf)
    if name.startswith("calls:"):
        return f"calls_{name[6:]}", call_metrics(clf, name[6:])
    return name, utterance_metrics(clf, name)


def combine(paths: list[Path], out: Path) -> None:
    """One artifact whose nets are those of ``paths`` (probabilities averaged, the seed-ensemble
    format of ``RedFlagModel``), with the first artifact's thresholds and metadata."""
    from models.redflag import RedFlagModel

    models = [RedFlagModel.load(p) for p in paths]
    nets = [n for m in models for n in m._torch_nets()]
    meta = dict(models[0].meta, combined_from=[p.name for p in paths])
    RedFlagModel(nets, models[0].thresholds, meta).save(out)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--artifact", type=Path, default=None, help="default: the shipped model")
    ap.add_argument("--sets", nargs="+", default=[], help="names, calls:<name>, vader")
    ap.add_argument(
        "--combine", type=Path, nargs="+", default=None, help="write these nets as one artifact"
    )
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    if args.combine:
        if args.out is None:
            ap.error("--combine needs --out")
        combine(args.combine, args.out)
        return 0
    from models.classifier import load_classifier
    from models.redflag import RedFlagModel

    clf = load_classifier()
    if args.artifact is not None:
        clf.red_flag_model = RedFlagModel.load(args.artifact).quantized()
    out: dict[str, object] = {"artifact": str(args.artifact or "shipped")}
    for name in args.sets:
        key, value = measure(clf, name)
        out[key] = value
        print(name, json.dumps(value), flush=True)
    if args.out is not None:
        args.out.write_text(json.dumps(out, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
