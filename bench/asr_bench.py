"""ASR benchmark: accuracy, speed, latency, memory and capacity of each engine.

    python3 bench/asr_bench.py                      # all engines -> bench/results/asr.{json,md}
    python3 bench/asr_bench.py --engines moonshine  # a subset (results for the others are kept)

Every corpus file (``bench/corpus/manifest.jsonl``, rendered by ``bench/render_corpus.py``)
goes through the real :class:`asr.transcriber.StreamingTranscriber` in 20 ms frames, the way
a telephone adapter feeds it. Each engine runs in its own subprocess, so its peak RSS and load
time are its own. Per engine:

- **WER**, normalised (Whisper's English text normaliser: case, punctuation, numbers,
  contractions), corpus level, on the 8 kHz mu-law files and on the 16 kHz PCM files, per tier.
- **RTF**: wall-clock processing time / audio duration over the whole corpus (8 kHz mu-law),
  frames pushed as fast as the transcriber takes them, partials on their normal 1 s cadence.
  ``rtf_cpu`` is the same with process CPU time, less sensitive to a busy machine.
- **End-of-speech-to-final latency** p50/p95: frames paced in real time (a frame is pushed
  when its 20 ms have elapsed), measured from the true end of speech in the file (known from
  rendering) to the final arriving at the consumer; endpoint silence wait included.
- **Max concurrent real-time streams**: N paced streams run at once on one engine and one
  bounded executor, N increasing, until p95 final latency exceeds 1.5 s or audio is dropped.
- **Load time** and **peak RSS** (VmHWM of the engine's subprocess).

Numbers depend on the machine and on what else runs on it; the markdown table says so.
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import datetime as dt
import json
import os
import platform
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

# Cap native thread pools before numpy / onnxruntime / ctranslate2 load.
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

CORPUS = ROOT / "bench" / "corpus"
RESULTS = ROOT / "bench" / "results"
FRAME_S = 0.02
LATENCY_BUDGET_S = 1.5  # p95 final latency a stream may have and still count as real time
TRAILING_SILENCE_S = 1.5  # fed after each file so the VAD endpoint (not end of input) fires
# Tiers in the headline WER. The ``espeak`` tier (espeak-ng's formant voices) is reported
# beside it: robotic speech fails recognisers for reasons real callers do not cause.
HEADLINE_TIERS = ("clean", "accent", "noisy")

ENGINES: dict[str, dict[str, Any]] = {
    "whisper-tiny.en": {"engine": "whisper", "whisper_model": "tiny.en"},
    "whisper-base": {"engine": "whisper", "whisper_model": "base"},
    "moonshine": {"engine": "moonshine"},
    "vosk": {"engine": "vosk"},
}


# --------------------------------------------------------------------------------------------
# Text normalisation and WER


def _normaliser() -> Any:
    from transformers.models.whisper.english_normalizer import EnglishTextNormalizer

    # Spelling variants the recognisers and our scripts disagree on; not errors a reader sees.
    return EnglishTextNormalizer({"ok": "okay", "xray": "x-ray", "x ray": "x-ray"})


def wer(refs: list[str], hyps: list[str]) -> float | None:
    """Corpus-level WER of already normalised texts (errors / reference words)."""
    import jiwer

    pairs = [(r, h) for r, h in zip(refs, hyps, strict=True) if r.strip()]
    if not pairs:
        return None
    out = jiwer.process_words([r for r, _ in pairs], [h if h.strip() else "" for _, h in pairs])
    return float(out.wer)


# --------------------------------------------------------------------------------------------
# Feeding files through the streaming transcriber


def _load_corpus() -> list[dict[str, Any]]:
    path = CORPUS / "manifest.jsonl"
    if not path.is_file():
        raise SystemExit(f"{path} missing: run python3 bench/render_corpus.py first")
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def _frames(entry: dict[str, Any], fmt: str) -> tuple[list[bytes], str, int]:
    from bench.wav_files import read_wav

    _, rate, encoding, raw = read_wav(CORPUS / entry["paths"][fmt])
    width = 1 if encoding == "mulaw" else 2
    step = int(rate * FRAME_S) * width
    return [raw[i : i + step] for i in range(0, len(raw), step)], encoding, rate


def _silence_frame(encoding: str, rate: int) -> bytes:
    n = int(rate * FRAME_S)
    return b"\xff" * n if encoding == "mulaw" else b"\x00\x00" * n


async def _run_fast(
    engine: Any, executor: Any, vad: Any, entry: dict[str, Any], fmt: str
) -> tuple[str, float]:
    """Push a whole file as fast as the transcriber takes it; returns (text, audio seconds)."""
    from asr.transcriber import StreamingTranscriber, TranscriberConfig
    from asr.types import AudioFrame, TranscriptFinal

    frames, encoding, rate = _frames(entry, fmt)
    # Partials on their 1 s cadence even with a backlog: RTF counts the real streaming work.
    config = TranscriberConfig(partial_max_backlog_s=None)
    texts: list[str] = []
    async with StreamingTranscriber("caller", engine, executor, config, vad=vad) as tr:

        async def feed() -> None:
            for data in frames:
                await tr.send(AudioFrame("caller", data, rate, encoding))  # type: ignore[arg-type]
            tr.end_input()

        feeder = asyncio.create_task(feed())
        async for event in tr:
            if isinstance(event, TranscriptFinal):
                texts.append(event.text)
        await feeder
    seconds = sum(len(f) for f in frames) / (rate * (1 if encoding == "mulaw" else 2))
    return " ".join(texts), seconds


async def _run_paced(
    engine: Any,
    executor: Any,
    vad: Any,
    entries: list[dict[str, Any]],
    fmt: str,
    start_delay_s: float = 0.0,
) -> dict[str, Any]:
    """Play files back to back in real time on one track; latency per file's last final."""
    from asr.transcriber import StreamingTranscriber
    from asr.types import AudioFrame, TranscriptFinal

    await asyncio.sleep(start_delay_s)
    loop = asyncio.get_running_loop()
    # Expected end of speech (monotonic time) of each file, filled in as the feeder runs.
    speech_ends: list[float] = []
    latencies: list[float] = []
    decode_latencies: list[float] = []
    finals: list[tuple[float, float]] = []  # (received monotonic, track end_s)
    track_ends: list[float] = []  # track time of each file's end of speech
    tr = StreamingTranscriber("caller", engine, executor, vad=vad)

    async def feed() -> None:
        t0 = loop.time()
        track = 0.0
        for entry in entries:
            frames, encoding, rate = _frames(entry, fmt)
            frames += [_silence_frame(encoding, rate)] * int(TRAILING_SILENCE_S / FRAME_S)
            speech_ends.append(t0 + track + entry["speech_end_s"])
            track_ends.append(track + entry["speech_end_s"])
            for data in frames:
                track += FRAME_S
                # A frame is sent once its 20 ms have been captured, as a phone system does.
                delay = t0 + track - loop.time()
                if delay > 0:
                    await asyncio.sleep(delay)
                tr.push(AudioFrame("caller", data, rate, encoding))  # type: ignore[arg-type]
        tr.end_input()

    async with tr:
        feeder = asyncio.create_task(feed())
        async for event in tr:
            if isinstance(event, TranscriptFinal):
                now = loop.time()
                finals.append((now, event.end_s))
                if event.speech_end_monotonic is not None:
                    decode_latencies.append(time.monotonic() - event.speech_end_monotonic)
        await feeder
    # Each file's end of speech is answered by the first final that ends at or after it
    # (VAD end times are within a few tens of ms of the rendered end of speech).
    for expected_at, track_end in zip(speech_ends, track_ends, strict=True):
        for received, end_s in finals:
            if end_s >= track_end - 0.25:
                latencies.append(received - expected_at)
                break
    return {
        "latencies": latencies,
        "decode_latencies": decode_latencies,
        "dropped_audio_s": tr.dropped_audio_s,
        "files": len(entries),
    }


def _pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    return float(np.percentile(np.asarray(values), q))


# --------------------------------------------------------------------------------------------
# One engine, in its own process


def _vm_hwm_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024.0
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def worker(name: str, args: argparse.Namespace) -> dict[str, Any]:
    """Measure one engine; runs inside a subprocess."""
    from asr.engines.registry import load_engine
    from asr.vad import get_vad

    spec = ENGINES[name]
    entries = _load_corpus()
    if args.limit:
        entries = entries[: args.limit]
    normalise = _normaliser()
    vad = get_vad()

    t = time.perf_counter()
    engine = load_engine(
        spec["engine"],
        whisper_model=spec.get("whisper_model", "tiny.en"),
        vosk_model_dir=Path(args.vosk_model_dir) if args.vosk_model_dir else None,
        threads=1,
        workers=2,
    )
    load_s = time.perf_counter() - t
    rss_after_load = _vm_hwm_mb()
    # Two executor threads for two cores, shared by every stream, as a server would run it.
    executor = concurrent.futures.ThreadPoolExecutor(max_workers=2, thread_name_prefix="asr")
    result: dict[str, Any] = {
        "engine": spec["engine"],
        "model": spec.get("whisper_model") or ("base-en" if name == "moonshine" else None),
        "load_time_s": round(load_s, 2),
    }

    async def accuracy() -> None:
        refs: dict[str, list[str]] = defaultdict(list)
        hyps: dict[str, list[str]] = defaultdict(list)
        audio_s = 0.0
        wall = {"8k_mulaw": 0.0, "16k_pcm": 0.0}
        cpu = {"8k_mulaw": 0.0, "16k_pcm": 0.0}
        for fmt in ("8k_mulaw", "16k_pcm"):
            for i, entry in enumerate(entries):
                w0, c0 = time.perf_counter(), time.process_time()
                text, seconds = await _run_fast(engine, executor, vad, entry, fmt)
                wall[fmt] += time.perf_counter() - w0
                cpu[fmt] += time.process_time() - c0
                if fmt == "8k_mulaw":
                    audio_s += seconds
                ref, hyp = normalise(entry["text"]), normalise(text)
                keys = [f"{fmt}/{entry['tier']}"]
                if entry["tier"] in HEADLINE_TIERS:
                    keys.append(fmt)
                for key in keys:
                    refs[key].append(ref)
                    hyps[key].append(hyp)
                if ref != hyp:
                    result.setdefault("errors_" + fmt, []).append(
                        {"id": entry["id"], "ref": ref, "hyp": hyp}
                    )
                if (i + 1) % 20 == 0:
                    print(f"  {name} {fmt}: {i + 1}/{len(entries)}", file=sys.stderr, flush=True)
        result["wer_8k_mulaw"] = _round(wer(refs["8k_mulaw"], hyps["8k_mulaw"]))
        result["wer_16k"] = _round(wer(refs["16k_pcm"], hyps["16k_pcm"]))
        result["wer_by_tier"] = {
            fmt: {
                tier: _round(wer(refs[f"{fmt}/{tier}"], hyps[f"{fmt}/{tier}"]))
                for tier in (*HEADLINE_TIERS, "espeak")
                if refs.get(f"{fmt}/{tier}")
            }
            for fmt in ("8k_mulaw", "16k_pcm")
        }
        result["wer_8k_mulaw_espeak_voices"] = result["wer_by_tier"]["8k_mulaw"].get("espeak")
        result["rtf"] = _round(wall["8k_mulaw"] / audio_s)
        result["rtf_cpu"] = _round(cpu["8k_mulaw"] / audio_s)
        result["rtf_16k"] = _round(wall["16k_pcm"] / audio_s)
        result["corpus_audio_s"] = round(audio_s, 1)
        result["files"] = len(entries)

    def engine_rtf() -> None:
        # The engine alone on whole utterances (no VAD, no partials): what the model costs.
        from bench.wav_files import read_wav

        clean = [e for e in entries if e["tier"] == "clean"][:20]
        audio_s = wall = cpu = 0.0
        for entry in clean:
            pcm, rate, _, _ = read_wav(CORPUS / entry["paths"]["16k_pcm"])
            x = pcm[:, 0].astype(np.float32) / 32768.0
            w0, c0 = time.perf_counter(), time.process_time()
            engine.transcribe(x)
            wall += time.perf_counter() - w0
            cpu += time.process_time() - c0
            audio_s += len(x) / rate
        result["engine_rtf"] = _round(wall / audio_s)
        result["engine_rtf_cpu"] = _round(cpu / audio_s)

    async def latency() -> None:
        natural = [e for e in entries if e["tier"] in HEADLINE_TIERS]
        subset = _latency_subset(natural, args.latency_files)
        out = await _run_paced(engine, executor, vad, subset, "8k_mulaw")
        lat = out["latencies"]
        result["final_latency_p50_s"] = _round(_pct(lat, 50))
        result["final_latency_p95_s"] = _round(_pct(lat, 95))
        result["final_latency_max_s"] = _round(max(lat) if lat else None)
        result["final_latency_samples"] = len(lat)
        result["finals_missing"] = out["files"] - len(lat)
        result["transcriber_reported_latency_p95_s"] = _round(_pct(out["decode_latencies"], 95))

    async def capacity() -> None:
        # Each stream plays a different slice of the corpus; starts are staggered so that
        # utterance ends do not all coincide (which real calls do not do either).
        per_stream = _latency_subset(
            [e for e in entries if e["tier"] in HEADLINE_TIERS], args.capacity_files
        )
        steps: list[dict[str, Any]] = []
        # Starting above 1 (``--min-streams``) continues an earlier run; the orchestrator
        # merges the steps (see merge_capacity), so only counts measured here count here.
        best = 0
        n = args.min_streams
        while n <= args.max_streams:
            runs = await asyncio.gather(
                *[
                    _run_paced(
                        engine,
                        executor,
                        vad,
                        per_stream[k % len(per_stream) :] + per_stream[: k % len(per_stream)],
                        "8k_mulaw",
                        start_delay_s=(k * 0.37) % 2.0,
                    )
                    for k in range(n)
                ]
            )
            lat = [x for r in runs for x in r["latencies"]]
            missing = sum(r["files"] for r in runs) - len(lat)
            dropped = sum(r["dropped_audio_s"] for r in runs)
            p95 = _pct(lat, 95)
            ok = p95 is not None and p95 <= LATENCY_BUDGET_S and dropped == 0 and missing == 0
            steps.append(
                {
                    "streams": n,
                    "p50_s": _round(_pct(lat, 50)),
                    "p95_s": _round(p95),
                    "dropped_audio_s": round(dropped, 2),
                    "finals_missing": missing,
                    "ok": ok,
                }
            )
            print(f"  {name} capacity: {steps[-1]}", file=sys.stderr, flush=True)
            if not ok:
                break
            best = n
            n = n + 1 if n < 4 else n + 2
        result["max_realtime_streams"] = best
        result["capacity_steps"] = steps

    async def main() -> None:
        if not args.skip_accuracy:
            await accuracy()
        engine_rtf()
        await latency()
        if not args.skip_capacity:
            await capacity()

    asyncio.run(main())
    executor.shutdown(wait=True)
    result["peak_rss_mb"] = round(_vm_hwm_mb(), 1)
    result["rss_after_load_mb"] = round(rss_after_load, 1)
    return result


def _latency_subset(entries: list[dict[str, Any]], count: int) -> list[dict[str, Any]]:
    """``count`` files spread over the corpus (every tier represented)."""
    if count >= len(entries):
        return list(entries)
    step = len(entries) / count
    return [entries[int(i * step)] for i in range(count)]


def _round(x: float | None, digits: int = 4) -> float | None:
    return None if x is None else round(float(x), digits)


# --------------------------------------------------------------------------------------------
# Orchestration and reporting


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


TARGETS = {"wer_8k_mulaw": 0.05, "rtf": 0.15, "final_latency_p95_s": 1.0}


def choose_default(engines: dict[str, dict[str, Any]]) -> str | None:
    """The engine meeting most of the issue's targets on the 8 kHz mu-law numbers.

    Targets: WER <= 5%, RTF <= 0.15, p95 end-of-speech-to-final <= 1.0 s (all measured on
    the 8 kHz mu-law corpus). Ties go to the lower WER, then the lower RTF.
    """
    measured = {k: v for k, v in engines.items() if v.get("wer_8k_mulaw") is not None}
    if not measured:
        return None

    def met(r: dict[str, Any]) -> int:
        return sum(
            1 for key, limit in TARGETS.items() if r.get(key) is not None and r[key] <= limit
        )

    return min(
        measured,
        key=lambda k: (-met(measured[k]), measured[k]["wer_8k_mulaw"], measured[k].get("rtf") or 9),
    )


def _fmt_pct(x: float | None) -> str:
    return "n/a" if x is None else f"{100 * x:.1f}%"


def _fmt(x: Any, unit: str = "") -> str:
    if x is None:
        return "n/a"
    if isinstance(x, float):
        return f"{x:.3f}{unit}" if x < 10 else f"{x:.0f}{unit}"
    return f"{x}{unit}"


def write_markdown(payload: dict[str, Any], meta: dict[str, Any], path: Path) -> None:
    """The human-readable table the README links."""
    engines = payload["engines"]
    lines = [
        "# ASR benchmark",
        "",
        f"Generated by `python3 bench/asr_bench.py` on {meta.get('date', '?')}. "
        f"Machine: {meta.get('cpu', '?')}, {meta.get('cores', '?')} cores. "
        "**The machine was shared with other jobs (up to 7 other engineers' processes) while "
        "this ran, so speed, latency and capacity numbers are pessimistic and noisy.**",
        "",
        f"Corpus: {meta.get('files', '?')} files ({meta.get('corpus_audio_s', '?')} s): "
        "Kokoro-82M voices (US/British, female/male) in the `clean` tier; regional accents "
        "through espeak-ng dialect codes (en-029, en-gb-scotland, en-gb-x-gbclan, en-us-nyc, "
        "en-gb-x-gbcwmd) phonemised by espeak-ng and spoken by Kokoro voices in `accent`; "
        "Kokoro with white noise at 10-15 dB SNR in `noisy`. The headline WER covers these "
        "three tiers. The `espeak` column is the accent sentences spoken by espeak-ng's own "
        "formant voices: robotic speech that the recognisers fail on for reasons real callers "
        "do not cause, reported separately. Each file is streamed through "
        "`StreamingTranscriber` in 20 ms frames. WER is normalised (Whisper English "
        "normaliser: case, punctuation, numbers, contractions).",
        "",
        f"**Default engine: `{payload['default_engine']}`**. Rule (`choose_default`): the "
        "engine that meets the most of the three targets on the 8 kHz mu-law numbers (headline "
        "WER <= 5%, streaming RTF <= 0.15, p95 final latency <= 1.0 s); ties go to the lower "
        "WER, then the lower RTF. Accuracy comes first among equals because a missed word "
        "reaches the agent, while speed only has to be good enough for the call volume "
        "(max RT streams). A target that was not measured counts as missed.",
        "",
        "| engine | WER 8k mu-law | WER 16k | 8k clean / accent / noisy | 8k espeak voices | "
        "RTF (cpu) | engine-only RTF (cpu) | final latency p50 / p95 | max RT streams | load "
        "| peak RSS |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, r in engines.items():
        if r.get("skipped"):
            lines.append(f"| {name} | skipped: {r['skipped']} | | | | | | | | | |")
            continue
        tiers = r.get("wer_by_tier", {}).get("8k_mulaw", {})
        lines.append(
            f"| {name} | {_fmt_pct(r.get('wer_8k_mulaw'))} | {_fmt_pct(r.get('wer_16k'))} | "
            f"{_fmt_pct(tiers.get('clean'))} / {_fmt_pct(tiers.get('accent'))} / "
            f"{_fmt_pct(tiers.get('noisy'))} | {_fmt_pct(tiers.get('espeak'))} | "
            f"{_fmt(r.get('rtf'))} ({_fmt(r.get('rtf_cpu'))}) | "
            f"{_fmt(r.get('engine_rtf'))} ({_fmt(r.get('engine_rtf_cpu'))}) | "
            f"{_fmt(r.get('final_latency_p50_s'), ' s')} / "
            f"{_fmt(r.get('final_latency_p95_s'), ' s')} | {_fmt(r.get('max_realtime_streams'))}"
            f"{' (earlier run)' if r.get('capacity_from_earlier_run') else ''} | "
            f"{_fmt(r.get('load_time_s'), ' s')} | {_fmt(r.get('peak_rss_mb'), ' MB')} |"
        )
    default = engines.get(payload["default_engine"] or "", {})
    if default:
        checks = [
            ("WER <= 5% on 8 kHz mu-law (clean, accent, noisy)", default.get("wer_8k_mulaw"), 0.05),
            (
                "WER <= 5% on 8 kHz mu-law, espeak-ng voices",
                default.get("wer_8k_mulaw_espeak_voices"),
                0.05,
            ),
            ("RTF <= 0.15", default.get("rtf"), 0.15),
            (
                "p95 end-of-speech-to-final <= 1.0 s (one stream)",
                default.get("final_latency_p95_s"),
                1.0,
            ),
        ]
        lines += ["", "Targets for the default engine:", ""]
        for label, value, limit in checks:
            status = "n/a" if value is None else ("met" if value <= limit else "**missed**")
            lines.append(f"- {label}: {value} -> {status}")
    lines += [
        "",
        "Definitions: RTF = wall-clock processing time / audio time over the 8 kHz corpus, "
        "frames pushed as fast as accepted, partials every second (cpu: process CPU time "
        "instead of wall time). Final latency = from the true end of speech in the file to "
        "the final reaching the consumer, audio paced in real time, 0.5 s endpoint silence "
        "included. Engine-only RTF = the model alone on 20 whole clean utterances (no VAD, "
        "no partials). Max RT streams = most concurrent paced streams (one engine, a 2-thread "
        "executor) with p95 final latency <= 1.5 s, no dropped audio and no missing finals; "
        "measured by running them, N = 1, 2, 3, 4, 6, ... Peak RSS = VmHWM of the engine's "
        "own benchmark process (VAD, normaliser and Python included).",
        "",
        "Per-tier and per-file detail: `bench/results/asr.json` (`errors_8k_mulaw` lists every "
        "utterance whose normalised hypothesis differs from the reference).",
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="CareCue ASR benchmark")
    parser.add_argument("--engines", default=",".join(ENGINES), help="comma-separated names")
    parser.add_argument("--vosk-model-dir", default=os.environ.get("CARECUE_VOSK_MODEL_DIR"))
    parser.add_argument("--latency-files", type=int, default=16)
    parser.add_argument("--capacity-files", type=int, default=6)
    parser.add_argument("--max-streams", type=int, default=24)
    parser.add_argument("--min-streams", type=int, default=1)
    parser.add_argument("--limit", type=int, default=0, help="use only the first N files")
    parser.add_argument("--skip-accuracy", action="store_true")
    parser.add_argument("--skip-capacity", action="store_true")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--worker-out", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.worker:
        out = worker(args.worker, args)
        Path(args.worker_out).write_text(json.dumps(out), encoding="utf-8")
        return 0

    RESULTS.mkdir(parents=True, exist_ok=True)
    json_path = RESULTS / "asr.json"
    previous: dict[str, Any] = {}
    if json_path.is_file():
        previous = json.loads(json_path.read_text(encoding="utf-8")).get("engines", {})
    engines: dict[str, dict[str, Any]] = {k: v for k, v in previous.items() if k in ENGINES}
    for name in [n.strip() for n in args.engines.split(",") if n.strip()]:
        if name not in ENGINES:
            raise SystemExit(f"unknown engine {name!r}; choose from {', '.join(ENGINES)}")
        if name == "vosk" and not args.vosk_model_dir:
            engines[name] = {
                "engine": "vosk",
                "wer_8k_mulaw": None,
                "wer_16k": None,
                "rtf": None,
                "final_latency_p95_s": None,
                "max_realtime_streams": None,
                "peak_rss_mb": None,
                "skipped": "no English vosk model configured (CARECUE_VOSK_MODEL_DIR unset; "
                "no English vosk model is in any registry this build can reach)",
            }
            print("vosk: skipped (CARECUE_VOSK_MODEL_DIR not set)", flush=True)
            continue
        out_file = RESULTS / f".asr-{name}.tmp.json"
        cmd = [
            sys.executable,
            str(Path(__file__).resolve()),
            "--worker",
            name,
            "--worker-out",
            str(out_file),
        ] + _passthrough(args)
        print(f"{name}: running {' '.join(cmd[2:])}", flush=True)
        t = time.perf_counter()
        proc = subprocess.run(cmd, cwd=ROOT, check=False)
        if proc.returncode != 0 or not out_file.is_file():
            engines[name] = {"error": f"benchmark process exited with {proc.returncode}"}
            continue
        fresh = json.loads(out_file.read_text(encoding="utf-8"))
        if args.skip_accuracy:
            # A latency/capacity re-run keeps the accuracy numbers measured before.
            fresh = merge_capacity({**engines.get(name, {}), **fresh}, engines.get(name, {}))
        elif args.skip_capacity and "capacity_steps" in engines.get(name, {}):
            # Capacity is not re-measured: keep the earlier steps, marked as such.
            old = engines[name]
            fresh["capacity_steps"] = old["capacity_steps"]
            fresh["max_realtime_streams"] = old.get("max_realtime_streams")
            fresh["capacity_from_earlier_run"] = old.get("capacity_from_earlier_run") or True
        engines[name] = fresh
        out_file.unlink()
        r = engines[name]
        print(
            f"{name}: wer_8k={r.get('wer_8k_mulaw')} wer_16k={r.get('wer_16k')} rtf={r.get('rtf')} "
            f"p95={r.get('final_latency_p95_s')} streams={r.get('max_realtime_streams')} "
            f"rss={r.get('peak_rss_mb')}MB ({time.perf_counter() - t:.0f}s)",
            flush=True,
        )

    entries = _load_corpus()
    meta = {
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "shared_machine": True,
        "files": len(entries),
        "corpus_audio_s": round(sum(e["duration_s"] for e in entries), 1),
        "python": platform.python_version(),
    }
    for r in engines.values():
        r.setdefault("shared_machine", True)
    payload = {
        "default_engine": choose_default(engines),
        "engines": dict(sorted(engines.items(), key=lambda kv: list(ENGINES).index(kv[0]))),
    }
    json_path.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
    write_markdown(payload, meta, RESULTS / "asr.md")
    print(f"default engine: {payload['default_engine']}; wrote {json_path} and asr.md")
    return 0


def merge_capacity(fresh: dict[str, Any], previous: dict[str, Any]) -> dict[str, Any]:
    """Join capacity steps of an earlier run with a continuation (newer wins per count).

    ``max_realtime_streams`` is the largest measured count that passed with every smaller
    measured count passing too: never a count that was not run.
    """
    steps = {s["streams"]: s for s in previous.get("capacity_steps", [])}
    steps.update({s["streams"]: s for s in fresh.get("capacity_steps", [])})
    best = 0
    for n in sorted(steps):
        if not steps[n]["ok"]:
            break
        best = n
    return {
        **fresh,
        "capacity_steps": [steps[n] for n in sorted(steps)],
        "max_realtime_streams": best,
    }


def _passthrough(args: argparse.Namespace) -> list[str]:
    out = [
        "--latency-files",
        str(args.latency_files),
        "--capacity-files",
        str(args.capacity_files),
        "--max-streams",
        str(args.max_streams),
        "--min-streams",
        str(args.min_streams),
        "--limit",
        str(args.limit),
    ]
    if args.vosk_model_dir:
        out += ["--vosk-model-dir", args.vosk_model_dir]
    if args.skip_accuracy:
        out.append("--skip-accuracy")
    if args.skip_capacity:
        out.append("--skip-capacity")
    return out


if __name__ == "__main__":
    raise SystemExit(main())
