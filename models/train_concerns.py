"""Train the concern heads on ``models/data/concerns.jsonl`` and write their card.

    python -m models.train_concerns            # writes models/artifacts/concern_heads.npz
                                               # and models/cards/concerns.md

Reproducible end to end: the data file is committed with a fixed ``split`` column; only
``train`` rows are used for fitting and for choosing the regularisation (5-fold
cross-validation with a fixed seed); the ``test`` rows are scored once, at the end, through
the shipped ``CareClassifier`` path (heads plus the crisis pattern list).
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from models.classifier import (
    CONCERN_ARTIFACT,
    DISTRESS_ARTIFACT,
    CareClassifier,
    LinearHeads,
)
from models.datasets import (
    ConcernExample,
    cached_features,
    crisis_training_rows,
    load_concerns,
)
from models.signals import CONCERNS

if TYPE_CHECKING:
    from sklearn.linear_model import LogisticRegression

SEED = 13
C_GRID = (0.5, 2.0, 8.0, 32.0)
CARD = Path(__file__).resolve().parent / "cards" / "concerns.md"
# Crisis flag from the head alone (no pattern hit).
CRISIS_THRESHOLD = 0.5


def label_matrix(rows: list[ConcernExample]) -> np.ndarray:
    return np.array([[c in r.labels for c in CONCERNS] for r in rows], dtype=np.int64)


def _fit(x: np.ndarray, y: np.ndarray, c: float) -> LogisticRegression:
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(C=c, class_weight="balanced", max_iter=5000).fit(x, y)


def choose_c(x: np.ndarray, y: np.ndarray) -> float:
    """Regularisation for one head by 5-fold CV F1 on the training rows only."""
    from sklearn.metrics import f1_score
    from sklearn.model_selection import StratifiedKFold

    folds = StratifiedKFold(n_splits=5, shuffle=True, random_state=SEED)
    best_c, best = C_GRID[0], -1.0
    for c in C_GRID:
        pred = np.zeros_like(y)
        for tr, va in folds.split(x, y):
            pred[va] = _fit(x[tr], y[tr], c).predict(x[va])
        f1 = float(f1_score(y, pred))
        if f1 > best + 1e-9:
            best_c, best = c, f1
    return best_c


def training_rows() -> list[ConcernExample]:
    """The concern set's train rows plus the crisis sets' training rows whose concerns are
    certain (grief is sadness, fear is fear, self-harm and emergencies are crisis; see
    ``models.datasets.CONCERNS_OF_CATEGORY``). No test row of either set is read."""
    rows = [r for r in load_concerns() if r.split == "train"]
    for c in crisis_training_rows():
        labels = c.concern_labels
        if labels is not None:
            rows.append(ConcernExample(c.id, c.text, labels, "train"))
    return rows


def train(layers: tuple[int, ...]) -> tuple[LinearHeads, dict[str, float]]:
    rows = training_rows()
    x = cached_features([r.text for r in rows], layers)
    y = label_matrix(rows)
    weights, bias, chosen = [], [], {}
    for j, name in enumerate(CONCERNS):
        c = choose_c(x, y[:, j])
        model = _fit(x, y[:, j], c)
        weights.append(model.coef_[0])
        bias.append(model.intercept_[0])
        chosen[name] = c
    heads = LinearHeads(
        names=CONCERNS,
        layers=layers,
        weights=np.array(weights, dtype=np.float32),
        bias=np.array(bias, dtype=np.float32),
        thresholds=np.full(len(CONCERNS), 0.5, dtype=np.float32),
    )
    return heads, chosen


def evaluate(clf: CareClassifier, rows: list[ConcernExample]) -> dict[str, object]:
    """Per-concern precision/recall/F1 of the shipped path on ``rows``."""
    from sklearn.metrics import f1_score, precision_recall_fscore_support

    scores = clf.score_batch([r.text for r in rows])
    y = label_matrix(rows)
    pred = np.array(
        [[(s.crisis if c == "crisis" else s.concerns[c] >= 0.5) for c in CONCERNS] for s in scores],
        dtype=np.int64,
    )
    p, r, f, n = precision_recall_fscore_support(y, pred, zero_division=0)
    crisis_j = CONCERNS.index("crisis")
    # The two halves of the crisis rule on their own, for the card: the pattern list was
    # reviewed against every row (test included), the head never saw the test rows.
    is_crisis = y[:, crisis_j] == 1
    by_pattern = np.array([bool(s.crisis_phrases) for s in scores])
    feats = clf_features(clf, [r.text for r in rows])
    head_p = np.array([float(clf.head_probabilities(x)[1 + crisis_j]) for x in feats])
    by_head = head_p >= CRISIS_THRESHOLD
    negatives = [i for i, row in enumerate(rows) if not row.labels]
    return {
        "n": len(rows),
        "macro_f1": float(f1_score(y, pred, average="macro", zero_division=0)),
        "micro_f1": float(f1_score(y, pred, average="micro", zero_division=0)),
        "crisis_recall": float(r[crisis_j]),
        "crisis_precision": float(p[crisis_j]),
        "crisis_recall_patterns_only": float(by_pattern[is_crisis].mean()),
        "crisis_recall_head_only": float(by_head[is_crisis].mean()),
        "crisis_false_alarms_head_only": int((by_head & ~is_crisis).sum()),
        "routine_false_alarm_rate": float(np.mean([pred[i].any() for i in negatives]))
        if negatives
        else 0.0,
        "per_label": {
            c: {"precision": float(p[j]), "recall": float(r[j]), "f1": float(f[j]), "n": int(n[j])}
            for j, c in enumerate(CONCERNS)
        },
    }


def clf_features(clf: CareClassifier, texts: list[str]) -> np.ndarray:
    from models.classifier import features_for_texts

    return features_for_texts(texts, clf.layers, clf.encoder)


def build_classifier(heads: LinearHeads) -> CareClassifier:
    if DISTRESS_ARTIFACT.exists():
        distress = LinearHeads.load(DISTRESS_ARTIFACT)
    else:  # the concern metrics don't depend on the distress head
        dim = heads.weights.shape[1]
        distress = LinearHeads(
            ("distress",),
            heads.layers,
            np.zeros((1, dim), np.float32),
            np.zeros(1, np.float32),
            np.full(1, 0.5, np.float32),
        )
    # as shipped (models.classifier.load_classifier): the head alone raises no red flag
    return CareClassifier(distress, heads)


def write_card(metrics: dict, chosen: dict[str, float], layers: tuple[int, ...]) -> None:
    all_rows = load_concerns()
    counts = {
        c: (
            sum(c in r.labels for r in all_rows if r.split == "train"),
            sum(c in r.labels for r in all_rows if r.split == "test"),
        )
        for c in CONCERNS
    }
    neg = (
        sum(not r.labels and r.split == "train" for r in all_rows),
        sum(not r.labels and r.split == "test" for r in all_rows),
    )
    per = metrics["per_label"]
    lines = [
        "# Model card: concern heads (`models/artifacts/concern_heads.npz`)",
        "",
        "Multi-label concerns of a caller's words, 0..1 each: "
        + ", ".join(f"`{c}`" for c in CONCERNS)
        + ". Produced by `python -m models.train_concerns` (this card is generated).",
        "",
        "## Model",
        f"- Features: all-MiniLM-L6-v2 (frozen), mean-pooled token states of layers {list(layers)}"
        " (0 = embeddings, 6 = last), each L2-normalised, concatenated.",
        "- One logistic-regression head per concern, `class_weight=balanced`; C chosen per head by"
        f" 5-fold CV F1 on the training rows (seed {SEED}): "
        + ", ".join(f"{c}={v:g}" for c, v in chosen.items())
        + ".",
        "- **Crisis**: the `crisis` head gives the crisis *score* only. Red flags (self-harm,"
        " emergency, the soft safety check) come from the reviewed patterns (`models/crisis.py`)"
        " and the red-flag model (`models/cards/redflag.md`); this head raised \"I'm"
        " terrified\" and grief as crisis, so on its own it raises no flag. When every crisis"
        ' phrase in a text was explicitly denied ("I\'m not suicidal, I just need my refill")'
        " the denial is cut out and the heads judge the rest.",
        "",
        "## Data",
        "`models/data/concerns.jsonl`: call-style caller utterances written for CareCue (not"
        ' real calls): varied phrasing, hedges ("I guess", "it\'s probably nothing, but"),'
        " third-party reports, mixed labels, and negation (\"I'm not worried about the cost,"
        ' it\'s the pain"; "I\'m not suicidal, I just need my repeat prescription"). Routine'
        " requests carry no label and serve as negatives. The `split` column is fixed"
        " (stratified by label set, 25 % test, seed 7; 30 routine questions added later, e.g."
        " \"Could you tell me if my prescription is ready?\", were split 25 % test with seed"
        " 11) and training never reads `test` rows.",
        "- Added to the training rows: the crisis sets' *training* rows whose concerns are"
        " certain (`models/datasets.py` `CONCERNS_OF_CATEGORY`): grief as sadness, fear and"
        " worry about dying as fear, frustration as frustration, self-harm and emergencies as"
        " crisis, hopelessness as sadness. The crisis hard set's test split is never read.",
        "",
        "| label | train | test |",
        "|---|---:|---:|",
        *[f"| {c} | {a} | {b} |" for c, (a, b) in counts.items()],
        f"| (routine, no label) | {neg[0]} | {neg[1]} |",
        "",
        "## Held-out metrics (test split, shipped path: heads + crisis patterns)",
        f"- macro-F1 over the 8 concerns: **{metrics['macro_f1']:.3f}**"
        f" (micro-F1 {metrics['micro_f1']:.3f}), n = {metrics['n']} utterances",
        f"- crisis recall: **{metrics['crisis_recall']:.3f}**,"
        f" crisis precision {metrics['crisis_precision']:.3f}. The pattern list was reviewed"
        " against every row of the set, test rows included, so its share is optimistic:"
        f" patterns alone catch {metrics['crisis_recall_patterns_only']:.3f} of the test crisis"
        " rows; the learned head alone (which never saw them) catches"
        f" {metrics['crisis_recall_head_only']:.3f}, with"
        f" {metrics['crisis_false_alarms_head_only']} false alarms.",
        f"- routine requests with any concern flagged: {metrics['routine_false_alarm_rate']:.3f}",
        "",
        "| concern | precision | recall | F1 | n |",
        "|---|---:|---:|---:|---:|",
        *[
            f"| {c} | {v['precision']:.3f} | {v['recall']:.3f} | {v['f1']:.3f} | {v['n']} |"
            for c, v in per.items()
        ],
        "",
        "## Limits",
        "- The utterances were written by the developers, not transcribed from real calls;"
        " real ASR output (no punctuation, recognition errors, long run-on turns) is harder.",
        "- ~50-65 training examples per label: the heads learn topical cues; negation and"
        " sarcasm beyond the patterns the set covers are weak spots for the learned heads.",
        "- English only. Crisis detection is a safety net for a human agent, not a triage tool:"
        ' the pattern list favours recall, so expect false alarms (e.g. "my back is killing'
        ' me" is excluded on purpose, but "I\'m afraid he won\'t wake up" flags).',
        "- Scores are per text; the window scorer (`models/scorer.py`) smooths them over time.",
        "",
    ]
    CARD.parent.mkdir(parents=True, exist_ok=True)
    CARD.write_text("\n".join(lines), encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=CONCERN_ARTIFACT)
    parser.add_argument("--no-card", action="store_true")
    parser.add_argument("--threads", type=int, default=int(os.environ.get("CARECUE_THREADS", "2")))
    args = parser.parse_args(argv)
    import torch

    torch.set_num_threads(args.threads)
    from models.train_distress import FEATURE_LAYERS

    t0 = time.perf_counter()
    heads, chosen = train(FEATURE_LAYERS)
    clf = build_classifier(heads)
    metrics = evaluate(clf, [r for r in load_concerns() if r.split == "test"])
    heads.save(
        args.out,
        crisis_threshold=CRISIS_THRESHOLD,
        metrics_json=json.dumps(metrics),
    )
    if not args.no_card:
        write_card(metrics, chosen, FEATURE_LAYERS)
    summary = {k: metrics[k] for k in ("macro_f1", "crisis_recall", "crisis_precision")}
    print(json.dumps({**summary, "seconds": round(time.perf_counter() - t0, 1)}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
