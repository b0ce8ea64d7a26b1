"""Red-flag judgement measured on the hand-written hard set, in both directions.

``evaluate(flags, rows)`` takes the red flags a detector raised for each row (a tuple of
``self_harm`` / ``emergency`` / ``safety_check``) and reports, side by side:

* per kind, **recall** on the rows of that label and **precision** over every row the kind
  was raised for;
* the **false-alarm rate**: rows labelled ``none`` (fear, grief, idioms, "I don't know what
  to do", worry about dying of an illness...) on which an *urgent* flag (self-harm or
  emergency) was raised. A soft safety check on those rows is counted separately
  (``soft_check_rate``): it costs the agent a gentle question, not a supervisor;
* recall and false alarms per category, so a weak spot has a name.

Used by ``bench/classifier_bench.py`` (which writes ``crisis_hard`` into
``bench/results/classifier.json``) and by the tests.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from models.crisis import URGENT_FLAGS
from models.datasets import CrisisExample

KINDS = ("self_harm", "emergency", "safety_check")


def evaluate(flags: Sequence[Sequence[str]], rows: Sequence[CrisisExample]) -> dict[str, object]:
    """Recall, precision and false alarms of ``flags`` (one tuple per row) on ``rows``."""
    if len(flags) != len(rows):
        raise ValueError("one set of flags per row")
    out: dict[str, object] = {"n": len(rows)}
    for kind in KINDS:
        positives = [f for f, r in zip(flags, rows, strict=True) if r.label == kind]
        raised = [r for f, r in zip(flags, rows, strict=True) if kind in f]
        hits = sum(kind in f for f in positives)
        out[kind] = {
            "recall": hits / len(positives) if positives else None,
            "precision": sum(r.label == kind for r in raised) / len(raised) if raised else None,
            "n": len(positives),
            "raised": len(raised),
        }
    negatives = [(f, r) for f, r in zip(flags, rows, strict=True) if r.label == "none"]
    urgent = [r for f, r in negatives if set(f) & set(URGENT_FLAGS)]
    soft = [r for f, r in negatives if "safety_check" in f and not set(f) & set(URGENT_FLAGS)]
    out["n_negatives"] = len(negatives)
    out["false_alarm_rate"] = len(urgent) / len(negatives) if negatives else None
    out["soft_check_rate"] = len(soft) / len(negatives) if negatives else None
    by_cat: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for f, r in zip(flags, rows, strict=True):
        cell = by_cat[f"{r.label}/{r.category}"]
        cell[1] += 1
        if r.label == "none":
            cell[0] += bool(set(f) & set(URGENT_FLAGS))
        else:
            cell[0] += r.label in f
    out["by_category"] = {
        k: {
            "rate": v[0] / v[1],
            "n": v[1],
            "measure": "false_alarm" if k.startswith("none/") else "recall",
        }
        for k, v in sorted(by_cat.items())
    }
    sh = out["self_harm"]
    assert isinstance(sh, dict)
    # the headline pair the issue asks for
    out["recall"] = sh["recall"]
    # Self-harm rows on which the agent is prompted about safety at all: escalated, or asked
    # to put the gentle safety question (whose answer brings the protocol when it is needed).
    at_risk = [f for f, r in zip(flags, rows, strict=True) if r.label == "self_harm"]
    out["self_harm_prompted_rate"] = (
        sum(bool({"self_harm", "safety_check"} & set(f)) for f in at_risk) / len(at_risk)
        if at_risk
        else None
    )
    return out
