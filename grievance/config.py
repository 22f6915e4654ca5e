"""Settings of a deployment, read from GRIEVANCE_* environment variables; nothing secret has a default."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent
# How long a request waits for a busy database (SQLite's write lock, a PostgreSQL row or table lock, a free
# connection) before it is answered 503 with Retry-After: well under a browser's or a proxy's patience.
DEFAULT_DB_LOCK_TIMEOUT_SECONDS = 5.0


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="GRIEVANCE_", env_file=".env", extra="ignore")

    # sqlite:///path by default; postgresql+psycopg://user@host/db in production.
    database_url: str = f"sqlite:///{PROJECT_ROOT / 'var' / 'grievance.db'}"
    db_lock_timeout_seconds: float = Field(default=DEFAULT_DB_LOCK_TIMEOUT_SECONDS, gt=0, le=300)
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
    attachment_max_bytes: int = 10 * 1024 * 1024
    attachment_types: list[str] = Field(
        default_factory=lambda: [
            "image/jpeg",
            "image/png",
            "application/pdf",
            "text/plain",
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            "audio/mpeg",
        ]
    )

    @property
    def attachments_dir(self) -> Path:
        return self.data_dir / "attachments"


def get_settings() -> Settings:
    return Settings()
