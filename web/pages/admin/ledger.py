"""The ledger (台账) import: an office's spreadsheet of past cases checked first (a dry run that writes nothing
and keeps the file for a day), then imported all or nothing; the columns it reads under their Chinese headers,
and a template to fill in. Open to the roles the API lets import."""

from __future__ import annotations

import re
import secrets
import time
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from starlette.datastructures import FormData, UploadFile

from grievance.cases.upload_limits import file_too_large
from grievance.errors import Forbidden, InvalidInput
from grievance.glossary import role_label
from grievance.ledger.importer import import_ledger as run_ledger_import
from grievance.ledger.importer import read_ledger
from grievance.ledger.template import column_guides, template_xlsx
from grievance.users.models import User
from grievance.workflow.engine import Runtime
from web.api.ledger import IMPORT_ROLES
from web.pages.admin.forms import is_checked, runtime_of
from web.pages.common import LoginRequired, Viewer, check_csrf, gettext_for, optional_viewer, render
from web.uploads import read_form

router = APIRouter(prefix="/admin", include_in_schema=False)

UPLOAD_NAME = re.compile(r"^(?P<user>\d+)-(?P<token>[A-Za-z0-9_-]{20,64})(?P<suffix>\.csv|\.xlsx)$")
UPLOAD_HOURS = 24  # a dry-run file waits this long for its confirmation
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
TEMPLATE_NAME = ("ledger-template.xlsx", "台账模板.xlsx")  # for old browsers, and the name people see (RFC 6266)


def _import_viewer(request: Request) -> Viewer:
    """Signed in with a role that may import, checked in a short transaction of its own before the upload is
    read (as the API does), so no transaction is open while a large file arrives."""
    viewer = optional_viewer(request)
    if viewer is None:
        raise LoginRequired()
    if viewer.user.role not in IMPORT_ROLES:
        raise Forbidden(
            f"{role_label(viewer.user.role)}无权访问此页面",
            f"a {role_label(viewer.user.role, 'en')} may not open this page",
            allowed=list(IMPORT_ROLES),
        )
    return viewer


ImportViewer = Annotated[Viewer, Depends(_import_viewer)]


async def _import_form(request: Request, viewer: ImportViewer) -> FormData:
    form = await read_form(request)
    check_csrf(viewer, form)
    return form


def _uploads(runtime: Runtime) -> Path:
    return runtime.settings.data_dir / "ledger-uploads"


def _keep_upload(runtime: Runtime, user: User, filename: str, data: bytes) -> str:
    """Keep a dry-run file until its confirmation (a day at most), so the person need not choose it again."""
    folder = _uploads(runtime)
    folder.mkdir(parents=True, exist_ok=True)
    cutoff = time.time() - UPLOAD_HOURS * 3600
    for old in folder.iterdir():
        if UPLOAD_NAME.match(old.name) and old.stat().st_mtime < cutoff:
            old.unlink(missing_ok=True)
    name = f"{user.id}-{secrets.token_urlsafe(24)}{Path(filename).suffix.lower()}"
    (folder / name).write_bytes(data)
    return name


def _kept_upload(runtime: Runtime, user: User, name: str) -> Path:
    found = UPLOAD_NAME.match(name)
    path = _uploads(runtime) / name
    # The name is checked before the file system sees it (a 300-character name is an OSError there).
    mine = found is not None and found["user"] == str(user.id)
    fresh = mine and path.is_file() and path.stat().st_mtime >= time.time() - UPLOAD_HOURS * 3600
    if not fresh:
        raise InvalidInput.field(
            "file",
            "待确认的文件已过期或不存在，请重新选择文件 (the checked file has expired; choose the file again)",
            "the checked file has expired; choose the file again",
        )
    return path


def _import_page(
    request: Request,
    viewer: Viewer,
    *,
    summary: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    problems: list[dict[str, Any]] | None = None,
    kept: str = "",
    filename: str = "",
    dry_run: bool = True,
    create_categories: bool = False,
    status_code: int = 200,
) -> Response:
    guides = column_guides()
    return render(
        request,
        "admin/import.html",
        viewer,
        status_code=status_code,
        summary=summary,
        errors=errors or {},
        problems=problems or [],
        kept=kept,
        filename=filename,
        dry_run=dry_run,
        create_categories=create_categories,
        columns=guides,
        headers={g.name: g.header for g in guides},
        max_mb=f"{runtime_of(request).settings.ledger_max_bytes / (1024 * 1024):.3g}",  # 0.5, 1.5, 20: never "0 MB"
    )


@router.get("/import", response_class=HTMLResponse)
def import_form(request: Request, viewer: ImportViewer) -> Response:
    return _import_page(request, viewer)


@router.get("/import/template.xlsx")
def import_template(viewer: ImportViewer) -> Response:
    """The ledger template (grievance.ledger.template): the Chinese headers and one example row."""
    plain, chinese = TEMPLATE_NAME
    disposition = f"attachment; filename=\"{plain}\"; filename*=UTF-8''{quote(chinese)}"
    return Response(template_xlsx(), media_type=XLSX, headers={"Content-Disposition": disposition})


@router.post("/import", response_class=HTMLResponse)
def import_ledger(
    # In this order: sign-in and role, the upload, then the transaction.
    request: Request,
    viewer: ImportViewer,
    form: Annotated[FormData, Depends(_import_form)],
) -> Response:
    _ = gettext_for(viewer)
    runtime = runtime_of(request)
    dry_run = is_checked(form, "dry_run")
    create_categories = is_checked(form, "create_categories")
    item = form.get("file")
    kept = str(form.get("kept") or "")
    try:
        if isinstance(item, UploadFile) and item.filename:
            filename = item.filename
            if item.size is not None and item.size > runtime.settings.ledger_max_bytes:
                raise file_too_large("file", runtime.settings.ledger_max_bytes)
            source, data = filename, item.file.read()
            kept = ""
        elif kept:
            path = _kept_upload(runtime, viewer.user, kept)
            # The kept file's own name says its type; the name the person chose is only shown.
            source, data = path.name, path.read_bytes()
            filename = str(form.get("filename") or path.name)
        else:
            raise InvalidInput.field("file", "请选择台账文件（.csv 或 .xlsx）", "choose a ledger file (.csv or .xlsx)")
        ledger = read_ledger(source, data, max_rows=runtime.settings.ledger_max_rows)
        # Checked in a read-only transaction, written in a short one of its own: nothing of a refused ledger is kept.
        summary = run_ledger_import(
            request.app.state.sessions,
            runtime,
            ledger,
            actor=viewer.user,
            dry_run=dry_run,
            create_categories=create_categories,
        )
    except InvalidInput as exc:
        found = exc.detail.get("errors", [])
        problems = [e for e in found if "row" in e]
        errors = {
            str(e.get("field")): str(e.get("message_en" if viewer.locale == "en" else "message"))
            for e in found
            if "row" not in e
        }
        if problems or not errors:
            errors["_"] = exc.text(viewer.locale)
        return _import_page(
            request,
            viewer,
            errors=errors,
            problems=problems,
            dry_run=dry_run,
            create_categories=create_categories,
            status_code=422,
        )
    if dry_run:
        kept = _keep_upload(runtime, viewer.user, filename, data) if summary["created"] else ""
    elif kept:
        _uploads(runtime).joinpath(kept).unlink(missing_ok=True)
        kept = ""
    # The next upload is checked first again, whatever this one was.
    return _import_page(
        request,
        viewer,
        summary=summary,
        kept=kept,
        filename=filename,
        dry_run=True,
        create_categories=create_categories,
    )
