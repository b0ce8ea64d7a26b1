"""Grouped cross-validation of red-flag model variants under the shipped policy.

    python -m models.redflag_cv --tag base                    # the shipped configuration
    python -m models.redflag_cv --tag more --extra-data models/data/crisis_train_more.jsonl
    python -m models.redflag_cv --report base more            # compare saved runs

Training rows only: the ``test`` rows of ``crisis_hard.jsonl`` are never loaded here.

Folds are those of ``models.train_redflag`` (families of the training pool assigned to 5
folds, seeded). Rows given with ``--extra-data`` (new phrasing families) are added to the
*training* part of every fold and never validated on, so every variant is scored on the same
out-of-fold (OOF) rows and the numbers compare like for like.

The OOF probabilities are turned into flags exactly as ``CareClassifier.decide`` does:
pattern kinds (``models.crisis.detect``), then, unless the model is left out (every crisis
phrase denied, or medicines handed back: ``CrisisResult.learned_model_applies``), the model's
urgent tier (``p >= urgent``, or ``p >= risk_sh`` for self-harm where the words name a
risk factor) and otherwise the gentle safety check at ``p >= soft``.
Reported per variant, on the crisis-set rows (hard train + extra; the patterns were written
against the hard train rows, so combined recall there is optimistic) and on the extra rows
alone (closer to unseen phrasing for the patterns):

* at the shipped policy (urgent 0.97 / 0.95, self-harm at 0.5 where the words name a risk
  factor, the gentle check at 0.5): self-harm recall and precision, emergency
  recall, urgent false alarms on ``none`` rows, gentle checks on ``none`` rows;
* the best self-harm recall whose urgent false-alarm rate stays <= 3 % (the issue's target),
  over a grid of urgent thresholds, and the thresholds that reach it;
* the model alone: self-harm vs none ranking (AUROC).
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from models.classifier import DEFAULT_RED_FLAG_POLICY as POLICY
from models.redflag import CLASSES
from models.train_redflag import (
    CACHE,
    Config,
    Row,
    _read,
    cross_val,
    frozen_states,
    load_train_only,
    load_train_pool,
)

URGENT = ("self_harm", "emergency")
GRID = (0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.93, 0.95, 0.97, 0.98, 0.99, 0.995, 0.998, 2.0)


# --------------------------------------------------------------------------- policy


def pattern_info(
    texts: list[str],
) -> tuple[list[tuple[str, ...]], np.ndarray, np.ndarray, np.ndarray]:
    """Per text, from one ``models.crisis.detect``: the pattern kinds raised, whether the
    learned model is left out (every crisis phrase denied, or medicines handed back:
    ``CrisisResult.learned_model_applies``), whether the words name a risk factor
    (``RISK_FACTORS``), and which of the model's urgent tiers are off (columns self-harm,
    emergency: ``CrisisResult.model_urgent_out``)."""
    from models.crisis import detect

    found = [detect(t) for t in texts]
    return (
        [tuple(f.kinds) for f in found],
        np.array([not f.learned_model_applies for f in found], dtype=bool),
        np.array([f.risk_factor is not None for f in found], dtype=bool),
        np.array(
            [[k in f.model_urgent_out for k in ("self_harm", "emergency")] for f in found],
            dtype=bool,
        ).reshape(len(found), 2),
    )


def policy_flags(
    probs: np.ndarray,
    kinds: list[tuple[str, ...]],
    model_out: np.ndarray,
    urgent_sh: float,
    urgent_em: float,
    soft: float = POLICY.soft,
    risk: np.ndarray | None = None,
    risk_sh: float = POLICY.risk_factor_self_harm,
    urgent_out: np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    """Flags as ``CareClassifier.decide`` raises them (patterns + two tiers; with ``risk``,
    from ``pattern_info``, self-harm at ``risk_sh`` where the words name a risk factor; with
    ``urgent_out``, from ``pattern_info``, no urgent self-harm (column 0) or emergency (column
    1) flag from the model where the patterns explained those words away)."""
    p = {c: probs[:, CLASSES.index(c)] for c in CLASSES}
    pat = {c: np.array([c in k for k in kinds]) for c in CLASSES[1:]}
    use = ~model_out
    use_sh = use if urgent_out is None else use & ~urgent_out[:, 0]
    use_em = use if urgent_out is None else use & ~urgent_out[:, 1]
    sh = pat["self_harm"] | (use_sh & (p["self_harm"] >= urgent_sh))
    if risk is not None:
        sh |= use_sh & risk & (p["self_harm"] >= risk_sh)
    em = pat["emergency"] | (use_em & (p["emergency"] >= urgent_em))
    urgent = sh | em
    em_soft = p["emergency"]
    if urgent_out is not None:  # no gentle check by emergency words explained away
        em_soft = np.where(urgent_out[:, 1], 0.0, em_soft)
    top = np.maximum.reduce([p["self_harm"], em_soft, p["safety_check"]])
    soft_hit = use & (top >= soft)
    sc = pat["safety_check"] | (~urgent & soft_hit)
    return {"self_harm": sh, "emergency": em, "safety_check": sc}


def summarise(labels: np.ndarray, flags: dict[str, np.ndarray]) -> dict[str, float]:
    none = labels == "none"
    urgent = flags["self_harm"] | flags["emergency"]
    out: dict[str, float] = {}
    for c in ("self_harm", "emergency", "safety_check"):
        pos = labels == c
        out[f"{c}_recall"] = float(flags[c][pos].mean())
        out[f"{c}_precision"] = (
            float((labels[flags[c]] == c).mean()) if flags[c].any() else float("nan")
        )
    out["false_alarm_rate"] = float(urgent[none].mean())
    out["soft_check_rate"] = float((flags["safety_check"] & ~urgent)[none].mean())
    return out


def evaluate(
    rows: list[Row],
    oof: np.ndarray,
    kinds: list[tuple[str, ...]],
    model_out: np.ndarray,
    risk: np.ndarray,
    urgent_out: np.ndarray | None = None,
) -> dict[str, Any]:
    from sklearn.metrics import roc_auc_score

    if urgent_out is None:
        urgent_out = np.zeros((len(rows), 2), dtype=bool)

    labels = np.array([r.label for r in rows])
    src = np.array([r.source for r in rows])
    out: dict[str, Any] = {}
    subsets = [("crisis_rows", src != "concerns"), ("extra_rows", src == "extra")]
    if (src == "new").any():  # --pool-data rows: written without seeing the patterns
        subsets.append(("new_rows", src == "new"))
    for name, sel in subsets:
        lab, pr = labels[sel], oof[sel]
        kd = [k for k, s in zip(kinds, sel, strict=True) if s]
        mo, rk, uo = model_out[sel], risk[sel], urgent_out[sel]
        res: dict[str, Any] = {
            "shipped_policy": summarise(
                lab,
                policy_flags(
                    pr,
                    kd,
                    mo,
                    POLICY.urgent_self_harm,
                    POLICY.urgent_emergency,
                    risk=rk,
                    urgent_out=uo,
                ),
            ),
        }
        best: tuple[float, float, float, float] | None = None
        for ts in GRID:
            for te in GRID:
                m = summarise(lab, policy_flags(pr, kd, mo, ts, te, risk=rk, urgent_out=uo))
                if m["false_alarm_rate"] > 0.03:
                    continue
                key = (m["self_harm_recall"], m["emergency_recall"], ts, te)
                if best is None or key[:2] > best[:2]:
                    best = key
        assert best is not None  # 2.0 / 2.0 is the patterns alone
        res["best_at_fa_3pct"] = {
            "urgent_self_harm": best[2],
            "urgent_emergency": best[3],
            **summarise(
                lab, policy_flags(pr, kd, mo, best[2], best[3], risk=rk, urgent_out=uo)
            ),
        }
        shn = (lab == "self_harm") | (lab == "none")
        res["model_self_harm_vs_none_auroc"] = float(
            roc_auc_score(lab[shn] == "self_harm", pr[shn, CLASSES.index("self_harm")])
        )
        out[name] = res
    return out


def model_only(
    rows: list[Row],
    oof: np.ndarray,
    model_out: np.ndarray,
    sources: tuple[str, ...] = ("hard", "extra"),
) -> dict[str, dict[str, float]]:
    """The model's own urgent and soft decisions (no pattern hits, and so no risk-factor
    tier: that tier reads the words), on the crisis-set rows.

    The patterns were written against these rows, so "patterns + model" out-of-fold numbers
    here are optimistic (the held-out test split has phrasings the patterns never saw); what
    the model adds on its own is the fairer way to compare variants.
    """
    sel = np.array([r.source in sources for r in rows])
    lab = np.array([r.label for r in rows])[sel]
    pr, mo = oof[sel], model_out[sel]
    none_kinds: list[tuple[str, ...]] = [()] * int(sel.sum())
    out = {
        "shipped_tiers": summarise(
            lab, policy_flags(pr, none_kinds, mo, POLICY.urgent_self_harm, POLICY.urgent_emergency)
        )
    }
    for budget in (0.03, 0.05):
        best: tuple[float, float, float] | None = None
        for ts in GRID:
            m = summarise(lab, policy_flags(pr, none_kinds, mo, ts, 2.0))
            if m["false_alarm_rate"] <= budget and (
                best is None or m["self_harm_recall"] > best[0]
            ):
                best = (m["self_harm_recall"], m["false_alarm_rate"], ts)
        assert best is not None
        out[f"self_harm_only_best_at_fa_{budget:g}"] = {
            "self_harm_recall": best[0],
            "false_alarm_rate": best[1],
            "urgent_self_harm": best[2],
        }
    return out


def categories(rows: list[Row]) -> list[str]:
    """Category of each pool row (from the data files; concerns rows are 'concerns')."""
    from models.train_redflag import EXTRA, HARD, TRAIN_ONLY_FILES

    cat = {}
    for p in (HARD, EXTRA, *TRAIN_ONLY_FILES):
        for r in _read(p):
            cat[(r["text"], r["family"])] = r["category"]
    return [cat.get((r.text, r.family), "concerns") for r in rows]


def by_category(
    rows: list[Row], oof: np.ndarray, kinds: list[tuple[str, ...]], model_out: np.ndarray
) -> dict[str, float]:
    """Model-only urgent decisions per category at the shipped tiers (patterns, and with them
    the risk-factor tier, left out)."""
    labels = np.array([r.label for r in rows])
    cats = np.array(categories(rows))
    f = policy_flags(
        oof, [()] * len(rows), model_out, POLICY.urgent_self_harm, POLICY.urgent_emergency
    )
    urgent = f["self_harm"] | f["emergency"]
    out = {}
    for key in sorted({(lab, c) for lab, c in zip(labels, cats, strict=True)}):
        sel = (labels == key[0]) & (cats == key[1])
        if key[0] == "none":
            out[f"none/{key[1]} urgent"] = float(urgent[sel].mean())
        else:
            out[f"{key[0]}/{key[1]} recall"] = float(f[key[0]][sel].mean())
    return out


# Scripted practice calls (app/practice/scenarios/) whose caller is never at risk of self-harm;
# ``medication_confusion`` (a possible accidental double dose) is reported on its own.
CALM_SCENARIOS = (
    "biopsy_wait",
    "billing_anger",
    "grief",
    "isolation",
    "new_diagnosis",
    "uncontrolled_pain",
)
SCENARIOS = Path(__file__).resolve().parents[1] / "app" / "practice" / "scenarios"


def scripted_lines() -> list[tuple[str, str]]:
    """(scenario, caller line) for every scripted practice call: ordinary call text that no
    model trains on, scored by every fold's model to catch a variant that escalates calm
    calls (the third round's did; the hard split's negatives did not show it)."""
    import yaml

    out = []
    for path in sorted(SCENARIOS.glob("*.yaml")):
        steps = yaml.safe_load(path.read_text(encoding="utf-8"))["steps"]
        out += [
            (path.stem, " ".join(step["patient"].split()))
            for step in steps.values()
            if "patient" in step
        ]
    return out


def scripted_flags(lines: list[tuple[str, str]], probe: np.ndarray) -> dict[str, Any]:
    """Flags the policy raises on scripted-call lines, per fold model (patterns included).

    ``probe``: (folds, lines, classes). Counted per group of scenarios: lines with urgent
    self-harm from the fold-averaged probabilities and from any single fold's model, and
    lines with a gentle check (fold-averaged)."""
    texts = [t for _, t in lines]
    kinds, model_out, risk, urgent_out = pattern_info(texts)
    scen = np.array([s for s, _ in lines])
    groups = {
        "calm": np.isin(scen, CALM_SCENARIOS),
        "medication_confusion": scen == "medication_confusion",
        "caller_at_risk": scen == "caller_at_risk",
    }
    ts, te = POLICY.urgent_self_harm, POLICY.urgent_emergency
    mean = policy_flags(
        probe.mean(axis=0), kinds, model_out, ts, te, risk=risk, urgent_out=urgent_out
    )
    per_fold = [
        policy_flags(p, kinds, model_out, ts, te, risk=risk, urgent_out=urgent_out)
        for p in probe
    ]
    any_sh = np.logical_or.reduce([f["self_harm"] for f in per_fold])
    urgent = mean["self_harm"] | mean["emergency"]
    out: dict[str, Any] = {}
    for name, sel in groups.items():
        out[name] = {
            "lines": int(sel.sum()),
            "self_harm": int(mean["self_harm"][sel].sum()),
            "self_harm_any_fold": int(any_sh[sel].sum()),
            "emergency": int(mean["emergency"][sel].sum()),
            "soft_check": int((mean["safety_check"] & ~urgent)[sel].sum()),
        }
    return out


def left_out_rows(negatives_from: list[Path]) -> list[str]:
    """Self-harm texts of ``--negatives-from`` files that no model here trains on (their
    categories in ``SELF_HARM_LEFT_OUT``): risk in the words of ordinary call business."""
    from models.train_redflag import left_out

    return [r["text"] for p in negatives_from for r in _read(p) if left_out(r)]


def left_out_flags(texts: list[str], probe: np.ndarray) -> dict[str, Any]:
    """Self-harm recall (patterns + fold-averaged model at the shipped tiers) on the
    left-out rows, and the share with any red flag (a gentle check included)."""
    if not texts:
        return {}
    kinds, model_out, risk, urgent_out = pattern_info(texts)
    f = policy_flags(
        probe.mean(axis=0),
        kinds,
        model_out,
        POLICY.urgent_self_harm,
        POLICY.urgent_emergency,
        risk=risk,
        urgent_out=urgent_out,
    )
    anyf = f["self_harm"] | f["emergency"] | f["safety_check"]
    return {
        "rows": len(texts),
        "self_harm_recall": float(f["self_harm"].mean()),
        "any_red_flag": float(anyf.mean()),
    }


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tag", required=False, default="")
    ap.add_argument("--extra-data", type=Path, nargs="*", default=[])
    ap.add_argument(
        "--negatives-from",
        type=Path,
        nargs="*",
        default=[],
        help="train-only files trained on without their self-harm rows of SELF_HARM_LEFT_OUT",
    )
    ap.add_argument(
        "--none-only-from",
        type=Path,
        nargs="*",
        default=[],
        help="train-only files trained on with their none rows only",
    )
    ap.add_argument(
        "--pool-data",
        type=Path,
        nargs="*",
        default=[],
        help="train-only files whose rows join the folds (validated out of fold, reported"
        " as new_rows) instead of training in every fold",
    )
    ap.add_argument("--input-layer", type=int, default=Config.input_layer)
    ap.add_argument("--epochs", type=int, default=Config.epochs)
    ap.add_argument("--lr", type=float, default=Config.lr)
    ap.add_argument("--class-weight-power", type=float, default=Config.class_weight_power)
    ap.add_argument("--label-smoothing", type=float, default=Config.label_smoothing)
    ap.add_argument("--seeds", type=int, nargs="+", default=[Config.seed])
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--report", nargs="*", default=None, help="print saved runs side by side")
    args = ap.parse_args(argv)
    if args.report is not None:
        rows = load_train_pool()
        _, model_out, _, _ = pattern_info([r.text for r in rows])
        for tag in args.report:
            rep = json.loads((CACHE / f"rfcv_{tag}.json").read_text())
            oof = np.load(CACHE / f"rfcv_{tag}.npy")
            print(tag, json.dumps(rep["eval"], indent=1))
            print(tag, "model only", json.dumps(model_only(rows, oof, model_out), indent=1))
        return
    torch.set_num_threads(max(1, min(2, args.threads)))
    cfg = Config(
        input_layer=args.input_layer,
        epochs=args.epochs,
        lr=args.lr,
        class_weight_power=args.class_weight_power,
        label_smoothing=args.label_smoothing,
        seed=args.seeds[0],
    )
    rows = load_train_pool()
    rows += [replace(r, source="new") for r in load_train_only(args.pool_data)]
    new = load_train_only(args.extra_data, args.negatives_from, args.none_only_from)
    pool = {r.text for r in rows}
    clash = [r.text for r in new if r.text in pool]
    if clash:
        raise SystemExit(f"{len(clash)} extra rows repeat pool rows word for word")
    print("config", asdict(cfg), "seeds", args.seeds, "new rows", len(new), flush=True)
    t0 = time.time()
    states = frozen_states([r.text for r in rows], cfg.input_layer)
    nstates = frozen_states([r.text for r in new], cfg.input_layer) if new else []
    yn = np.array([CLASSES.index(r.label) for r in new], dtype=np.int64)
    lines = scripted_lines()
    left_out = left_out_rows(args.negatives_from)
    probe_states = frozen_states([t for _, t in lines] + left_out, cfg.input_layer)
    oof, probe = cross_val(
        rows, states, cfg, args.folds, (nstates, yn), tuple(args.seeds), probe_states
    )
    kinds, model_out, risk, urgent_out = pattern_info([r.text for r in rows])
    rep = {
        "config": asdict(cfg),
        "seeds": args.seeds,
        "extra_data": [str(p) for p in args.extra_data],
        "pool_data": [str(p) for p in args.pool_data],
        "negatives_from": [str(p) for p in args.negatives_from],
        "none_only_from": [str(p) for p in args.none_only_from],
        "n_new": len(new),
        "seconds": round(time.time() - t0),
        "eval": evaluate(rows, oof, kinds, model_out, risk, urgent_out),
        "model_only": model_only(rows, oof, model_out),
        **(
            {"model_only_new": model_only(rows, oof, model_out, ("new",))} if args.pool_data else {}
        ),
        "model_only_by_category": by_category(rows, oof, kinds, model_out),
        "scripted_calls": scripted_flags(lines, probe[:, : len(lines)]),
        "left_out_self_harm": left_out_flags(left_out, probe[:, len(lines) :]),
    }
    print(json.dumps(rep, indent=1), flush=True)
    if args.tag:
        CACHE.mkdir(parents=True, exist_ok=True)
        np.save(CACHE / f"rfcv_{args.tag}.npy", oof)
        np.save(CACHE / f"rfcv_{args.tag}_scripted.npy", probe[:, : len(lines)])
        np.save(CACHE / f"rfcv_{args.tag}_left_out.npy", probe[:, len(lines) :])
        (CACHE / f"rfcv_{args.tag}.json").write_text(json.dumps(rep, indent=1))


if __name__ == "__main__":
    main()
