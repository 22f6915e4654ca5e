# Production image: one stateless app process per container on a shared PostgreSQL (compose.yaml, docs/deploy.md).
# Debian 12 (bookworm): its postgresql-client is 15, the server's major version, for `grievance backup`/`restore`
# (pg_dump/pg_restore); a newer client writes dumps an older server refuses.
FROM python:3.11-slim-bookworm
WORKDIR /app
# GRIEVANCE_PROJECT_ROOT: the package is installed (not editable), so it is told where alembic/, workflows/ and
# config/ are. FORWARDED_ALLOW_IPS: the addresses whose X-Forwarded-For/-Proto uvicorn believes (the reverse
# proxy); compose.yaml sets it, the default trusts only this container itself.
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_DISABLE_PIP_VERSION_CHECK=1 \
    GRIEVANCE_PROJECT_ROOT=/app GRIEVANCE_DATA_DIR=/data FORWARDED_ALLOW_IPS=127.0.0.1
COPY pyproject.toml README.md alembic.ini ./
COPY grievance grievance
COPY web web
COPY alembic alembic
COPY workflows workflows
COPY config config
# A regular install into site-packages (no -e): the image does not depend on this source tree staying in place.
# The copies of grievance/ and web/ are removed after it, so only the installed package can be imported.
RUN apt-get update \
    && apt-get install -y --no-install-recommends postgresql-client \
    && rm -rf /var/lib/apt/lists/* \
    && pip install --no-cache-dir . \
    && rm -rf grievance web build \
    && useradd --system --uid 10001 --home-dir /app --shell /usr/sbin/nologin grievance \
    && mkdir /data && chown grievance:grievance /data
USER grievance
EXPOSE 8000
VOLUME ["/data"]
# python, not curl: the slim image has no curl. /healthz runs SELECT 1: 503 (unhealthy) while the database is
# unreachable. Docker and compose only report that (restart policies act on exit, not on health), so nothing
# restarts in a loop during a database outage; /livez (no database) is for orchestrators that do restart.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4).status == 200 else 1)"]
# GRIEVANCE_DATABASE_URL must be set; run `grievance db upgrade` once per release before starting (the compose
# file's `migrate` service). Cookies: GRIEVANCE_COOKIE_SECURE=true behind the TLS proxy.
CMD ["grievance", "serve", "--host", "0.0.0.0", "--port", "8000"]
