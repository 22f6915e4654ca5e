# Production image: one stateless app process per container on a shared PostgreSQL.
FROM python:3.11-slim
WORKDIR /app
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 GRIEVANCE_DATA_DIR=/data
COPY pyproject.toml README.md alembic.ini ./
COPY grievance grievance
COPY web web
COPY alembic alembic
COPY workflows workflows
COPY config config
RUN pip install --no-cache-dir -e . && useradd --system grievance && mkdir /data && chown grievance /data
USER grievance
EXPOSE 8000
# GRIEVANCE_DATABASE_URL must be set; run `grievance db upgrade` once per release before starting.
CMD ["grievance", "serve", "--host", "0.0.0.0", "--port", "8000"]
