"""Classifier benchmark: quality on the held-out splits, latency per window, peak memory.

    python bench/classifier_bench.py            # writes bench/results/classifier.{json,md}

* Distress: the shipped classifier (fine-tuned distress model, crisis floor) on the VADER
  held-out split
  (``models.datasets.labelled_vader``), against two baselines on the *same* sentences:
  VADER's compound score (distressed when compound <= -0.05, VADER's own convention) and
  the AFINN word lexicon (distressed when the summed word score is below 0), and the
  earlier frozen-feature logistic head (``distress_head.npz``). The shipped numbers come
  from ``CareClassifier.decide`` on the features the encoder and the distress model compute
  (cached); a sample is re-scored through ``score_batch`` to check the two paths agree.
* Concerns: macro-F1 over the 8 concerns and crisis recall on the concern held-out split,
  through ``score_batch`` (heads plus crisis patterns).
* Whole calls: self-harm recall and false alarms on multi-turn calls, with the call's
  context and with each turn alone (``models/evaluate_calls.py``).
* Latency: one ``WindowScorer.add_final`` per caller utterance at batch 1 (encode, heads,
  patterns, evidence, window update), encoder capped at 1 thread as in the service.
* Peak RSS of this process (``ru_maxrss``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from models import crisis as crisis_patterns  # noqa: E402
from models.classifier import load_classifier  # noqa: E402
from models.datasets import (  # noqa: E402
    CRISIS_HELDOUT12_PATH,
    CRISIS_HELDOUT15_PATH,
    CRISIS_HELDOUT16_PATH,
    CRISIS_HELDOUT17_PATH,
    CRISIS_HELDOUT18_PATH,
    cached_features,
    labelled_vader,
    load_concerns,
)
from models.distress import cached_distress_features  # noqa: E402

RESULTS = ROOT / "bench" / "results"
VADER_NEG = -0.05


def _macro_f1(y: np.ndarray, pred: np.ndarray) -> float:
    from sklearn.metrics import f1_score

    return float(f1_score(y, pred, average="macro"))


def _auroc(y: np.ndarray, score: np.ndarray) -> float:
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(y, score))


def distress_metrics(sample_check: int = 64) -> dict[str, float]:
    from afinn import Afinn
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    clf = load_classifier()
    data = labelled_vader()
    texts = [data.rows[i].text for i in data.test]
    y = data.labels[data.test]
    frozen = cached_features(texts, clf.layers)
    feats = frozen
    if clf.distress_model is not None:
        feats = np.hstack([frozen, cached_distress_features(texts, clf.distress_model)])
    distress = np.zeros(len(texts))
    frozen_head = np.zeros(len(texts))
    for i, (f, f0, t) in enumerate(zip(feats, frozen, texts, strict=True)):
        found = crisis_patterns.detect(t)
        # Frozen features alone: distress from the frozen logistic head (the earlier model).
        frozen_head[i] = clf.decide(f0, found)[0]
        # Texts whose crisis words were all denied get a second encoder call in the shipped
        # path (the rest of the text); score those few live.
        if found.negated_only:
            distress[i] = clf.score(t).distress
        else:
            distress[i] = clf.decide(f, found)[0]
    # The shipped path must give the same numbers as the cached-feature path.
    idx = np.linspace(0, len(texts) - 1, sample_check).astype(int)
    live = np.array([s.distress for s in clf.score_batch([texts[i] for i in idx])])
    max_dev = float(np.abs(live - distress[idx]).max())

    vader = SentimentIntensityAnalyzer()
    compound = np.array([vader.polarity_scores(t)["compound"] for t in texts])
    afinn = Afinn()
    lexicon = np.array([afinn.score(t) for t in texts])
    return {
        "macro_f1": _macro_f1(y, distress >= 0.5),
        "auroc": _auroc(y, distress),
        "model": "fine-tuned" if clf.distress_model is not None else "frozen head",
        "frozen_head_macro_f1": _macro_f1(y, frozen_head >= 0.5),
        "frozen_head_auroc": _auroc(y, frozen_head),
        "baseline_vader_macro_f1": _macro_f1(y, compound <= VADER_NEG),
        "baseline_vader_auroc": _auroc(y, -compound),
        "baseline_lexicon_macro_f1": _macro_f1(y, lexicon < 0),
        "baseline_lexicon_auroc": _auroc(y, -lexicon),
        "n_test": int(len(y)),
        "positive_rate": float(y.mean()),
        "shipped_path_max_abs_diff": max_dev,
    }


def concern_metrics() -> dict[str, object]:
    from models.train_concerns import evaluate

    clf = load_classifier()
    rows = [r for r in load_concerns() if r.split == "test"]
    m = evaluate(clf, rows)
    return {
        "macro_f1": m["macro_f1"],
        "crisis_recall": m["crisis_recall"],
        "crisis_precision": m["crisis_precision"],
        "routine_false_alarm_rate": m["routine_false_alarm_rate"],
        "n_test": m["n"],
        "per_label_f1": {k: v["f1"] for k, v in m["per_label"].items()},  # type: ignore[union-attr]
    }


def crisis_hard_metrics() -> dict[str, object]:
    """Red flags on the hand-written hard set, test split (families never trained on).

    Also reported: the reviewed patterns alone, and the training split (in-sample for the
    patterns, which were written against it).
    """
    from models.datasets import load_crisis_rows
    from models.evaluate_crisis import evaluate

    clf = load_classifier()
    rows = load_crisis_rows()
    out: dict[str, object] = {}
    for split in ("test", "train"):
        part = [r for r in rows if r.split == split]
        shipped = evaluate([s.red_flags for s in clf.score_batch([r.text for r in part])], part)
        patterns = evaluate([crisis_patterns.detect(r.text).kinds for r in part], part)
        if split == "test":
            out.update(shipped)
            out["patterns_only"] = _headline(patterns)
        else:
            out["train"] = {"shipped": _headline(shipped), "patterns_only": _headline(patterns)}
    return out


def crisis_fresh_metrics(path: Path | None = None) -> dict[str, object]:
    """Red flags on a held-out set of another author: ``crisis_fresh.jsonl`` (written after
    the hard set's test split had steered three rounds of training data) by default, or
    ``crisis_heldout12.jsonl`` (issue 9, twelfth round), ``crisis_heldout15.jsonl`` (fifteenth),
    ``crisis_heldout16.jsonl`` (sixteenth), ``crisis_heldout17.jsonl`` or ``crisis_heldout18.jsonl``
    (seventeenth)."""
    from models.datasets import CRISIS_FRESH_PATH, load_crisis_rows
    from models.evaluate_crisis import evaluate

    path = path or CRISIS_FRESH_PATH
    rows = load_crisis_rows(path)
    if any(r.split != "test" for r in rows):
        raise ValueError(f"{path.name} is a test set: every row is split 'test'")
    flags = [s.red_flags for s in load_classifier().score_batch([r.text for r in rows])]
    out = evaluate(flags, rows)
    out["patterns_only"] = _headline(
        evaluate([crisis_patterns.detect(r.text).kinds for r in rows], rows)
    )
    return out


def crisis_calls_metrics() -> dict[str, object]:
    """Self-harm on whole calls (``models/evaluate_calls.py``): the training call sets (the
    design calls the call context was written against, train14 that the red-flag model and the
    cue head were trained on) and the held-out sets of other authors (heldout13, review13,
    heldout14 to heldout18: never tuned on), each with the call context and with each turn
    judged alone."""
    from models.evaluate_calls import CALL_SETS, evaluate_calls, load_calls

    clf = load_classifier()
    out: dict[str, object] = {}
    for name, path in CALL_SETS.items():
        calls = load_calls(path)
        out[name] = {
            "call_context": evaluate_calls(clf, calls, context=True),
            "each_turn_alone": evaluate_calls(clf, calls, context=False),
        }
    return out


def calls_markdown(h: dict) -> list[str]:
    lines = [
        "## Self-harm on whole calls (multi-turn calls where no single caller turn states"
        " intent, and hard ordinary calls)",
        "",
        "| set | reading | risk calls caught (recall) | precision | ordinary calls escalated |"
        " caught by the lead's turn / later |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for name, v in h.items():
        for reading in ("call_context", "each_turn_alone"):
            m = v[reading]
            lines.append(
                f"| {name} | {reading.replace('_', ' ')} | {_pct(m['recall'])} |"
                f" {_pct(m['precision'])} | {_pct(m['false_alarm_rate'])}"
                f" ({m['n_ordinary']}) | {m['in_time']} / {m['later']} |"
            )
    from models.evaluate_calls import TRAINING_CALL_SETS

    lines += ["", f"Trained or tuned on: {', '.join(TRAINING_CALL_SETS)}; the others are held out."]
    for name in (n for n in h if n not in TRAINING_CALL_SETS):
        lines += ["", f"| category ({name}, call context) | measure | rate | n |"]
        lines += ["|---|---|---:|---:|"]
        for cat, v in h[name]["call_context"]["by_category"].items():
            lines.append(f"| {cat} | {v['measure']} | {v['rate']:.3f} | {v['n']} |")
    lines.append("")
    return lines


def _headline(m: dict[str, object]) -> dict[str, object]:
    keys = ("recall", "false_alarm_rate", "soft_check_rate", "self_harm_prompted_rate")
    return {k: m[k] for k in (*keys, "self_harm", "emergency", "safety_check")}


def latency(n: int) -> dict[str, float]:
    import torch

    from asr.types import TranscriptFinal
    from models.clock import FakeClock
    from models.scorer import WindowScorer

    torch.set_num_threads(1)
    clf = load_classifier()
    texts = [r.text for r in load_concerns()]
    clock = FakeClock()
    scorer = WindowScorer(clf, clock)
    for t in texts[:10]:  # warm-up
        scorer.add_final(TranscriptFinal("caller", t, 0.0, 1.0))
    times: list[float] = []
    cpu: list[float] = []
    for k in range(n):
        text = texts[(k * 7) % len(texts)]
        clock.advance(3.0)
        final = TranscriptFinal("caller", text, clock.now() - 2.5, clock.now())
        t0, c0 = time.perf_counter(), time.thread_time()
        scorer.add_final(final)
        times.append((time.perf_counter() - t0) * 1000)
        cpu.append((time.thread_time() - c0) * 1000)
    times.sort()
    cpu.sort()
    return {
        "p50": statistics.median(times),
        "p95": times[int(0.95 * (len(times) - 1))],
        "max": times[-1],
        # CPU time of the scoring thread: what the wall time would be without contention
        # from other processes on a shared machine.
        "cpu_p50": statistics.median(cpu),
        "cpu_p95": cpu[int(0.95 * (len(cpu) - 1))],
        "n": n,
        "mean_words": float(np.mean([len(texts[(k * 7) % len(texts)].split()) for k in range(n)])),
    }


def _tuned_layers() -> int:
    model = load_classifier().distress_model
    return 0 if model is None else len(model.top.layer)


def write_markdown(res: dict) -> str:
    d, c, lat = res["distress"], res["concerns"], res["latency_ms"]
    tuned = res.get("distress_tuned_layers", "?")
    lines = [
        "# Classifier benchmark",
        "",
        f"Machine: {res['machine']}. Generated by `python bench/classifier_bench.py`.",
        "",
        f"## Distress (VADER held-out split, n = {d['n_test']}, distressed share"
        f" {d['positive_rate']:.3f})",
        "",
        "| model | macro-F1 | AUROC |",
        "|---|---:|---:|",
        f"| CareCue distress (MiniLM, top {tuned} layers fine-tuned, + linear head;"
        f" shipped) | {d['macro_f1']:.3f} | {d['auroc']:.3f} |",
        f"| frozen MiniLM layers 1-6 + logistic head (before) | {d['frozen_head_macro_f1']:.3f} |"
        f" {d['frozen_head_auroc']:.3f} |",
        f"| VADER compound (<= {VADER_NEG}) | {d['baseline_vader_macro_f1']:.3f} |"
        f" {d['baseline_vader_auroc']:.3f} |",
        f"| AFINN lexicon (sum < 0) | {d['baseline_lexicon_macro_f1']:.3f} |"
        f" {d['baseline_lexicon_auroc']:.3f} |",
        "",
        f"## Concerns (concern held-out split, n = {c['n_test']})",
        "",
        f"- macro-F1 **{c['macro_f1']:.3f}**, crisis recall **{c['crisis_recall']:.3f}**"
        f" (precision {c['crisis_precision']:.3f}), routine requests with a concern flagged"
        f" {c['routine_false_alarm_rate']:.3f}",
        "",
        "| concern | F1 |",
        "|---|---:|",
        *[f"| {k} | {v:.3f} |" for k, v in c["per_label_f1"].items()],
        "",
        *crisis_markdown(res["crisis_hard"]),
        *fresh_markdown(res["crisis_fresh"]),
        *fresh_markdown(res["crisis_heldout12"], "the third held-out set (crisis_heldout12)"),
        *fresh_markdown(res["crisis_heldout15"], "the fourth held-out set (crisis_heldout15)"),
        *fresh_markdown(res["crisis_heldout16"], "the fifth held-out set (crisis_heldout16)"),
        *fresh_markdown(res["crisis_heldout17"], "the sixth held-out set (crisis_heldout17)"),
        *fresh_markdown(res["crisis_heldout18"], "the seventh held-out set (crisis_heldout18)"),
        *calls_markdown(res["crisis_calls"]),
        "## Latency and memory",
        "",
        "| metric | value |",
        "|---|---:|",
        f"| per window (add_final, batch 1, 1 thread) p50 | {lat['p50']:.1f} ms |",
        f"| per window p95 | {lat['p95']:.1f} ms |",
        f"| per window max | {lat['max']:.1f} ms |",
        f"| per window CPU time of the scoring thread p50 / p95 | {lat['cpu_p50']:.1f} /"
        f" {lat['cpu_p95']:.1f} ms |",
        f"| utterances timed (mean words) | {lat['n']} ({lat['mean_words']:.1f}) |",
        f"| 1-minute load average while timing | {lat['load_avg_1m']:.1f} |",
        f"| peak RSS | {res['peak_rss_mb']:.0f} MB |",
        "",
    ]
    return "\n".join(lines)


def _pct(v: object) -> str:
    return "-" if v is None else f"{float(v):.3f}"  # type: ignore[arg-type]


def crisis_markdown(h: dict) -> list[str]:
    lines = [
        f"## Red flags on the hard set (test split: {h['n']} utterances in phrasing families"
        " never trained on)",
        "",
        f"- **self-harm recall {_pct(h['recall'])}**, **false alarms on hard negatives"
        f" {_pct(h['false_alarm_rate'])}** (the share of {h['n_negatives']} rows of"
        ' fear, grief, idioms, worry about dying, third-party illness, "I don\'t know what to do"'
        f"... with an urgent flag); gentle safety check on those rows {_pct(h['soft_check_rate'])}",
        "",
        "| red flag | recall | precision | n |",
        "|---|---:|---:|---:|",
        *[
            f"| {k} | {_pct(h[k]['recall'])} | {_pct(h[k]['precision'])} | {h[k]['n']} |"
            for k in ("self_harm", "emergency", "safety_check")
        ],
        "",
        "| detector | split | self-harm recall | emergency recall | false alarms |",
        "|---|---|---:|---:|---:|",
    ]
    rows = [
        ("shipped", "test", h),
        ("patterns only", "test", h["patterns_only"]),
        ("shipped", "train", h["train"]["shipped"]),
        ("patterns only", "train", h["train"]["patterns_only"]),
    ]
    for name, split, m in rows:
        lines.append(
            f"| {name} | {split} | {_pct(m['recall'])} | {_pct(m['emergency']['recall'])} |"
            f" {_pct(m['false_alarm_rate'])} |"
        )
    lines += ["", "| category (test) | measure | rate | n |", "|---|---|---:|---:|"]
    for cat, v in h["by_category"].items():
        lines.append(f"| {cat} | {v['measure']} | {v['rate']:.3f} | {v['n']} |")
    lines.append("")
    return lines


def fresh_markdown(h: dict, name: str = "the fresh held-out set") -> list[str]:
    p = h["patterns_only"]
    lines = [
        f"## Red flags on {name} ({h['n']} utterances by another author; never trained on)",
        "",
        "| detector | self-harm recall | self-harm precision | self-harm prompted at all |"
        " emergency recall | urgent false alarms | gentle checks on negatives |",
        "|---|---:|---:|---:|---:|---:|---:|",
        f"| shipped | {_pct(h['recall'])} | {_pct(h['self_harm']['precision'])} |"
        f" {_pct(h['self_harm_prompted_rate'])} |"
        f" {_pct(h['emergency']['recall'])} | {_pct(h['false_alarm_rate'])}"
        f" ({h['n_negatives']} negatives) | {_pct(h['soft_check_rate'])} |",
        f"| patterns only | {_pct(p['recall'])} | {_pct(p['self_harm']['precision'])} |"
        f" {_pct(p['self_harm_prompted_rate'])} |"
        f" {_pct(p['emergency']['recall'])} | {_pct(p['false_alarm_rate'])} |"
        f" {_pct(p['soft_check_rate'])} |",
        "",
        "| category (fresh) | measure | rate | n |",
        "|---|---|---:|---:|",
        *[
            f"| {cat} | {v['measure']} | {v['rate']:.3f} | {v['n']} |"
            for cat, v in h["by_category"].items()
        ],
        "",
    ]
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Classifier quality and latency benchmark")
    parser.add_argument("--latency-n", type=int, default=300)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)

    load_before = os.getloadavg()[0]
    lat = latency(args.latency_n)  # first, so that other work does not warm caches for it
    # The machine is shared: the load average says how much of the latency is contention.
    lat["load_avg_1m"] = max(load_before, os.getloadavg()[0])
    res = {
        "distress": distress_metrics(),
        "concerns": concern_metrics(),
        "crisis_hard": crisis_hard_metrics(),
        "crisis_fresh": crisis_fresh_metrics(),
        "crisis_heldout12": crisis_fresh_metrics(CRISIS_HELDOUT12_PATH),
        "crisis_heldout15": crisis_fresh_metrics(CRISIS_HELDOUT15_PATH),
        "crisis_heldout16": crisis_fresh_metrics(CRISIS_HELDOUT16_PATH),
        "crisis_heldout17": crisis_fresh_metrics(CRISIS_HELDOUT17_PATH),
        "crisis_heldout18": crisis_fresh_metrics(CRISIS_HELDOUT18_PATH),
        "crisis_calls": crisis_calls_metrics(),
        "latency_ms": lat,
        "distress_tuned_layers": _tuned_layers(),
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs,"
        f" Python {platform.python_version()}",
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "classifier.json").write_text(json.dumps(res, indent=2) + "\n")
    md = write_markdown(res)
    (args.out / "classifier.md").write_text(md)
    print(md)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
