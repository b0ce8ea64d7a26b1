"""Engine names to loaded engines, one shared model per engine per process."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Final

from asr.engines.base import AsrEngine, EngineLoadError

ENGINE_NAMES: Final[tuple[str, ...]] = ("whisper", "vosk", "moonshine")


class UnknownEngineError(EngineLoadError, ValueError):
    """The configured engine name is not one CareCue has."""

    def __init__(self, name: str) -> None:
        self.engine = name
        super().__init__(
            f"unknown ASR engine {name!r}; choose one of {', '.join(ENGINE_NAMES)} "
            "(setting CARECUE_ASR_ENGINE)"
        )


def load_engine(
    name: str,
    *,
    whisper_model: str = "tiny.en",
    vosk_model_dir: Path | None = None,
    moonshine_model_dir: Path | None = None,
    threads: int = 1,
    workers: int = 2,
    batch: int = 1,
) -> AsrEngine:
    """Load a fresh engine. Heavy imports happen here, not at module import.

    ``threads`` caps each decode's intra-op threads; ``workers`` (whisper only) is how
    many decodes may run in parallel on the shared weights (they are not copied: a second
    worker costs a few MB). Match it to the ASR executor's size, or decodes queue inside
    CTranslate2 while executor threads wait. ``batch`` > 1 (whisper only): one thread runs
    every decode, batching those that wait (``asr.engines.whisper.DecodeBatcher``).
    """
    key = name.strip().lower()
    if key == "whisper":
        from asr.engines.whisper import WhisperEngine

        if batch > 1:
            return WhisperEngine(whisper_model, threads=threads, workers=1, max_batch=batch)
        return WhisperEngine(whisper_model, threads=threads, workers=workers)
    if key == "vosk":
        from asr.engines.vosk import VoskEngine

        if vosk_model_dir is None:
            import importlib.util

            # Only ask for the package when it is really missing; usually only the model is.
            install = "" if importlib.util.find_spec("vosk") else "; and pip install vosk"
            raise EngineLoadError(
                "the vosk engine needs a model directory: set CARECUE_VOSK_MODEL_DIR to an "
                "unpacked English vosk model (e.g. vosk-model-small-en-us-0.15 from "
                f"alphacephei.com/vosk/models; see docs/asr/vosk-english.md){install}"
            )
        return VoskEngine(Path(vosk_model_dir))
    if key == "moonshine":
        from asr.engines.moonshine import MoonshineEngine

        return MoonshineEngine(
            Path(moonshine_model_dir) if moonshine_model_dir is not None else None,
            threads=threads,
        )
    raise UnknownEngineError(name)


_cache: dict[tuple[object, ...], AsrEngine] = {}
_cache_lock = threading.Lock()


def get_engine(
    name: str,
    *,
    whisper_model: str = "tiny.en",
    vosk_model_dir: Path | None = None,
    moonshine_model_dir: Path | None = None,
    threads: int = 1,
    workers: int = 2,
    batch: int = 1,
) -> AsrEngine:
    """The process-wide engine for these settings, loaded on first use (thread-safe).

    Every call and track shares it; engines keep per-utterance state in their decoders.
    """
    key = (
        name.strip().lower(),
        whisper_model,
        str(vosk_model_dir) if vosk_model_dir is not None else None,
        str(moonshine_model_dir) if moonshine_model_dir is not None else None,
        threads,
        workers,
        batch,
    )
    with _cache_lock:
        engine = _cache.get(key)
        if engine is None:
            engine = load_engine(
                name,
                whisper_model=whisper_model,
                vosk_model_dir=vosk_model_dir,
                moonshine_model_dir=moonshine_model_dir,
                threads=threads,
                workers=workers,
                batch=batch,
            )
            _cache[key] = engine
        return engine
