"""Torch modules run on onnxruntime: exported in memory from the loaded float32 weights.

The classifier scores one window at a time on one thread. At that size a torch module
spends as much time in Python and operator dispatch as in the matrix products: for a
30-token window on the 2-core machine MiniLM's six layers take 15.2 ms of CPU in torch and
8.2 ms on onnxruntime, and the fine-tuned distress layers 4.2 vs 2.0 ms, with hidden states
equal to about 1e-5. So the weights stay where they are (the installed MiniLM, the committed
artifacts) and their graph is traced when a model is loaded (in a temporary folder, removed at
once): no artifact depends on an onnx file.
"""

from __future__ import annotations

import logging
import tempfile
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

OPSET = 17


def export_session(
    module: Any,
    example: Sequence[Any],
    input_names: Sequence[str],
    dynamic_axes: Mapping[str, Mapping[int, str]],
    threads: int = 1,
    int8: bool = False,
) -> Any:
    """An onnxruntime session running ``module`` (one output) on ``threads`` threads.

    ``example`` are the torch inputs the graph is traced with; choose them so that every
    branch the module takes at run time is taken (e.g. a padded batch when masks matter).
    ``int8``: weights of the MatMuls in int8, per output channel, and activations quantized
    per call (onnxruntime's dynamic quantization); the outputs then move a little.
    """
    import onnxruntime as ort
    import torch

    # The exporter and the quantizer write files: a private temporary folder, gone at once.
    with tempfile.TemporaryDirectory(prefix="carecue-onnx-") as tmp:
        path = Path(tmp) / "model.onnx"
        with torch.inference_mode(False), torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # tracer notes on shape-dependent Python branches
            torch.onnx.export(
                module.eval(),
                tuple(example),
                str(path),
                input_names=list(input_names),
                output_names=["out"],
                dynamic_axes={k: dict(v) for k, v in dynamic_axes.items()},
                opset_version=OPSET,
                dynamo=False,
            )
        if int8:
            path = _quantized(path)
        graph = path.read_bytes()
    opts = ort.SessionOptions()
    # The classifier runs inside a call's executor job next to the ASR engine on two cores:
    # one thread, as the torch modules are capped, and no busy-waiting.
    opts.intra_op_num_threads = max(1, threads)
    opts.inter_op_num_threads = 1
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
    opts.log_severity_level = 3
    session = ort.InferenceSession(graph, opts, providers=["CPUExecutionProvider"])
    del graph
    release_freed_memory()
    return session


def release_freed_memory() -> None:
    """Hand the heap that tracing and quantizing left free back to the OS (glibc only).

    Exporting and quantizing a graph allocates a few hundred MB that are free again
    afterwards, but glibc keeps them in the process: for the three red-flag nets the
    resident size stayed 255 MB higher until ``malloc_trim``. Done once per graph at load.
    """
    import ctypes
    import ctypes.util
    import gc

    gc.collect()
    libc = ctypes.util.find_library("c")
    if libc is None:
        return
    try:
        trim = ctypes.CDLL(libc).malloc_trim
    except (OSError, AttributeError):  # not glibc (e.g. musl): nothing to do
        return
    trim(0)


def _quantized(path: Path) -> Path:
    from onnxruntime.quantization import QuantType, quantize_dynamic

    out = path.with_name(path.stem + ".int8.onnx")
    root = logging.getLogger()
    root.addFilter(_no_preprocessing_advice)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            quantize_dynamic(path, out, weight_type=QuantType.QInt8, per_channel=True)
    finally:
        root.removeFilter(_no_preprocessing_advice)
    return out


def _no_preprocessing_advice(record: logging.LogRecord) -> bool:
    """The quantizer advises shape pre-processing on the root logger at every service start;
    these graphs are traced with their shapes, so the advice is noise in the service log."""
    return not str(record.msg).startswith("Please consider to run pre-processing")
