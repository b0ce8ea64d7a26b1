"""``carecue transcribe FILE``: a wav file through the live streaming ASR path.

The file is cut into 20 ms frames and pushed into one ``StreamingTranscriber`` per track,
exactly as live call audio would be (stereo: channel 0 is the caller, channel 1 the
agent), so what this prints is what a call would have shown.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import os
import sys
from enum import StrEnum
from pathlib import Path

import typer

from asr.types import Encoding

FRAME_S = 0.02


class OutputFormat(StrEnum):
    """How finals are printed."""

    text = "text"
    jsonl = "jsonl"


def _read_tracks(path: Path) -> tuple[list[bytes], int, Encoding]:
    """Per-channel bytes, their sample rate and encoding (G.711 stays G.711)."""
    from asr import codecs
    from asr.wavfile import WavFormatError, read_wav

    try:
        audio = read_wav(path)
    except WavFormatError as exc:
        raise typer.BadParameter(str(exc), param_hint="FILE") from exc
    if audio.channels not in (1, 2):
        raise typer.BadParameter(
            f"{path} has {audio.channels} channels; use mono or stereo "
            "(channel 0 caller, channel 1 agent)",
            param_hint="FILE",
        )
    tracks = list(codecs.split_channels(audio.data, audio.encoding, audio.channels))
    if audio.sample_rate in codecs.SUPPORTED_RATES:
        return tracks, audio.sample_rate, audio.encoding
    # Unusual rates are converted up front; everything else streams as recorded.
    converted = [
        codecs.encode_from_float(
            codecs.resample(codecs.decode_to_float(t, audio.encoding), audio.sample_rate, 16000),
            "pcm_s16le",
        )
        for t in tracks
    ]
    return converted, 16000, "pcm_s16le"


def _fmt_time(t: float) -> str:
    minutes, seconds = divmod(t, 60.0)
    return f"{int(minutes)}:{seconds:05.2f}"


async def _transcribe(
    tracks: list[bytes],
    rate: int,
    encoding: Encoding,
    engine_name: str,
    whisper_model: str,
    threads: int,
    fmt: OutputFormat,
    progress: bool,
) -> int:
    from tqdm import tqdm

    from asr import codecs
    from asr.engines.registry import get_engine
    from asr.transcriber import StreamingTranscriber, TranscriberConfig
    from asr.types import SPEAKERS, AudioFrame, TranscriptFinal

    vosk_dir = os.environ.get("CARECUE_VOSK_MODEL_DIR")
    moonshine_dir = os.environ.get("CARECUE_MOONSHINE_MODEL_DIR")
    loop = asyncio.get_running_loop()
    with concurrent.futures.ThreadPoolExecutor(
        max_workers=len(tracks), thread_name_prefix="asr"
    ) as executor:
        engine = await loop.run_in_executor(
            executor,
            lambda: get_engine(
                engine_name,
                whisper_model=whisper_model,
                vosk_model_dir=Path(vosk_dir) if vosk_dir else None,
                moonshine_model_dir=Path(moonshine_dir) if moonshine_dir else None,
                threads=threads,
                workers=len(tracks),
            ),
        )
        # Offline file: partials are not printed, so do not spend CPU on them.
        config = TranscriberConfig(partial_interval_s=1e9)
        transcribers = [
            StreamingTranscriber(SPEAKERS[i], engine, executor, config) for i in range(len(tracks))
        ]
        width = codecs.BYTES_PER_SAMPLE[encoding]
        step = int(rate * FRAME_S) * width
        total = max(len(t) for t in tracks)
        finals = 0
        # Mono prints finals as they come; with two tracks finals arrive per track, so
        # they are held and printed in start-time order at the end.
        held: list[TranscriptFinal] = []

        def emit(event: TranscriptFinal) -> None:
            if fmt is OutputFormat.jsonl:
                line = json.dumps(
                    {
                        "speaker": event.speaker,
                        "text": event.text,
                        "start_s": event.start_s,
                        "end_s": event.end_s,
                    },
                    ensure_ascii=False,
                )
            else:
                line = (
                    f"[{_fmt_time(event.start_s)} - {_fmt_time(event.end_s)}] "
                    f"{event.speaker}: {event.text}"
                )
            bar.write(line, file=sys.stdout)

        async def collect(tr: StreamingTranscriber) -> None:
            nonlocal finals
            async for event in tr:
                if isinstance(event, TranscriptFinal):
                    finals += 1
                    if len(tracks) == 1:
                        emit(event)
                    else:
                        held.append(event)

        with tqdm(
            total=-(-total // step),
            desc="transcribing",
            file=sys.stderr,
            disable=not progress,
            bar_format="{desc}: {percentage:3.0f}%|{bar}| "
            + f"{total / width / rate:.1f} s audio "
            + "[{elapsed}<{remaining}]",
        ) as bar:
            readers = [asyncio.create_task(collect(tr)) for tr in transcribers]
            try:
                for offset in range(0, total, step):
                    for tr, data in zip(transcribers, tracks, strict=True):
                        chunk = data[offset : offset + step]
                        if chunk:
                            await tr.send(AudioFrame(tr.speaker, chunk, rate, encoding))
                    bar.update(1)
                for tr in transcribers:
                    tr.end_input()
                await asyncio.gather(*readers)
                for event in sorted(held, key=lambda e: (e.start_s, e.speaker)):
                    emit(event)
            finally:
                for tr in transcribers:
                    await tr.aclose()
                for task in readers:
                    task.cancel()
    return finals


def register(cli: typer.Typer) -> None:
    """Add ``carecue transcribe`` to the CLI."""

    @cli.command("transcribe")
    def transcribe(
        file: Path = typer.Argument(
            ...,
            exists=True,
            dir_okay=False,
            readable=True,
            help="WAV file (PCM, mu-law or A-law; any rate)",
        ),
        engine: str = typer.Option(
            None,
            "--engine",
            help="whisper, vosk or moonshine (default: $CARECUE_ASR_ENGINE or whisper)",
        ),
        output: OutputFormat = typer.Option(
            OutputFormat.text, "--format", help="text, or jsonl: one JSON object per final"
        ),
        whisper_model: str = typer.Option(
            None, "--whisper-model", help="tiny.en or base (default: $CARECUE_WHISPER_MODEL)"
        ),
        threads: int = typer.Option(1, "--threads", min=1, max=16, help="Threads per decode"),
        progress: bool = typer.Option(True, "--progress/--no-progress", help="Progress bar"),
    ) -> None:
        """Transcribe a wav file (mono, or stereo with channel 0 caller and 1 agent)."""
        from asr.errors import AsrError, EngineLoadError

        tracks, rate, encoding = _read_tracks(file)
        engine_name = engine or os.environ.get("CARECUE_ASR_ENGINE") or "whisper"
        model = whisper_model or os.environ.get("CARECUE_WHISPER_MODEL") or "tiny.en"
        try:
            asyncio.run(
                _transcribe(tracks, rate, encoding, engine_name, model, threads, output, progress)
            )
        except EngineLoadError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(2) from exc
        except AsrError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(1) from exc
