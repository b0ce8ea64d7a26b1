"""Capacity levers of the whisper engine, each measured alone, in CPU time per audio second.

    python3 bench/asr_levers.py window   # WER and CPU of the final's encoder window and padding
    python3 bench/asr_levers.py batch    # CTranslate2 encode+generate, batched vs one at a time
    python3 bench/asr_levers.py partials # pipeline CPU of partial cadences (caller / agent)
    python3 bench/asr_levers.py all

Process CPU time (``time.process_time``) is what is compared: on a machine shared with other
work, wall time measures the other work too; CPU time much less so (caches and SMT still
distort it a little). Every result records the load average before and after. WER does not
depend on time at all. Results are merged into ``bench/results/asr_levers.json`` and
``asr_levers.md`` (one entry per lever, newest run wins).

Corpus: ``bench/corpus`` 8 kHz mu-law files, streamed through the real
``StreamingTranscriber`` in 20 ms frames (as ``bench/asr_bench.py`` does).
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

RESULTS = ROOT / "bench" / "results"


def _load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def _engine(**kwargs: Any) -> Any:
    from asr.engines.whisper import WhisperEngine

    return WhisperEngine("tiny.en", threads=1, workers=1, **kwargs)


async def _corpus_run(engine: Any, config: Any, entries: list[dict[str, Any]]) -> dict[str, Any]:
    """Every file through a StreamingTranscriber on one thread; WER and CPU per audio second."""
    from asr.vad import get_vad
    from bench.asr_bench import _normaliser, wer

    normalise = _normaliser()
    vad = get_vad()
    refs: list[str] = []
    hyps: list[str] = []
    errors: list[dict[str, str]] = []
    audio_s = 0.0
    executor = concurrent.futures.ThreadPoolExecutor(1)
    c0 = time.process_time()
    for entry in entries:
        text, seconds = await _run_with(engine, executor, vad, entry, config)
        audio_s += seconds
        ref, hyp = normalise(entry["text"]), normalise(text)
        refs.append(ref)
        hyps.append(hyp)
        if ref != hyp:
            errors.append({"id": entry["id"], "ref": ref, "hyp": hyp})
    cpu = time.process_time() - c0
    executor.shutdown()
    return {
        "wer_8k_mulaw": round(wer(refs, hyps) or 0.0, 4),
        "cpu_s_per_audio_s": round(cpu / audio_s, 4),
        "audio_s": round(audio_s, 1),
        "files": len(entries),
        "errors": errors,
    }


async def _run_with(
    engine: Any, executor: Any, vad: Any, entry: dict[str, Any], config: Any
) -> tuple[str, float]:
    from asr.transcriber import StreamingTranscriber
    from asr.types import AudioFrame, TranscriptFinal
    from bench.asr_bench import _frames

    frames, encoding, rate = _frames(entry, "8k_mulaw")
    texts: list[str] = []
    async with StreamingTranscriber("caller", engine, executor, config, vad=vad) as tr:

        async def feed() -> None:
            for data in frames:
                await tr.send(AudioFrame("caller", data, rate, encoding))  # type: ignore[arg-type]
            # trailing silence so the endpoint, not the end of input, closes the utterance
            for _ in range(75):
                await tr.send(AudioFrame("caller", b"\xff" * int(rate * 0.02), rate, encoding))  # type: ignore[arg-type]
            tr.end_input()

        feeder = asyncio.create_task(feed())
        async for event in tr:
            if isinstance(event, TranscriptFinal):
                texts.append(event.text)
        await feeder
    seconds = sum(len(f) for f in frames) / rate
    return " ".join(texts), seconds


def _entries(limit: int) -> list[dict[str, Any]]:
    """The headline tiers (clean, accent, noisy), as in asr_bench's headline WER."""
    from bench.asr_bench import HEADLINE_TIERS, _load_corpus

    entries = [e for e in _load_corpus() if e["tier"] in HEADLINE_TIERS]
    return entries[:limit] if limit else entries


def lever_window(args: argparse.Namespace) -> dict[str, Any]:
    """Final encoder window: 10 s floor vs sized to the utterance; zero vs silence padding."""
    from asr.transcriber import TranscriberConfig

    # Finals only (no periodic partials): the window is a property of the final decode.
    config = TranscriberConfig(partial_interval_s=3600.0, partial_max_backlog_s=None)
    entries = _entries(args.limit)
    variants = [
        ("10s floor, zero-feature padding (before)", {"min_window_s": 10.0,
                                                       "pad_with_silence": False}),
        ("10s floor, silence padding", {"min_window_s": 10.0, "pad_with_silence": True}),
        ("utterance + 1 s (2 s floor), zero-feature padding", {"min_window_s": 2.0,
                                                               "pad_with_silence": False}),
        ("utterance + 1 s (2 s floor), silence padding", {"min_window_s": 2.0,
                                                          "pad_with_silence": True}),
        ("4 s floor, silence padding", {"min_window_s": 4.0, "pad_with_silence": True}),
        ("utterance + 2 s (2 s floor), zero-feature padding", {"min_window_s": 2.0,
                                                               "pad_s": 2.0,
                                                               "pad_with_silence": False}),
        ("utterance + 3 s (4 s floor), zero-feature padding", {"min_window_s": 4.0,
                                                               "pad_s": 3.0,
                                                               "pad_with_silence": False}),
        ("6 s floor, zero-feature padding", {"min_window_s": 6.0, "pad_with_silence": False}),
    ]
    if args.only:
        variants = [v for v in variants if any(o in v[0] for o in args.only)]
    out: dict[str, Any] = {"load_before": _load(), "variants": []}
    for label, kwargs in variants:
        engine = _engine(**kwargs)
        run = asyncio.run(_corpus_run(engine, config, entries))
        run.update({"variant": label, **kwargs, "load_after": _load()})
        print(json.dumps({k: v for k, v in run.items() if k != "errors"}), flush=True)
        out["variants"].append(run)
    return out


def lever_batch(args: argparse.Namespace) -> dict[str, Any]:
    """One CTranslate2 encode + greedy generate for B utterances vs B calls of one."""
    from asr import codecs
    from bench.asr_bench import _frames, _load_corpus

    engine = _engine(min_window_s=4.0)
    model = engine._model
    entries = [e for e in _load_corpus() if e["tier"] == "clean"][:16]
    clips = []
    for e in entries:
        frames, encoding, rate = _frames(e, "8k_mulaw")
        x = codecs.decode_to_float(b"".join(frames), encoding)
        clips.append(codecs.resample(x, rate, 16000))
    window = 600  # 6 s: the corpus utterances are 2.5-5 s

    def features(clip: np.ndarray) -> np.ndarray:
        padded = np.zeros(window * 160, dtype=np.float32)
        padded[: len(clip)] = clip[: window * 160]
        return model.feature_extractor(padded, padding=0)[:, :window]

    feats = [features(c) for c in clips]
    prompt = engine._prompt_ids
    import ctranslate2

    def run(batch: list[np.ndarray], beam: int) -> None:
        x = ctranslate2.StorageView.from_array(np.ascontiguousarray(np.stack(batch)))
        enc = model.model.encode(x, to_cpu=False)
        model.model.generate(enc, [prompt] * len(batch), beam_size=beam, max_length=80,
                             suppress_blank=True, suppress_tokens=engine._suppress)

    out: dict[str, Any] = {"load_before": _load(), "window_s": window / 100, "rows": []}
    audio_s = sum(min(len(c), window * 160) for c in clips) / 16000
    for beam in (1, 5):
        for b in (1, 2, 4, 8, 16):
            run(feats[:b], beam)  # warm
            reps = 2
            c0 = time.process_time()
            for _ in range(reps):
                for i in range(0, len(feats), b):
                    run(feats[i : i + b], beam)
            cpu = (time.process_time() - c0) / reps
            row = {"beam": beam, "batch": b, "cpu_s_per_utterance": round(cpu / len(feats), 4),
                   "cpu_s_per_audio_s": round(cpu / audio_s, 4), "load": _load()}
            print(json.dumps(row), flush=True)
            out["rows"].append(row)
    return out


def lever_partials(args: argparse.Namespace) -> dict[str, Any]:
    """Pipeline CPU per audio second for partial cadences (finals always on)."""
    from asr.transcriber import TranscriberConfig

    engine = _engine()
    entries = _entries(args.limit or 40)
    variants = [
        ("partials every 1 s (caller, idle)", 1.0),
        ("partials every 2 s (caller, thinned x2)", 2.0),
        ("partials every 3 s (agent default)", 3.0),
        ("no periodic partials", 3600.0),
    ]
    out: dict[str, Any] = {"load_before": _load(), "variants": []}
    for label, every in variants:
        config = TranscriberConfig(partial_interval_s=every, partial_max_backlog_s=None)
        run = asyncio.run(_corpus_run(engine, config, entries))
        run.update({"variant": label, "partial_interval_s": every, "load_after": _load()})
        run.pop("errors")
        print(json.dumps(run), flush=True)
        out["variants"].append(run)
    return out


LEVERS = {"window": lever_window, "batch": lever_batch, "partials": lever_partials}


def markdown(results: dict[str, Any]) -> str:
    lines = ["# ASR capacity levers (whisper tiny.en, CPU time)", "",
             "Generated by `python3 bench/asr_levers.py`. CPU seconds per audio second are "
             "process CPU time (one decode thread, `threads=1`); the machine's load average "
             "(1/5/15 min) is recorded with each lever. The machine was shared with other work "
             "unless the load average says otherwise, so absolute numbers are pessimistic; the "
             "ratios between variants are what the levers are chosen on.", ""]
    if "window" in results:
        r = results["window"]
        lines += ["## Final encoder window (8 kHz mu-law corpus, headline tiers; finals only)", "",
                  f"Load average before: {r['load_before']}.", "",
                  "| variant | WER 8k mu-law | CPU s / audio s | load after |",
                  "|---|---:|---:|---|"]
        for v in r["variants"]:
            lines.append(f"| {v['variant']} | {v['wer_8k_mulaw'] * 100:.1f}% | "
                         f"{v['cpu_s_per_audio_s']} | {v['load_after']} |")
        lines.append("")
    if "batch" in results:
        r = results["batch"]
        lines += ["## Batching encode + generate (16 clean utterances, "
                  f"{r['window_s']} s windows)", "",
                  f"Load average before: {r['load_before']}.", "",
                  "| beam | batch | CPU s / utterance | CPU s / audio s | load |",
                  "|---:|---:|---:|---:|---|"]
        for row in r["rows"]:
            lines.append(f"| {row['beam']} | {row['batch']} | {row['cpu_s_per_utterance']} | "
                         f"{row['cpu_s_per_audio_s']} | {row['load']} |")
        lines.append("")
    if "partials" in results:
        r = results["partials"]
        lines += ["## Partial cadence (whole pipeline: VAD, partials, finals)", "",
                  f"Load average before: {r['load_before']}.", "",
                  "| variant | CPU s / audio s | WER 8k mu-law | load after |",
                  "|---|---:|---:|---|"]
        for v in r["variants"]:
            lines.append(f"| {v['variant']} | {v['cpu_s_per_audio_s']} | "
                         f"{v['wer_8k_mulaw'] * 100:.1f}% | {v['load_after']} |")
        lines.append("")
    lines += [
        "## What was kept",
        "",
        "- **Partial cadence pays most.** Periodic partials are about half of the streaming "
        "cost at a 1 s cadence; every 3 s costs about 40% less per track-second than every "
        "1 s. Kept: agent partials every 3 s (and stopped under load), caller partials every "
        "1 s when idle, thinning to every 4 s as ASR jobs wait, stopping past 0.25 s.",
        "- **Batching pays for greedy decodes** (partials): about half the CPU per utterance "
        "at batch 16, a quarter less at batch 4; beam-5 finals gain only about 10%. Kept: "
        "one batch thread per engine, batch up to 8 (`CARECUE_ASR_BATCH_SIZE`).",
        "- **Encoder windows sized to the utterance do not pay for tiny.en**: CPU per audio "
        "second is unchanged (the tiny encoder is a small part of a decode), and one corpus "
        "final loses its last word (\"... should have\" for \"... should have covered\") "
        "with 1 s or 2 s of padding alike, so padding is not the cause. Padding with log-mel "
        "silence instead of zero features (openai-whisper's way) is much worse for tiny.en. "
        "Kept: the 10 s floor and zero-feature padding.",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("lever", choices=[*LEVERS, "all"])
    parser.add_argument("--limit", type=int, default=0, help="first N corpus files only")
    parser.add_argument("--only", action="append",
                        help="window: only variants whose label contains this (repeatable)")
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    path = RESULTS / "asr_levers.json"
    for name in LEVERS if args.lever == "all" else [args.lever]:
        fresh = LEVERS[name](args)
        fresh["date"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        if not args.no_write:
            # read just before writing: another lever may have been run meanwhile
            results: dict[str, Any] = json.loads(path.read_text()) if path.is_file() else {}
            old = results.get(name) or {}
            if name == "window" and old.get("variants"):
                # variants run separately are kept; a re-run of one replaces it
                labels = {v["variant"] for v in fresh["variants"]}
                kept = [v for v in old["variants"] if v["variant"] not in labels]
                fresh["variants"] = kept + fresh["variants"]
            results[name] = fresh
            RESULTS.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(results, indent=2) + "\n")
            (RESULTS / "asr_levers.md").write_text(markdown(results))


if __name__ == "__main__":
    main()
