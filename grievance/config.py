"""Settings of a deployment, read from GRIEVANCE_* environment variables; nothing secret has a default."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# Where alembic.ini, alembic/, workflows/ and config/ live: the checkout by default; an installed (non-editable)
# package sets GRIEVANCE_PROJECT_ROOT to the directory holding them (the Dockerfile: /app).
PROJECT_ROOT = Path(os.environ.get("GRIEVANCE_PROJECT_ROOT") or Path(__file__).resolve().parent.parent)
# How long a request waits for a busy database (SQLite's write lock, a PostgreSQL row or table lock, a free
# connection) before it is answered 503 with Retry-After: well under a browser's or a proxy's patience.
DEFAULT_DB_LOCK_TIMEOUT_SECONDS = 5.0


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="GRIEVANCE_", env_file=".env", extra="ignore")

    # sqlite:///path by default; postgresql+psycopg://user@host/db in production.
    database_url: str = f"sqlite:///{PROJECT_ROOT / 'var' / 'grievance.db'}"
    db_lock_timeout_seconds: float = Field(default=DEFAULT_DB_LOCK_TIMEOUT_SECONDS, gt=0, le=300)
    # SQLite only: FULL syncs the log at every commit (an acknowledged case survives a power cut); NORMAL is
    # faster and may lose the last commits in a power cut, never in a crash of the program (README, durability).
    sqlite_synchronous: Literal["FULL", "NORMAL"] = "FULL"

    @field_validator("sqlite_synchronous", mode="before")
    @classmethod
    def _synchronous_in_any_case(cls, value: object) -> object:
        # SQLite takes the pragma in any case; so do we ("full", " Normal ").
        return value.strip().upper() if isinstance(value, str) else value

    data_dir: Path = PROJECT_ROOT / "var"
    workflows_dir: Path = PROJECT_ROOT / "workflows"
    categories_file: Path = PROJECT_ROOT / "config" / "categories.yaml"
    timezone: str = "Asia/Shanghai"
    # The address petitioners' phones reach the public tracking page at (receipt link and QR code), e.g.
    # https://12345.example.gov.cn/ ; unset: the address the front desk itself used (fine on one network).
    public_base_url: str | None = Field(default=None, pattern=r"^https?://[^\s/]+(/[^\s]*)?$")
    case_no_prefix: str = "GX"
    duplicate_window_days: int = 30
    # Roles that see a petitioner's full phone and ID number; everyone else sees them masked.
    personal_data_roles: list[str] = Field(default_factory=lambda: ["intake", "dispatcher", "handler", "supervisor"])
    # Reports: the day assessment months start on (Beijing: the 19th, so "March" is 19 Feb - 18 Mar) and the
    # weight of 基本满意 in the satisfaction score (Beijing: 0.9).
    report_period_start_day: int = Field(default=1, ge=1, le=28)
    satisfaction_basic_weight: float = Field(default=0.9, ge=0, le=1)
    # Secure flag on the session, sign-in and language cookies: "true" in production behind a TLS-terminating
    # proxy (the app hears http), "false" for plain-HTTP tryouts, "auto" when the request arrived over HTTPS as
    # uvicorn sees it (X-Forwarded-Proto trusted only from FORWARDED_ALLOW_IPS). See docs/deploy.md.
    cookie_secure: Literal["auto", "true", "false"] = "auto"
    # Request bodies (web/body_limits.py), each refused with 413 naming its limit as soon as it is passed:
    # a JSON or form body; a multipart body (all its files and fields together); files per request.
    max_json_body_bytes: int = Field(default=1024 * 1024, ge=1024)
    max_upload_total_bytes: int = Field(default=50 * 1024 * 1024, ge=1024)
    max_files_per_request: int = Field(default=10, ge=1, le=1000)
    # One attachment; its type is read from its content (grievance/cases/attachment_content.py) and must be
    # one of attachment_types, whatever the client declared.
    attachment_max_bytes: int = 10 * 1024 * 1024
    attachment_types: list[str] = Field(
        default_factory=lambda: [
            "image/jpeg",
            "image/png",
            "image/gif",
            "image/webp",
            "image/heic",
            "application/pdf",
            "text/plain",
            "application/msword",
            "application/vnd.ms-excel",
            "application/vnd.ms-powerpoint",
            "application/vnd.openxmlformats-officedocument.presentationml.presentation",
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            "audio/mpeg",
            "audio/mp4",
            "audio/amr",
            "audio/x-wav",
            "video/mp4",
        ]
    )
    # Background jobs (issue 11): `grievance serve` runs the outbox worker and the supervision sweeper in-process
    # unless this is false (then run `grievance outbox run` and `grievance sweep` as their own processes).
    background_jobs: bool = True
    # The outbox (grievance/outbox): a delivery is tried up to outbox_max_attempts times, waiting
    # base * 2^(attempt-1) seconds (capped at outbox_backoff_max_seconds) between tries, then it is dead (the
    # admin may send it again); each HTTP request waits at most outbox_timeout_seconds. The defaults ride out a
    # receiver down for a day: 5 s, 10 s … 2560 s, then hourly; the 34th failure, about 24.4 h (plus up to 10%
    # jitter) after the first, makes it dead (docs/integrations.md, Retries).
    outbox_max_attempts: int = Field(default=34, ge=1, le=100)
    outbox_backoff_base_seconds: float = Field(default=5.0, gt=0, le=3600)
    outbox_backoff_max_seconds: float = Field(default=3600.0, gt=0, le=86400)
    outbox_timeout_seconds: float = Field(default=10.0, gt=0, le=120)
    outbox_poll_seconds: float = Field(default=2.0, gt=0, le=600)
    # Sent outbox messages (every delivery delivered or skipped) are deleted after this many days; dead and
    # pending ones stay (grievance/outbox/retention.py). The case's events are never pruned.
    outbox_retention_days: int = Field(default=30, ge=1, le=3650)
    # The supervision sweeper (automatic 催办 at the warning time, overdue at the due time) runs this often.
    sweep_interval_seconds: float = Field(default=60.0, gt=0, le=3600)
    # 12345 work orders: the shared secret the city platform signs its pushes with (HMAC-SHA256); unset, the
    # endpoint refuses every push (503) rather than accept unsigned orders.
    hotline12345_secret: str | None = None
    # Ledger (台账) files: bytes of the file and data rows below the header, refused early past either.
    ledger_max_bytes: int = Field(default=20 * 1024 * 1024, ge=1024)
    ledger_max_rows: int = Field(default=20_000, ge=1)

    @property
    def attachments_dir(self) -> Path:
        return self.data_dir / "attachments"


def get_settings() -> Settings:
    return Settings()
