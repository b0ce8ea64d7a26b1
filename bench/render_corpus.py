"""Render the ASR benchmark corpus once, so the benchmark itself needs no TTS.

    python3 bench/render_corpus.py

Reads ``bench/corpus/utterances.yaml`` and writes, per rendered utterance, an 8 kHz G.711
mu-law WAV (``bench/corpus/8k_mulaw/``) and a 16 kHz PCM WAV (``bench/corpus/16k_pcm/``), plus
``bench/corpus/manifest.jsonl``. Tiers:

- ``clean``: every utterance, natural Kokoro voices (US and British, female and male) rotated
  across utterances.
- ``accent``: a subset in regional accents through espeak-ng dialect codes (Caribbean
  ``en-029``, Scottish, Lancaster, New York, West Midlands): the text is phonemised with the
  dialect's pronunciation and spoken by a Kokoro voice (``bf_emma@en-gb-scotland``).
- ``noisy``: a different subset, Kokoro voices with white noise at 10 to 15 dB SNR (noise
  drawn per file at its own sample rate, seeded, so re-rendering is reproducible).
- ``espeak``: the accent subset again, spoken by espeak-ng's own (formant, robotic) voices in
  the same dialects. Reported on its own: it measures the recognisers on synthetic-sounding
  speech, which real callers do not produce.

Each utterance is rendered at most once per tier and the hard tiers are subsets, which keeps
the committed audio small. ``--tiers accent,noisy`` re-renders only those tiers and keeps the
other tiers' files and manifest lines.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import soxr
import yaml

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.wav_files import write_mulaw, write_pcm16  # noqa: E402
from carecue_sim.speech_synth import Engine, synthesize  # noqa: E402

CORPUS = ROOT / "bench" / "corpus"
KOKORO_VOICES = ("af_heart", "bm_george", "bf_emma", "am_michael", "af_bella")
ACCENTS = ("en-029", "en-gb-scotland", "en-gb-x-gbclan", "en-us-nyc", "en-gb-x-gbcwmd")
# espeak-ng's own voices for the same dialects (the ``espeak`` tier).
ESPEAK_VOICES = (
    "espeak:en-029",
    "espeak:en-gb-scotland+f3",
    "espeak:en-gb-x-gbclan",
    "espeak:en-us-nyc+f2",
    "espeak:en-gb-x-gbcwmd",
)
TIERS = ("clean", "accent", "noisy", "espeak")
LEAD_S = 0.25
TAIL_S = 0.4
SNR_RANGE_DB = (10.0, 15.0)
SEED = 20261127


def _to_int16(x: npt.NDArray[np.floating[Any]]) -> npt.NDArray[np.int16]:
    return np.clip(np.round(x * 32768.0), -32768, 32767).astype(np.int16)


def _at_rate(pcm: npt.NDArray[np.int16], rate: int, out_rate: int) -> npt.NDArray[np.float32]:
    x = pcm.astype(np.float32) / 32768.0
    if rate != out_rate:
        x = np.asarray(soxr.resample(x, rate, out_rate, quality="HQ"), dtype=np.float32)
    lead = np.zeros(int(LEAD_S * out_rate), dtype=np.float32)
    tail = np.zeros(int(TAIL_S * out_rate), dtype=np.float32)
    return np.concatenate([lead, x, tail])


def _add_noise(
    x: npt.NDArray[np.float32], snr_db: float, rng: np.random.Generator
) -> npt.NDArray[np.float32]:
    """White noise over the whole clip, lead and tail included, ``snr_db`` below speech power.

    Speech power is measured over non-silent samples only, so padding does not flatter it.
    """
    active = x[np.abs(x) > 1e-3]
    signal_power = float(np.mean(active**2)) if active.size else 0.0
    noise_power = signal_power / (10.0 ** (snr_db / 10.0))
    noise = rng.normal(0.0, np.sqrt(noise_power), size=x.shape).astype(np.float32)
    return x + noise


def _plan(utterances: list[dict[str, Any]]) -> list[dict[str, Any]]:
    jobs = []
    for i, utt in enumerate(utterances):
        jobs.append({**utt, "tier": "clean", "voice": KOKORO_VOICES[i % len(KOKORO_VOICES)]})
        if i % 4 == 1:
            k = i // 4
            voice = KOKORO_VOICES[(i + 1) % len(KOKORO_VOICES)]
            accent = ACCENTS[k % len(ACCENTS)]
            jobs.append({**utt, "tier": "accent", "voice": f"{voice}@{accent}"})
            # No noise draw for this tier: the noisy tier keeps its seeds (see main).
            espeak = ESPEAK_VOICES[k % len(ESPEAK_VOICES)]
            jobs.append({**utt, "tier": "espeak", "voice": espeak, "no_draw": True})
        elif i % 4 == 3:
            # A different Kokoro voice than the clean rendering of the same sentence.
            voice = KOKORO_VOICES[(i + 2) % len(KOKORO_VOICES)]
            jobs.append({**utt, "tier": "noisy", "voice": voice})
    return jobs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Render the ASR benchmark corpus")
    parser.add_argument("--only", help="render only ids starting with this prefix (debugging)")
    parser.add_argument("--tiers", default=",".join(TIERS), help="tiers to (re-)render")
    args = parser.parse_args(argv)
    tiers = {t.strip() for t in args.tiers.split(",") if t.strip()}
    if not tiers <= set(TIERS):
        raise SystemExit(f"unknown tier in {args.tiers!r}; tiers: {', '.join(TIERS)}")
    kept: dict[str, dict[str, Any]] = {}
    manifest_path = CORPUS / "manifest.jsonl"
    if manifest_path.is_file() and tiers != set(TIERS):
        for line in manifest_path.read_text(encoding="utf-8").splitlines():
            old = json.loads(line)
            if old["tier"] not in tiers:
                kept[old["id"]] = old

    spec = yaml.safe_load((CORPUS / "utterances.yaml").read_text(encoding="utf-8"))
    utterances: list[dict[str, Any]] = spec["utterances"]
    ids = [u["id"] for u in utterances]
    if len(set(ids)) != len(ids):
        raise SystemExit("duplicate utterance ids in utterances.yaml")
    for sub in ("8k_mulaw", "16k_pcm"):
        (CORPUS / sub).mkdir(parents=True, exist_ok=True)

    rng = np.random.default_rng(SEED)
    manifest = []
    jobs = _plan(utterances)
    for n, job in enumerate(jobs, 1):
        # Draw per job even when skipped, so --only renders the same noise as a full run.
        snr_db, noise_seed = 0.0, 0
        if not job.get("no_draw"):
            snr_db = float(rng.uniform(*SNR_RANGE_DB))
            noise_seed = int(rng.integers(0, 2**31))
        job_id = f"{job['tier']}/{job['id']}"
        if job["tier"] not in tiers:
            if job_id in kept:
                manifest.append(kept[job_id])
            continue
        if args.only and not job["id"].startswith(args.only):
            continue
        engine: Engine = "espeak" if job["voice"].startswith("espeak:") else "kokoro"
        pcm, rate = synthesize(job["text"], job["voice"], engine=engine)
        name = f"{job['tier']}_{job['id']}.wav"
        entry: dict[str, Any] = {
            "id": f"{job['tier']}/{job['id']}",
            "utterance_id": job["id"],
            "text": job["text"],
            "speaker": job["speaker"],
            "topic": job["topic"],
            "tier": job["tier"],
            "voice": job["voice"],
            "tts": engine,
            "snr_db": None,
            "paths": {"8k_mulaw": f"8k_mulaw/{name}", "16k_pcm": f"16k_pcm/{name}"},
            "speech_start_s": LEAD_S,
            "speech_end_s": round(LEAD_S + len(pcm) / rate, 3),
        }
        noise_rng = np.random.default_rng(noise_seed)
        for out_rate, sub in ((8000, "8k_mulaw"), (16000, "16k_pcm")):
            x = _at_rate(pcm, rate, out_rate)
            if job["tier"] == "noisy":
                x = _add_noise(x, snr_db, noise_rng)
                entry["snr_db"] = round(snr_db, 1)
            out = _to_int16(x)
            if sub == "8k_mulaw":
                write_mulaw(CORPUS / sub / name, out, out_rate)
            else:
                write_pcm16(CORPUS / sub / name, out, out_rate)
            entry["duration_s"] = round(len(out) / out_rate, 3)
        manifest.append(entry)
        print(
            f"[{n}/{len(jobs)}] {entry['id']} {job['voice']} {entry['duration_s']:.1f}s", flush=True
        )

    if not args.only:
        with (CORPUS / "manifest.jsonl").open("w", encoding="utf-8") as f:
            for entry in manifest:
                f.write(json.dumps(entry) + "\n")
        counts = {t: sum(1 for e in manifest if e["tier"] == t) for t in TIERS}
        total = sum(e["duration_s"] for e in manifest)
        print(f"manifest: {len(manifest)} files {counts}, {total:.0f} s of audio")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
