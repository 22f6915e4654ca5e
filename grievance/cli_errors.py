"""How the `grievance` command refuses bad input and reports a problem: once, in Chinese and English, with the
same wording the API gives for the same input, exit code 2 and no traceback. Here too are the checks it makes
before acting: argument types, the API's input models, output file names, the server's address."""

from __future__ import annotations

import argparse
import errno
import socket
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NoReturn, TextIO

from pydantic import ValidationError
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from grievance.db import DatabaseBusy, DatabaseUnwritable, busy_error
from grievance.errors import DomainError, InvalidInput, field_errors
from grievance.input_bounds import FIRST_YEAR, LAST_YEAR
from grievance.textfiles import file_problem, undecodable
from grievance.workflow.loader import WorkflowErrors

EXIT_ERROR = 2  # argparse's own code for a usage error; README: "the CLI prints the same messages and exits 2"
EXIT_INTERRUPTED = 130


class BilingualArgumentParser(argparse.ArgumentParser):
    """argparse with its usage errors introduced in Chinese; argparse's own detail stays English, our argument
    types' messages are bilingual."""

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(EXIT_ERROR, f"{self.prog}: 错误 (error): 命令参数有误 (invalid arguments): {message}\n")


def _whole(text: str, low: int, high: int, zh: str, en: str) -> int:
    try:
        value = int(text.strip())
    except ValueError:
        value = low - 1
    if not low <= value <= high:
        raise argparse.ArgumentTypeError(
            f"{zh}应为 {low} 至 {high} 的整数，收到 {text!r} ({en} must be a whole number from {low} to {high}, "
            f"got {text!r})"
        )
    return value


def port(text: str) -> int:
    """A TCP port, 1-65535."""
    return _whole(text, 1, 65535, "端口", "the port")


def workers(text: str) -> int:
    """A number of server processes, 1-64."""
    return _whole(text, 1, 64, "进程数", "the number of workers")


def year(text: str) -> int:
    """A calendar year in the range every input keeps (grievance.input_bounds: 1900-2200)."""
    return _whole(text, FIRST_YEAR, LAST_YEAR, "年份", "the year")


def number(text: str) -> float:
    """A decimal number such as 3 or 0.5 (its range is the domain's to check)."""
    try:
        return float(text.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"应为数字，如 3 或 0.5，收到 {text!r} (a number such as 3 or 0.5, got {text!r})"
        ) from None


def check_can_listen(host: str, port_number: int) -> None:
    """Refuse (InvalidInput) a host that does not resolve or an address:port the server could not bind, before
    the server starts, instead of the server's traceback."""
    try:
        infos = socket.getaddrinfo(host, port_number, type=socket.SOCK_STREAM)
    except socket.gaierror:
        raise InvalidInput.field("host", f"无法解析主机名 {host}", f"cannot resolve the host name {host!r}") from None
    family, kind, proto, _name, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server does
        try:
            probe.bind(address)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                zh, en = f"端口 {port_number} 已被占用", f"port {port_number} is already in use"
            elif exc.errno == errno.EACCES:
                zh = f"没有权限使用端口 {port_number}（1024 以下的端口需要管理员权限）"
                en = f"permission denied for port {port_number} (ports below 1024 need administrator rights)"
            elif exc.errno == errno.EADDRNOTAVAIL:
                zh, en = f"本机没有地址 {host}", f"this machine has no address {host!r}"
            else:
                zh, en = f"无法在 {host}:{port_number} 上监听：{exc.strerror}", f"cannot listen on {host}:{port_number}"
            raise InvalidInput.field("port", zh, en) from None


def write_file(path: Path, body: bytes, *, field: str = "output") -> None:
    """Write an output file; a missing folder, a folder in its place or no permission is an InvalidInput."""
    try:
        path.write_bytes(body)
    except FileNotFoundError:
        folder = path.parent
        raise InvalidInput.field(field, f"文件夹不存在：{folder}", f"no such folder: {folder}") from None
    except OSError as exc:
        raise file_problem(exc, field=field) from None


# The command line's names for the input models' fields, so an error names what the user typed.
OPTIONS = {
    "held_on": "--date",
    "attendee_count": "--attendees",
    "is_large": "--large",
    **{name: f"--{name}" for name in ("parent", "address", "community", "department", "venue", "hosts", "station")},
    "liaison": "--liaison",
}


def checked_model(model: Any, **values: Any) -> Any:
    """The API's input model for these values: the same validation and the same messages as the API."""
    try:
        return model(**values)
    except ValidationError as exc:
        raise invalid_from_validation(exc, OPTIONS) from None


REPORT_SUFFIXES = {".json": "json", ".csv": "csv", ".xlsx": "xlsx", ".html": "html", ".htm": "html"}


def report_format(given: str | None, output: str | None) -> str:
    """--format, or the -o file's extension when --format is not given (json without either); an -o file
    whose extension is not the format's is refused, so a name never lies about its content."""
    if not output:
        return given or "json"
    suffix = Path(output).suffix.lower()
    implied = REPORT_SUFFIXES.get(suffix)
    if implied is None or (given is not None and implied != given):
        accepted = ", ".join(s for s, f in REPORT_SUFFIXES.items() if given in (None, f))
        raise InvalidInput.field(
            "output",
            f"输出文件 {output} 的扩展名应为 {accepted.replace(', ', '、')}",
            f"the output file {output} must end in {accepted}" + (f" for --format {given}" if given else ""),
        )
    return given or implied


# --- reporting ----------------------------------------------------------------------------------------------


def _line(message: str, message_en: str) -> str:
    return message if message_en in ("", message) else f"{message} | {message_en}"


def one_line(exc: DomainError) -> str:
    """A domain error as one line: its (first) field error in both languages, or its message."""
    errors = exc.detail.get("errors") or []
    if errors:
        return _line(str(errors[0].get("message", "")), str(errors[0].get("message_en", "")))
    return _line(exc.message, exc.message_en)


def print_domain_error(exc: DomainError, out: TextIO) -> None:
    """One line per problem: a field error alone when it is the whole story; a summary (a file refused as a
    whole) followed by each of its problems."""
    errors = exc.detail.get("errors") or []
    alone = len(errors) == 1 and exc.message in (errors[0].get("message"), errors[0].get("message_en"))
    if alone:
        print(f"错误 (error): {_line(errors[0]['message'], errors[0].get('message_en', ''))}", file=out)
    else:
        print(f"错误 (error): {_line(exc.message, exc.message_en)}", file=out)
        for err in errors:
            print(
                f"  - {err.get('field')}: {_line(str(err.get('message', '')), str(err.get('message_en', '')))}",
                file=out,
            )
    for key, value in exc.detail.items():
        if key not in ("errors", "retry_after"):
            print(f"  {key}: {value}", file=out)


def invalid_from_validation(exc: ValidationError, options: dict[str, str] | None = None) -> InvalidInput:
    """Pydantic's complaints as the API words them (field_errors), the fields named as the command line
    names them (`options`: model field -> option, e.g. held_on -> --date)."""
    renamed = []
    for err in exc.errors():
        loc = tuple(err.get("loc", ()))
        if loc and options and str(loc[0]) in options:
            loc = (options[str(loc[0])], *loc[1:])
        renamed.append({**err, "loc": loc})
    errors = field_errors(renamed, skip_body=False)
    # One problem is its own headline; several get the API's summary above them.
    if len(errors) == 1:
        return InvalidInput(errors[0]["message"], errors[0]["message_en"], errors)
    return InvalidInput("输入有误", "invalid input", errors)


def user_error(exc: BaseException, *, lock_timeout: float, database_url: str | None = None) -> DomainError | None:
    """The user-facing error a failure stands for, or None for a fault of the program."""
    if isinstance(exc, DomainError):
        return exc
    if isinstance(exc, ValidationError):
        return invalid_from_validation(exc)
    if isinstance(exc, OSError):
        return file_problem(exc)
    if isinstance(exc, SQLAlchemyError):
        busy = busy_error(exc, lock_timeout)
        return cli_database_error(busy, database_url) if busy is not None else None
    if isinstance(exc, UnicodeDecodeError):
        return undecodable()
    if isinstance(exc, OverflowError):
        return InvalidInput.field("value", f"日期或数值超出范围：{exc}", f"a date or number is out of range: {exc}")
    return None


class DatabaseUnreachable(DomainError):
    """The CLI's wording of an unreachable or busy database (the API's DatabaseBusy says "retry in N seconds",
    which reads oddly for a command that has exited): which database, what to check; exit code 2."""

    status_code = 503
    code = "database_unavailable"


def safe_url(url: str) -> str:
    """`url` with its password replaced by ***: postgresql://app:secret@db/g -> postgresql://app:***@db/g."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except (ArgumentError, ValueError):
        return "(GRIEVANCE_DATABASE_URL)"


def cli_database_error(busy: DatabaseBusy, database_url: str | None) -> DomainError:
    """`busy` (from grievance.db.busy_error) as the CLI says it; a full or read-only database keeps its message."""
    if isinstance(busy, DatabaseUnwritable) or database_url is None:
        return busy
    where = safe_url(database_url)
    if busy.code == "database_unavailable":
        return DatabaseUnreachable(
            f"无法连接数据库 {where}：请检查数据库服务是否在运行、网络是否可达，以及 GRIEVANCE_DATABASE_URL 是否正确",
            f"cannot reach the database {where}: check that the database server is running and reachable and "
            "that GRIEVANCE_DATABASE_URL is right",
        )
    return DatabaseUnreachable(
        f"数据库 {where} 正忙（被另一个操作锁定），本命令未保存任何内容；请等其他操作结束后重新运行",
        f"the database {where} is busy (locked by another operation); this command saved nothing; run it again "
        "once the other operation has finished",
    )


@contextmanager
def reported(
    *,
    lock_timeout: float,
    pending_migration: Callable[[], str | None],
    traceback: bool = False,
    database_url: str | None = None,
) -> Iterator[list[int]]:
    """Run a command; turn whatever it raises into one bilingual message on stderr and exit code 2 (130 when
    interrupted). Yields a one-item list the caller reads the exit code from."""
    code = [0]
    try:
        yield code
    except KeyboardInterrupt:
        print("\n已中断 (interrupted)", file=sys.stderr)
        code[0] = EXIT_INTERRUPTED
    except WorkflowErrors as exc:
        for problem in exc.problems:
            print(f"ERROR {problem}", file=sys.stderr)
        code[0] = EXIT_ERROR
    except Exception as exc:
        if traceback:
            raise
        code[0] = EXIT_ERROR
        error = user_error(exc, lock_timeout=lock_timeout, database_url=database_url)
        if error is not None:
            print_domain_error(error, sys.stderr)
            if isinstance(error, DatabaseBusy | DatabaseUnreachable):
                print(f"  {str(exc).splitlines()[0]}", file=sys.stderr)
        elif isinstance(exc, SQLAlchemyError):
            print(f"错误 (error): {_database_hint(exc, pending_migration)}", file=sys.stderr)
        else:
            print(
                f"错误 (error): 程序内部错误 (internal error) {exc.__class__.__name__}: {exc}\n"
                "  用 `grievance --traceback ...` 查看详情 (run `grievance --traceback ...` for the details)",
                file=sys.stderr,
            )


def _database_hint(exc: SQLAlchemyError, pending_migration: Callable[[], str | None]) -> str:
    try:
        hint = pending_migration()
    except SQLAlchemyError:
        hint = None
    first = str(exc).splitlines()[0] if str(exc) else ""
    return hint or f"数据库出错 (database error) {exc.__class__.__name__}: {first}"


def settings_problem(exc: ValidationError) -> DomainError:
    """A GRIEVANCE_* variable (or .env line) with a bad value, named as the deployment wrote it."""
    options = {str(err["loc"][0]): f"GRIEVANCE_{str(err['loc'][0]).upper()}" for err in exc.errors() if err["loc"]}
    return invalid_from_validation(exc, options)


def undecodable_argument(argv: Sequence[str]) -> DomainError | None:
    """InvalidInput naming the first command-line argument with bytes that are not valid in the locale's encoding
    (Python keeps them as lone surrogates, which no database or file write accepts); None when all decode."""
    for position, arg in enumerate(argv, start=1):
        if any("\udc80" <= ch <= "\udcff" for ch in arg):
            shown = arg.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
            return InvalidInput.field(
                "argv",
                f"第 {position} 个参数「{shown}」含有无法识别的字节（不是有效的 UTF-8 文本），请检查终端或脚本的编码",
                f"argument {position} '{shown}' holds bytes that are not valid UTF-8 text; check the encoding of "
                "the terminal or script",
            )
    return None


def print_problem(exc: DomainError) -> int:
    print_domain_error(exc, sys.stderr)
    return EXIT_ERROR
