# tfpulse worker image: `tfpulse run` by default; the compose producer runs `tfpulse produce`.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    TFPULSE_KB=/app/kb

WORKDIR /app

# Dependencies and package first, so that editing the KB does not reinstall them.
COPY pyproject.toml README* ./
COPY worker ./worker
RUN pip install '.[fast]' \
    && rm -rf build ./*.egg-info

# The knowledge base is data, read from TFPULSE_KB (a non-editable install has no kb/
# beside the package).
COPY kb ./kb

# Non-root; /app stays read-only for it. State lives in the store (PostgreSQL in compose);
# a SQLite store needs a writable volume, e.g. --store sqlite:////data/tfpulse.db.
RUN useradd --system --uid 10001 --user-group --create-home --home-dir /home/tfpulse \
        --shell /usr/sbin/nologin tfpulse \
    && mkdir -p /data && chown tfpulse:tfpulse /data
USER tfpulse

EXPOSE 9464
CMD ["tfpulse", "run"]
