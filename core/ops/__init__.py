"""Operations: metrics counters and the small HTTP server for /healthz and /metrics. Imports nothing above it, so
every layer may count what it does."""
