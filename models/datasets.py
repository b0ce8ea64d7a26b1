"""Training and evaluation data: the VADER human-rated sentences and the concern set.

VADER sentences
---------------

Hutto & Gilbert (ICWSM 2014) collected mean valence ratings (-4 extremely negative ..
+4 extremely positive, about 20 raters per sentence) for ~23,700 sentences from tweets,
movie reviews, Amazon reviews and NYT editorials. The files live in
``additional_resources/hutto_ICWSM_2014.tar.gz`` inside the *source* distribution only, so
we fetch the sdist with pip (the ordinary client, from PyPI) and read the ground-truth
files from it. Nothing here is committed; the training script, the benchmark and the
tests all go through :func:`load_vader_sentences`, which caches the parsed rows.

Distress label (see ``models/cards/distress.md``): a sentence is *distressed* when its
mean human valence is below zero (the raters, on average, heard it as negative) and *calm*
otherwise (neutral or positive). No sentence is left out. The split is a fixed stratified
80/20 split by (source corpus, label) with seed 13.

Concern set
-----------
``models/data/concerns.jsonl``: call-style caller utterances written for CareCue, one JSON
object a line with ``id``, ``text``, ``labels`` (a subset of ``CONCERNS``; empty for routine
requests) and a fixed ``split`` (``train`` / ``test``). Training never reads ``test`` rows.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

VADER_VERSION = "3.3.2"
SDIST_NAME = f"vaderSentiment-{VADER_VERSION}.tar.gz"
INNER_TARBALL = "additional_resources/hutto_ICWSM_2014.tar.gz"
SOURCES = ("tweets", "movieReviewSnippets", "amazonReviewSnippets", "nytEditorialSnippets")
SPLIT_SEED = 13
TEST_FRACTION = 0.2
# Mean valence strictly below this is "distressed"; the rest is "calm".
DISTRESS_BELOW_VALENCE = 0.0


@dataclass(frozen=True, slots=True)
class RatedSentence:
    """One sentence with its mean human valence rating (-4..4)."""

    source: str
    sid: str
    text: str
    valence: float

    @property
    def label(self) -> int:
        """1 distressed (negative mean valence), 0 calm (neutral or positive)."""
        return int(self.valence < DISTRESS_BELOW_VALENCE)


def cache_dir() -> Path:
    """Where fetched data and embeddings are cached (never in git)."""
    base = os.environ.get("CARECUE_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "carecue"
    )
    path = Path(base)
    path.mkdir(parents=True, exist_ok=True)
    return path


def fetch_sdist(dest: Path | None = None) -> Path:
    """Download the vaderSentiment source distribution with pip (cached)."""
    dest = dest or cache_dir() / "sdist"
    dest.mkdir(parents=True, exist_ok=True)
    target = dest / SDIST_NAME
    if target.exists():
        return target
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--no-binary",
            ":all:",
            "--no-deps",
            "--disable-pip-version-check",
            "-q",
            f"vaderSentiment=={VADER_VERSION}",
            "-d",
            str(dest),
        ],
        check=True,
    )
    if not target.exists():
        raise FileNotFoundError(f"pip did not produce {target}")
    return target


def _parse_ground_truth(source: str, raw: bytes) -> list[RatedSentence]:
    rows: list[RatedSentence] = []
    # Most files are ASCII; the movie snippets contain a little UTF-8. Lines end in CRLF.
    for line in raw.decode("utf-8", errors="replace").splitlines():
        parts = line.split("\t")
        if len(parts) != 3:
            continue
        sid, valence, text = parts
        text = text.strip()
        if not text:
            continue
        rows.append(RatedSentence(source, sid.strip(), text, float(valence)))
    return rows


def read_sentences_from_sdist(sdist: Path) -> list[RatedSentence]:
    """Parse the four ``*_GroundTruth.txt`` files out of the nested tarball."""
    with tarfile.open(sdist, "r:gz") as outer:
        member = next(
            m for m in outer.getmembers() if m.name.endswith(INNER_TARBALL) and m.isfile()
        )
        fh = outer.extractfile(member)
        assert fh is not None
        inner_bytes = fh.read()
    rows: list[RatedSentence] = []
    with tarfile.open(fileobj=io.BytesIO(inner_bytes), mode="r:gz") as inner:
        by_name = {Path(m.name).name: m for m in inner.getmembers() if m.isfile()}
        for source in SOURCES:
            m = by_name[f"{source}_GroundTruth.txt"]
            fh = inner.extractfile(m)
            assert fh is not None
            rows.extend(_parse_ground_truth(source, fh.read()))
    return rows


def load_vader_sentences() -> list[RatedSentence]:
    """All rated sentences, in file order (fetches the sdist with pip on first use)."""
    cached = cache_dir() / f"vader_{VADER_VERSION}_sentences.jsonl"
    if cached.exists():
        with cached.open(encoding="utf-8") as fh:
            return [RatedSentence(**json.loads(line)) for line in fh]
    rows = read_sentences_from_sdist(fetch_sdist())
    with tempfile.NamedTemporaryFile(
        "w", encoding="utf-8", dir=cached.parent, delete=False, suffix=".tmp"
    ) as tmp:
        for r in rows:
            tmp.write(
                json.dumps({"source": r.source, "sid": r.sid, "text": r.text, "valence": r.valence})
                + "\n"
            )
    os.replace(tmp.name, cached)
    return rows


@dataclass(frozen=True)
class LabelledVader:
    """The labelled VADER sentences and the fixed split."""

    rows: list[RatedSentence]
    labels: np.ndarray
    train: np.ndarray
    test: np.ndarray
    n_excluded: int

    def test_digest(self) -> str:
        return texts_digest([self.rows[i].text for i in self.test])


def stratified_split(
    rows: list[RatedSentence],
    labels: np.ndarray,
    seed: int = SPLIT_SEED,
    test_fraction: float = TEST_FRACTION,
) -> tuple[np.ndarray, np.ndarray]:
    """Fixed train/test indices, stratified by (source, label)."""
    rng = np.random.default_rng(seed)
    strata: dict[tuple[str, int], list[int]] = {}
    for i, r in enumerate(rows):
        strata.setdefault((r.source, int(labels[i])), []).append(i)
    train: list[int] = []
    test: list[int] = []
    for key in sorted(strata):
        idx = np.array(strata[key])
        rng.shuffle(idx)
        n_test = int(round(len(idx) * test_fraction))
        test.extend(idx[:n_test].tolist())
        train.extend(idx[n_test:].tolist())
    return np.array(sorted(train)), np.array(sorted(test))


def labelled_vader() -> LabelledVader:
    """Labelled sentences with the fixed split used by training, bench and tests."""
    everything = load_vader_sentences()
    rows = list(everything)
    labels = np.array([r.label for r in rows], dtype=np.int64)
    train, test = stratified_split(rows, labels)
    return LabelledVader(rows, labels, train, test, len(everything) - len(rows))


CONCERNS_PATH = Path(__file__).resolve().parent / "data" / "concerns.jsonl"


@dataclass(frozen=True, slots=True)
class ConcernExample:
    """One labelled caller utterance of the concern set."""

    id: str
    text: str
    labels: tuple[str, ...]
    split: str


def load_concerns(path: Path = CONCERNS_PATH) -> list[ConcernExample]:
    """All rows of the concern set, validated against ``CONCERNS``."""
    from models.signals import CONCERNS

    rows: list[ConcernExample] = []
    with path.open(encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            if not line.strip():
                continue
            obj = json.loads(line)
            labels = tuple(obj["labels"])
            unknown = set(labels) - set(CONCERNS)
            if unknown or obj["split"] not in ("train", "test"):
                raise ValueError(f"{path.name}:{n}: bad labels {unknown} or split")
            rows.append(ConcernExample(obj["id"], obj["text"], labels, obj["split"]))
    return rows


def texts_digest(texts: list[str]) -> str:
    """A short content hash, so cached features are never reused for other texts."""
    h = hashlib.sha256()
    for t in texts:
        h.update(t.encode("utf-8"))
        h.update(b"\0")
    return h.hexdigest()[:16]


def cached_features(texts: list[str], layers: tuple[int, ...]) -> np.ndarray:
    """Classifier features for ``texts`` (see ``models.classifier``), cached on disk.

    The cache key is the texts' content hash and the layer set, so a cached file is never
    used for other inputs; the cache lives outside git (``cache_dir()``).
    """
    from models.classifier import features_for_texts

    tag = "-".join(str(v) for v in layers)
    path = cache_dir() / f"feat_minilm_L{tag}_{texts_digest(texts)}.npy"
    dim = 384 * len(layers)
    if path.exists():
        feats = np.load(path)
        if feats.shape == (len(texts), dim):
            return feats.astype(np.float32)
    feats = features_for_texts(texts, layers)
    tmp = path.with_suffix(".tmp.npy")
    np.save(tmp, feats.astype(np.float32))
    os.replace(tmp, path)
    return feats


# ---------------------------------------------------------------- crisis hard set

CRISIS_HARD_PATH = Path(__file__).resolve().parent / "data" / "crisis_hard.jsonl"
CRISIS_EXTRA_PATH = Path(__file__).resolve().parent / "data" / "crisis_train_extra.jsonl"
# A second held-out set, written later by another author who saw none of the other data,
# the patterns or the models; never trained on, read once per shipped candidate (the card).
CRISIS_FRESH_PATH = Path(__file__).resolve().parent / "data" / "crisis_fresh.jsonl"
# A third held-out set (issue 9, twelfth round): 200 utterances in 50 families by a helper
# session that opened none of our data, patterns, models or tests; scored once on round 11's
# system before the round's changes and once after (the card); never trained on.
CRISIS_HELDOUT12_PATH = Path(__file__).resolve().parent / "data" / "crisis_heldout12.jsonl"
# A fourth (issue 9, fifteenth round): 238 utterances in 60 families by a helper session that
# opened nothing of the repository (two of its 240 safety-check rows were common phrases that
# a training file already holds word for word, so they were dropped unread); read as
# aggregates only (the card counts the reads).
CRISIS_HELDOUT15_PATH = Path(__file__).resolve().parent / "data" / "crisis_heldout15.jsonl"
# A fifth (issue 9, sixteenth round): by a helper session that opened nothing of the
# repository; read as aggregates only (the card counts the reads).
CRISIS_HELDOUT16_PATH = Path(__file__).resolve().parent / "data" / "crisis_heldout16.jsonl"
# A sixth (issue 9, seventeenth round): 240 utterances by two more helper sessions (120 each,
# 123 families) that opened nothing of the repository; read as aggregates only.
CRISIS_HELDOUT17_PATH = Path(__file__).resolve().parent / "data" / "crisis_heldout17.jsonl"
# A seventh (issue 9, seventeenth round, kept back for the round's last measurement): 120
# utterances in 60 families by another helper session that opened nothing of the repository.
CRISIS_HELDOUT18_PATH = Path(__file__).resolve().parent / "data" / "crisis_heldout18.jsonl"
# The utterance sets by name (``bench/redflag_candidate.py``): the hard set (its test split is
# scored) and the held-out sets of other authors.
CRISIS_SETS = {
    "test": CRISIS_HARD_PATH,
    "fresh": CRISIS_FRESH_PATH,
    "heldout12": CRISIS_HELDOUT12_PATH,
    "heldout15": CRISIS_HELDOUT15_PATH,
    "heldout16": CRISIS_HELDOUT16_PATH,
    "heldout17": CRISIS_HELDOUT17_PATH,
    "heldout18": CRISIS_HELDOUT18_PATH,
}
RED_FLAG_LABELS = ("none", "safety_check", "self_harm", "emergency")
# Concern labels that a hard-set row certainly carries, for training the concern heads
# (categories whose concerns are mixed, such as idioms or routine questions, are left out).
# Grief and fear rows were tried as sadness and fear examples: they taught the heads dates
# and months ("since March") as sadness, and "My date of birth is the twelfth of March" scored
# 0.76 sadness. Routine questions and everyday plans are certain negatives instead.
CONCERNS_OF_CATEGORY: dict[str, tuple[str, ...]] = {
    "routine_meds": (),
    "everyday_plans": (),
}


@dataclass(frozen=True, slots=True)
class CrisisExample:
    """One hand-written utterance of the crisis sets, with its phrasing family."""

    id: str
    text: str
    label: str
    category: str
    family: str
    split: str

    @property
    def concern_labels(self) -> tuple[str, ...] | None:
        """The concern labels this row certainly has, or None when they are mixed."""
        if self.label in ("self_harm", "emergency"):
            return ("crisis",)
        if self.label == "safety_check":
            return None  # hopelessness: sadness, fear or exhaustion, not certain
        return CONCERNS_OF_CATEGORY.get(self.category)


def load_crisis_rows(path: Path = CRISIS_HARD_PATH) -> list[CrisisExample]:
    """Rows of a crisis set (``crisis_hard.jsonl``: train/test split by family)."""
    rows: list[CrisisExample] = []
    families: dict[str, tuple[str, str]] = {}
    with path.open(encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            if not line.strip():
                continue
            obj = json.loads(line)
            row = CrisisExample(
                obj["id"], obj["text"], obj["label"], obj["category"], obj["family"], obj["split"]
            )
            if row.label not in RED_FLAG_LABELS or row.split not in ("train", "test"):
                raise ValueError(f"{path.name}:{n}: bad label {row.label!r} or split")
            # a family is one phrasing idea: it never straddles the train/test split
            seen = families.setdefault(row.family, (row.label, row.split))
            if seen != (row.label, row.split):
                raise ValueError(f"{path.name}:{n}: family {row.family} mixes labels or splits")
            rows.append(row)
    return rows


def crisis_training_rows() -> list[CrisisExample]:
    """Every training row: the hard set's train split plus the extra training set."""
    rows = load_crisis_rows(CRISIS_HARD_PATH)
    # The extra set was written later from a brief that quoted a few sentences which also
    # appear among the test rows: those copies are left out, so the test stays unseen.
    held_out = {_plain(r.text) for r in rows if r.split == "test"}
    extra = [r for r in load_crisis_rows(CRISIS_EXTRA_PATH) if _plain(r.text) not in held_out]
    return [r for r in rows if r.split == "train"] + extra


def _plain(text: str) -> str:
    return " ".join("".join(ch for ch in text.lower() if ch.isalnum() or ch.isspace()).split())
