# syntax=docker/dockerfile:1
# Build stage: compile the wheel (message catalogs are compiled here, not at run time).
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml setup.py README.md ./
COPY bot ./bot
COPY commands ./commands
COPY storage ./storage
COPY config ./config
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

# Run stage: only the installed bot, as a non-root user, state in /data.
FROM python:3.11-slim
LABEL org.opencontainers.image.title="dsih-bot" \
      org.opencontainers.image.description="Community bot of the Dutch Societal Innovation Hub"
RUN useradd --create-home --uid 10001 dsih \
    && mkdir -p /data /config \
    && chown dsih:dsih /data
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/*.whl && rm -rf /wheels
COPY config/example.yaml /config/example.yaml
ENV DSIH_BOT__STORAGE__DATA_DIR=/data \
    PYTHONUNBUFFERED=1
USER dsih
VOLUME ["/data"]
HEALTHCHECK --interval=60s --timeout=10s --start-period=60s --retries=3 \
    CMD ["dsih-bot", "health", "--max-age", "150"]
ENTRYPOINT ["dsih-bot", "run"]
CMD ["--config", "/config/config.yaml"]
