"""Train the call-cue head: the kinds of risk cue one caller turn carries, read by meaning.

    python -m models.train_cues     # writes models/artifacts/cue_head.npz (+ _metrics.json)

The call context (``models/call_context.py``) reads each caller turn for four kinds of cue
(hopelessness, a farewell or settling up, a burden or no future, a plan) and for an ordinary
reason for goodbyes. Word lists find the words they were written for; a new caller's
farewells and burdens use other words (issue 9, thirteenth round: 3 of 8 farewells after
hopelessness in a held-out call set). This head reads the four cues from the classifier's
frozen features (per-layer normalised mean-pooled MiniLM states, ``pooled_features``), so a
turn's meaning counts, not only its words. The ordinary reason is labelled but not learned:
it discounts a farewell, and a wrong one would silence a real alarm.

Data: the caller turns of the training call sets (``TRAINING_CALL_SETS``), each labelled with
the cues it carries by an annotator who saw the whole call but not its label
(``models/data/crisis_call_cues.jsonl``: ``{"call", "i", "cues"}``). The held-out call sets
are never read here.

Each cue is a logistic head (features standardised, folded into the weights). Its
regularisation and threshold are chosen on out-of-fold probabilities of 5-fold
cross-validation grouped by call, so that a call never sits in training and test at once:
the threshold is the lowest that keeps out-of-fold precision >= ``MIN_PRECISION`` (a false
cue is half of a false alarm), or the head is switched off (threshold above 1).
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from models.call_context import CUE_LABELS, CUES
from models.classifier import CUE_ARTIFACT, LinearHeads, features_for_texts, load_classifier
from models.evaluate_calls import CALL_SETS, DATA, TRAINING_CALL_SETS, load_calls

CUE_LABELS_PATH = DATA / "crisis_call_cues.jsonl"
C_GRID = (0.001, 0.003, 0.01, 0.03)
MIN_PRECISION = 0.85
FOLDS = 5
SEED = 14


@dataclass(frozen=True, slots=True)
class CueTurn:
    call: str
    i: int
    text: str
    cues: frozenset[str]


def load_cue_turns() -> list[CueTurn]:
    """Every labelled caller turn of the training call sets, checked against its call."""
    texts: dict[tuple[str, int], str] = {}
    for name in TRAINING_CALL_SETS:
        for call in load_calls(CALL_SETS[name]):
            for i, turn in enumerate(call.turns):
                if turn.speaker == "caller":
                    texts[(call.id, i)] = turn.text
    rows: list[CueTurn] = []
    with CUE_LABELS_PATH.open(encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            if not line.strip():
                continue
            d = json.loads(line)
            key = (d["call"], int(d["i"]))
            bad = set(d["cues"]) - set(CUE_LABELS)
            if key not in texts or bad:
                raise ValueError(f"{CUE_LABELS_PATH.name}:{n}: no such caller turn or bad cue")
            rows.append(CueTurn(key[0], key[1], texts.pop(key), frozenset(d["cues"])))
    if texts:
        raise ValueError(f"{len(texts)} caller turns of the training calls have no cue labels")
    return rows


def _fit(x: np.ndarray, y: np.ndarray, c: float) -> tuple[np.ndarray, float]:
    """(weights, bias) of a class-balanced logistic head on standardised ``x``, folded back."""
    from sklearn.linear_model import LogisticRegression

    mu, sd = x.mean(axis=0), x.std(axis=0) + 1e-6
    m = LogisticRegression(C=c, class_weight="balanced", max_iter=5000).fit((x - mu) / sd, y)
    w = m.coef_[0] / sd
    return w.astype(np.float32), float(m.intercept_[0] - (w * mu).sum())


def _oof(x: np.ndarray, y: np.ndarray, groups: np.ndarray, c: float) -> np.ndarray:
    from sklearn.model_selection import GroupKFold

    out = np.zeros(len(y), dtype=np.float64)
    for tr, te in GroupKFold(n_splits=FOLDS).split(x, y, groups):
        if y[tr].min() == y[tr].max():
            raise ValueError("a cross-validation fold holds one class only: label more calls")
        w, b = _fit(x[tr], y[tr], c)
        out[te] = 1.0 / (1.0 + np.exp(-(x[te] @ w + b)))
    return out


def threshold_for(p: np.ndarray, y: np.ndarray, min_precision: float) -> tuple[float, float, float]:
    """The lowest threshold with precision >= ``min_precision``: (threshold, precision, recall);
    (2.0, 0, 0) when none reaches it."""
    best = (2.0, 0.0, 0.0)
    for t in sorted(set(np.round(p, 4)), reverse=True):
        hit = p >= t
        prec = float(y[hit].mean()) if hit.any() else 0.0
        if prec >= min_precision and hit.sum() >= 3:
            best = (float(t), prec, float(y[hit].sum() / max(1, y.sum())))
    return best


def train(rows: list[CueTurn]) -> tuple[LinearHeads, dict[str, object]]:
    from sklearn.metrics import average_precision_score

    clf = load_classifier()
    x = features_for_texts([r.text for r in rows], clf.layers, clf.encoder).astype(np.float64)
    groups = np.array([r.call for r in rows])
    weights, biases, thresholds = [], [], []
    report: dict[str, object] = {"n_turns": len(rows), "n_calls": len(set(groups))}
    for name in CUES:
        y = np.array([name in r.cues for r in rows], dtype=np.int64)
        scored = []
        for c in C_GRID:
            p = _oof(x, y, groups, c)
            scored.append((float(average_precision_score(y, p)), c, p))
        ap, c, p = max(scored, key=lambda s: s[0])
        t, prec, rec = threshold_for(p, y, MIN_PRECISION)
        w, b = _fit(x, y, c)
        weights.append(w)
        biases.append(b)
        thresholds.append(t)
        report[name] = {
            "positives": int(y.sum()),
            "C": c,
            "oof_average_precision": round(ap, 3),
            "threshold": round(t, 4),
            "oof_precision": round(prec, 3),
            "oof_recall": round(rec, 3),
        }
    heads = LinearHeads(
        names=CUES,
        layers=clf.layers,
        weights=np.vstack(weights).astype(np.float32),
        bias=np.array(biases, dtype=np.float32),
        thresholds=np.array(thresholds, dtype=np.float32),
    )
    return heads, report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=CUE_ARTIFACT)
    args = parser.parse_args()
    t0 = time.perf_counter()
    rows = load_cue_turns()
    heads, report = train(rows)
    heads.save(args.out)
    report["seconds"] = round(time.perf_counter() - t0, 1)
    args.out.with_name(args.out.stem + "_metrics.json").write_text(
        json.dumps(report, indent=2) + "\n", encoding="utf-8"
    )
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
