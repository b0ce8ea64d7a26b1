"""Render the bundled demo call once: ``carecue_sim/demo_call/sample_call.yaml`` -> WAV and timings.

    python3 bench/render_sample_call.py [--engine kokoro|espeak|auto]

Writes ``carecue_sim/demo_call/sample_call.wav`` (8 kHz G.711 mu-law, 2 channels: ch0 caller,
ch1 agent) and ``carecue_sim/demo_call/sample_call.turns.json``
(``{"turns": [{speaker, text, start_s, end_s}]}``).
Kokoro synthesis is deterministic on one machine, so re-running gives the same call.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.wav_files import write_mulaw  # noqa: E402
from carecue_sim.speech_synth import CallScript, render_call  # noqa: E402

DEMO_DIR = ROOT / "carecue_sim" / "demo_call"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--script", type=Path, default=DEMO_DIR / "sample_call.yaml")
    parser.add_argument("--out", type=Path, default=DEMO_DIR / "sample_call.wav")
    parser.add_argument("--engine", choices=["auto", "kokoro", "espeak"], default="kokoro")
    args = parser.parse_args(argv)

    script = CallScript.from_yaml(args.script)
    stereo, timings = render_call(script, engine=args.engine, sample_rate=8000)
    write_mulaw(args.out, stereo, 8000)
    turns_path = args.out.with_suffix(".turns.json")
    payload = {
        "sample_rate": 8000,
        "channels": {"0": "caller", "1": "agent"},
        "voices": script.voices.model_dump(),
        "engine": args.engine,
        "duration_s": round(len(stereo) / 8000, 3),
        "turns": timings,
    }
    turns_path.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
    print(
        f"wrote {args.out.relative_to(ROOT) if args.out.is_relative_to(ROOT) else args.out} "
        f"({len(stereo) / 8000:.1f} s, {len(timings)} turns) and {turns_path.name}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
