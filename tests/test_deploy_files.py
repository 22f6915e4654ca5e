"""The deployment files say what docs/deploy.md promises (there is no Docker daemon in CI to build them): the
image runs a regular install as a non-root user with a healthcheck, the build context leaves local state out,
and compose.yaml runs PostgreSQL with a volume and a healthcheck, a one-shot migration, two app processes
behind a TLS proxy, with no password written in the file."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of the Dockerfile, continuation lines joined, comments dropped."""
    text = re.sub(r"\\\n", " ", (ROOT / "Dockerfile").read_text(encoding="utf-8"))
    steps = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            instruction, _, arguments = line.partition(" ")
            steps.append((instruction.upper(), arguments.strip()))
    return steps


def test_the_image_runs_an_installed_package_as_a_non_root_user_with_a_healthcheck() -> None:
    steps = dockerfile_instructions()
    names = [name for name, _ in steps]
    users = [args for name, args in steps if name == "USER"]
    assert users and users[-1] not in ("root", "0", "0:0")
    # The last USER comes before the command the container runs.
    assert names.index("CMD") > len(names) - 1 - names[::-1].index("USER")
    runs = " ".join(args for name, args in steps if name == "RUN")
    assert re.search(r"pip install [^&]*\.(\s|$)", runs), runs
    assert " -e " not in runs and "--editable" not in runs
    health = [args for name, args in steps if name == "HEALTHCHECK"]
    assert len(health) == 1 and "/healthz" in health[0] and "urllib" in health[0] and "curl" not in health[0]
    env = " ".join(args for name, args in steps if name == "ENV")
    assert "GRIEVANCE_PROJECT_ROOT=/app" in env  # the installed package finds alembic/ and workflows/
    for copied in ("alembic", "workflows", "config"):
        assert any(name == "COPY" and args.split()[0] == copied for name, args in steps), copied


def test_the_build_context_leaves_local_state_out() -> None:
    ignored = {
        line.strip()
        for line in (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    }
    for entry in (".venv", "var", ".git", "screenshots", "*.db", ".pytest_cache", ".env", "tests"):
        assert entry in ignored, entry
    # ...but nothing the image copies.
    copied = [args.split()[0] for name, args in dockerfile_instructions() if name == "COPY"]
    for source in copied:
        assert source not in ignored, source


def compose() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "compose.yaml").read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def test_compose_runs_postgresql_a_migration_two_app_processes_and_a_tls_proxy() -> None:
    services = compose()["services"]
    assert set(services) == {"db", "migrate", "app", "proxy"}  # no worker: the service has none yet

    db = services["db"]
    assert db["image"].startswith("postgres:")
    assert any(volume.endswith(":/var/lib/postgresql/data") for volume in db["volumes"])
    assert "pg_isready" in " ".join(db["healthcheck"]["test"])

    migrate = services["migrate"]
    assert migrate["command"] == ["grievance", "db", "upgrade"]
    assert migrate["depends_on"]["db"]["condition"] == "service_healthy"
    assert migrate["restart"] == "no"

    app = services["app"]
    assert app["deploy"]["replicas"] == 2
    assert app["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert "ports" not in app  # reachable through the proxy only (FORWARDED_ALLOW_IPS trusts the network)
    assert any(volume.endswith(":/data") for volume in app["volumes"])  # attachments shared by both
    env = app["environment"]
    assert env["GRIEVANCE_COOKIE_SECURE"] == "true"
    assert app["env_file"] == services["migrate"]["env_file"] == ".env"  # settings and secrets, not in git
    assert env["GRIEVANCE_DATABASE_URL"].startswith("postgresql+psycopg://")

    proxy = services["proxy"]
    assert "443:443" in proxy["ports"]
    mounted = [volume.split(":")[0] for volume in proxy["volumes"]]
    assert "./deploy/nginx.conf" in mounted
    nginx = (ROOT / "deploy" / "nginx.conf").read_text(encoding="utf-8")
    for directive in ("listen 443 ssl", "ssl_certificate ", "X-Forwarded-Proto", "X-Forwarded-For", "app:8000"):
        assert directive in nginx, directive


def test_compose_holds_no_password_and_requires_one_from_the_environment() -> None:
    text = (ROOT / "compose.yaml").read_text(encoding="utf-8")
    services = compose()["services"]
    password = services["db"]["environment"]["POSTGRES_PASSWORD"]
    assert password == "${POSTGRES_PASSWORD:?set POSTGRES_PASSWORD in .env}"  # no default: compose refuses
    assert "${POSTGRES_PASSWORD:?" in services["app"]["environment"]["GRIEVANCE_DATABASE_URL"]
    assert not re.search(r"POSTGRES_PASSWORD:-", text)  # never a fallback value
    assert ".env" in (ROOT / ".gitignore").read_text(encoding="utf-8").split()


def test_the_image_healthcheck_command_is_valid_python() -> None:
    """The HEALTHCHECK's python -c program compiles (a typo there marks every container unhealthy)."""
    health = next(args for name, args in dockerfile_instructions() if name == "HEALTHCHECK")
    exec_form = health[health.index("CMD") + 3 :].strip()
    argv = yaml.safe_load(exec_form)  # the exec form is a JSON array
    assert argv[:2] == ["python", "-c"]
    compile(argv[2], "<healthcheck>", "exec")
