"""Refuses, before any route runs, the text no column can store and the JSON no parser survives: a NUL character
(or a lone surrogate) in the path, the query string, a cookie or header, a url-encoded form field, a multipart
text field or a JSON string, and JSON nested deeper than MAX_JSON_DEPTH.

The answers, the same on SQLite and PostgreSQL, for the JSON API and the pages alike:
- NUL in the path: 404. A path names a resource (a case number, a query code, an id) and no name holds a NUL,
  so it names nothing; the same answer as any other unknown name, so a probe learns nothing more.
- Everywhere else (query, cookie, header, form, JSON): 422 naming the field (`q`, `petitioner.name`,
  `cookie:grievance_session`, `header:idempotency-key`), saying what is wrong in Chinese and English.
- JSON deeper than MAX_JSON_DEPTH (64; our deepest body is 3 levels): 422 `json_too_deep`, checked by a scan
  before any parser recurses (Python's json raises RecursionError near 1,000 levels).
Every form and query string is read as UTF-8, raw (`curl -d description=测试`) or percent-encoded, whatever
charset it declares: raw bytes above 0x7F are passed on percent-encoded (Starlette would read them as Latin-1 and
store mojibake), and bytes that are not UTF-8 (GBK) are refused, 422 naming the field ("is not valid UTF-8 text").
Multipart file parts are not checked: binary files contain NUL bytes. The JSON inside a multipart text field
(intake's `case` part) is checked by grievance.input_bounds' flush check, which also guards the CLI.

The body is inspected as the route reads it, never ahead of it (authentication still comes before the body):
the chunks pass through, the last one is held until the whole body is checked. On a refusal the route's reading
fails and whatever it answers is replaced by the refusal."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qsl

from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import Request, cookie_parser
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from grievance.input_bounds import text_problem

log = logging.getLogger("grievance.web")

MAX_JSON_DEPTH = 64
MAX_TEXT_PART = 4 * 1024 * 1024  # a multipart text field longer than this is left to the form parser's own cap
# In JSON text: a string (skipped whole), or a bracket that opens or closes a level.
_JSON_TOKENS = re.compile(rb'"(?:[^"\\]|\\.)*"|[\[\]{}]', re.DOTALL)
# A NUL or a surrogate escape (\u0000, \ud800...) preceded by an even number of backslashes, or a raw NUL.
_JSON_SUSPECT = re.compile(rb"(?<!\\)(?:\\\\)*\\u(?:0000|[dD][89a-fA-F][0-9a-fA-F]{2})|\x00")


# Bytes that are not UTF-8 become lone surrogates (\udc80-\udcff) instead of U+FFFD, so text_problem refuses
# them naming the field: a form or query value is never stored with its bytes silently replaced.
_UNDECODED = "surrogateescape"


class Refusal(Exception):
    """Why a request is refused: HTTP status, error code, the field and the bilingual message."""

    def __init__(self, status: int, code: str, field: str, message: str, message_en: str) -> None:
        super().__init__(message_en)
        self.status, self.code, self.field = status, code, field
        self.message, self.message_en = message, message_en


def _shown(name: str) -> str:
    """A field name fit to show, its own NUL bytes written out."""
    return name.replace("\x00", "\\0").encode("utf-8", "backslashreplace").decode("ascii", "replace")[:100]


# Python refuses to turn more than sys.get_int_max_str_digits() (4,300) digits into an int (a guard against
# quadratic-time parsing), so int() and json.loads raise on such a run: refuse it here as a 422 naming the field.
_LONG_NUMBER_DIGITS = 4300
_LONG_NUMBER = re.compile(r"\d{" + str(_LONG_NUMBER_DIGITS + 1) + ",}")
_LONG_NUMBER_BYTES = re.compile(rb"\d{" + str(_LONG_NUMBER_DIGITS + 1).encode() + b",}")


def _long_number_refusal(field: str) -> Refusal:
    return Refusal(
        422,
        "number_too_long",
        _shown(field),
        f"{_shown(field)}：数字过长（超过 {_LONG_NUMBER_DIGITS} 位），不是可接受的编号或数值",
        f"{_shown(field)}: a number longer than {_LONG_NUMBER_DIGITS} digits is not an accepted id or value",
    )


def _text_refusal(field: str, text: str) -> Refusal | None:
    if _LONG_NUMBER.search(text) is not None:
        return _long_number_refusal(field)
    problem = text_problem(text)
    if problem is None:
        return None
    zh, en = problem
    return Refusal(422, "invalid_text", _shown(field), f"{_shown(field)}：{zh}", f"{_shown(field)}: {en}")


def _pairs_refusal(pairs: list[tuple[str, str]], prefix: str = "") -> Refusal | None:
    for key, value in pairs:
        refusal = _text_refusal(prefix + key, key) or _text_refusal(prefix + key, value)
        if refusal is not None:
            return refusal
    return None


def head_refusal(scope: Scope) -> Refusal | None:
    """The refusal of a request's path, query string, cookies and headers, or None."""
    if "\x00" in scope.get("path", ""):
        return Refusal(
            404,
            "not_found",
            "path",
            "地址中含空字符（NUL），没有这样的对象",
            "the address contains a NUL character: nothing has such a name",
        )
    query = scope.get("query_string", b"").decode("latin-1")
    refusal = _pairs_refusal(parse_qsl(query, keep_blank_values=True, errors=_UNDECODED))
    if refusal is not None:
        return refusal
    for raw_name, raw_value in scope.get("headers", []):
        name = raw_name.decode("latin-1").lower()
        if name == "cookie":
            refusal = _pairs_refusal(list(cookie_parser(raw_value.decode("latin-1")).items()), "cookie:")
        elif b"\x00" in raw_value:
            refusal = _text_refusal(f"header:{name}", "\x00")
        if refusal is not None:
            return refusal
    return None


def _json_depth(body: bytes) -> int:
    """The deepest nesting of arrays and objects in JSON text (strings skipped), without recursion."""
    depth = deepest = 0
    for token in _JSON_TOKENS.finditer(body):
        char = token.group()
        if char in (b"[", b"{"):
            depth += 1
            if depth > deepest:
                deepest = depth
                if deepest > MAX_JSON_DEPTH:
                    return deepest
        elif char in (b"]", b"}"):
            depth -= 1
    return deepest


def _strings(value: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[str, str]]:
    """(field path, text) for every key and string in parsed JSON; the path as dotted names (`petitioner.name`)."""
    if isinstance(value, str):
        yield ".".join(path) or "body", value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield ".".join((*path, key)) or "body", key
            yield from _strings(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _strings(item, (*path, str(index)))


def _depth_refusal(body: bytes, field: str) -> Refusal | None:
    """`json_too_deep` at `field` when the JSON text nests more than MAX_JSON_DEPTH levels, else None."""
    if body.count(b"[") + body.count(b"{") > MAX_JSON_DEPTH and _json_depth(body) > MAX_JSON_DEPTH:
        return Refusal(
            422,
            "json_too_deep",
            field,
            f"{field}：JSON 嵌套过深，最多 {MAX_JSON_DEPTH} 层",
            f"{field}: JSON nested too deep: at most {MAX_JSON_DEPTH} levels",
        )
    return None


def json_refusal(body: bytes) -> Refusal | None:
    """The refusal of a JSON body: too deep, or a string holding a NUL or a lone surrogate; None otherwise (and
    for text that is no JSON at all: the route's own parser says so)."""
    too_deep = _depth_refusal(body, "body")
    if too_deep is not None:
        return too_deep
    try:
        body.decode("utf-8")
    except UnicodeDecodeError as exc:  # JSON is UTF-8 (RFC 8259 section 8.1): say so, not a parser's English
        return Refusal(
            422,
            "invalid_text",
            "body",
            f"请求体不是有效的 UTF-8 文本（第 {exc.start} 字节 0x{body[exc.start]:02X} 无法解码）；JSON 须以 UTF-8 编码",
            f"the body is not valid UTF-8 (byte {exc.start}, 0x{body[exc.start]:02X}, cannot be decoded); JSON must be UTF-8",
        )
    if _LONG_NUMBER_BYTES.search(body) is not None:
        try:
            json.loads(body)
        except ValueError as exc:
            if "digits" in str(exc):
                return _long_number_refusal("body")
    if _JSON_SUSPECT.search(body) is None:
        return None
    if b"\x00" in body:
        return _text_refusal("body", "\x00")
    try:
        parsed = json.loads(body)
    except ValueError:
        return None
    for field, text in _strings(parsed):
        refusal = _text_refusal(field, text)
        if refusal is not None:
            return refusal
    return None


class _MultipartTextFields:
    """Feeds a multipart body through python-multipart and checks each part without a filename (a text field)."""

    def __init__(self, boundary: bytes) -> None:
        self.refusal: Refusal | None = None
        self._header_field = b""
        self._header_value = b""
        self._name = ""
        self._is_file = False
        self._data = bytearray()
        self._parser = MultipartParser(
            boundary,
            {
                "on_part_begin": self._begin,
                "on_part_data": self._part_data,
                "on_part_end": self._end,
                "on_header_field": self._field,
                "on_header_value": self._value,
                "on_header_end": self._header_end,
            },
        )

    def _begin(self) -> None:
        self._name, self._is_file, self._data = "", False, bytearray()

    def _field(self, data: bytes, start: int, end: int) -> None:
        self._header_field += data[start:end]

    def _value(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]

    def _header_end(self) -> None:
        if self._header_field.lower() == b"content-disposition":
            _, options = parse_options_header(self._header_value)
            self._name = options.get(b"name", b"").decode("utf-8", _UNDECODED)
            self._is_file = b"filename" in options
        self._header_field = self._header_value = b""

    def _part_data(self, data: bytes, start: int, end: int) -> None:
        if not self._is_file and len(self._data) <= MAX_TEXT_PART:
            self._data += data[start:end]

    def _end(self) -> None:
        if not self._is_file and self.refusal is None:
            self.refusal = _text_refusal(self._name or "form", self._data.decode("utf-8", _UNDECODED))
            if self.refusal is None and bytes(self._data[:64]).lstrip()[:1] in (b"[", b"{"):
                # intake's `case` part: the same answers as the same JSON sent as the body (NUL, depth, long numbers)
                self.refusal = _depth_refusal(bytes(self._data), self._name or "form") or json_refusal(
                    bytes(self._data)
                )

    def feed(self, chunk: bytes) -> bytes:
        """Take in a chunk; answer it unchanged, to pass on to the route."""
        if self.refusal is None and chunk:
            try:
                self._parser.write(chunk)
            except Exception:  # a malformed body: the route's form parser answers it
                self.refusal = None
        return chunk

    def finish(self) -> Refusal | None:
        return self.refusal


_RAW_BYTE = re.compile(rb"[\x80-\xff]")


def escape_raw_bytes(data: bytes) -> bytes:
    """`data` (a url-encoded body or query string) with every byte above 0x7F written as %XX, the rest untouched.

    Starlette reads url-encoded forms and query strings as Latin-1 and percent-decodes them as UTF-8, so a raw
    UTF-8 byte (`curl -d description=测试`) would be stored as Latin-1 mojibake (æµè¯); percent-encoded it is
    decoded as UTF-8 like the `--data-urlencode` form, and bytes that are not UTF-8 (GBK) become lone surrogates
    that the guard refuses naming the field. Byte by byte, so a chunk boundary inside a character does not
    matter; bytes 0x00-0x7F (`+`, `&`, `=`, `%`) are left as they are, so the parse is otherwise unchanged."""
    if data.isascii():
        return data
    return _RAW_BYTE.sub(lambda found: b"%%%02X" % found.group()[0], data)


class _BufferedBody:
    """A whole JSON or url-encoded body, checked once it has all arrived. A url-encoded body's raw bytes above
    0x7F are passed on percent-encoded (escape_raw_bytes): every form is read as UTF-8, whatever its charset."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._data = bytearray()

    def feed(self, chunk: bytes) -> bytes:
        """Take in a chunk; answer the chunk to pass on to the route."""
        if self.kind == "form":
            chunk = escape_raw_bytes(chunk)
        self._data += chunk
        return chunk

    def finish(self) -> Refusal | None:
        body = bytes(self._data)
        if self.kind == "json":
            return json_refusal(body)
        return _pairs_refusal(parse_qsl(body.decode("latin-1"), keep_blank_values=True, errors=_UNDECODED))


_MULTIPART_CHARSET = re.compile(rb";\s*charset\s*=\s*(\"[^\"]*\"|[^;]*)", re.IGNORECASE)


def utf8_scope(scope: Scope) -> Scope:
    """`scope` as the app should read it: UTF-8 throughout. A query string's raw bytes above 0x7F percent-encoded
    (escape_raw_bytes: Starlette would read them as Latin-1), and a multipart body's `charset=` parameter dropped
    (Starlette would decode every text field with it, while the guard and the browsers' forms mean UTF-8). The
    same scope when there is nothing to change."""
    query = scope.get("query_string", b"")
    changes: dict[str, Any] = {}
    if not query.isascii():
        changes["query_string"] = escape_raw_bytes(query)
    headers = scope.get("headers", [])
    for index, (name, value) in enumerate(headers):
        if name.lower() == b"content-type" and value.lower().lstrip().startswith(b"multipart/"):
            plain = _MULTIPART_CHARSET.sub(b"", value)
            if plain != value:
                changes["headers"] = [*headers[:index], (name, plain), *headers[index + 1 :]]
    return {**scope, **changes} if changes else scope


def _inspector(scope: Scope) -> _BufferedBody | _MultipartTextFields | None:
    content_type = ""
    for name, value in scope.get("headers", []):
        if name.lower() == b"content-type":
            content_type = value.decode("latin-1")
    media, options = parse_options_header(content_type)
    if media in (b"", b"application/json") or media.endswith(b"+json"):  # FastAPI reads a typeless body as JSON
        return _BufferedBody("json")
    if media == b"application/x-www-form-urlencoded":
        return _BufferedBody("form")
    if media == b"multipart/form-data" and options.get(b"boundary"):
        return _MultipartTextFields(options[b"boundary"])
    return None


def refusal_response(scope: Scope, refusal: Refusal) -> Response:
    """The refusal as the error page (pages) or the API's error JSON."""
    from web.api.hotline12345 import guard_message, is_hotline12345
    from web.errors import _is_page  # late: web.errors imports the pages, which import much of the app
    from web.open311.routes import is_open311, middleware_refusal
    from web.pages.common import locale_of, render

    if is_open311(scope.get("path", "")):  # the GeoReport v2 error body
        return middleware_refusal(scope["path"], refusal.status, refusal.message, refusal.message_en)
    if is_hotline12345(scope.get("path", "")):  # the field named by the 12345 contract's Chinese names
        refusal.message = guard_message(refusal.field, refusal.message)
    request = Request(scope)
    if _is_page(request):
        message = refusal.message_en if locale_of(request) == "en" else refusal.message
        if request.url.path == "/login" and request.method == "POST":  # its own form, with the field's message
            from web.pages.auth import login_refused

            return login_refused(request, refusal.field, message, refusal.status)
        return render(request, "error.html", None, status_code=refusal.status, status=refusal.status,
                      message=message, allowed=[])  # fmt: skip
    content: dict[str, Any] = {"error": refusal.code, "message": refusal.message, "message_en": refusal.message_en}
    if refusal.status == 422:
        content["errors"] = [{"field": refusal.field, "message": refusal.message, "message_en": refusal.message_en}]
    return JSONResponse(status_code=refusal.status, content=content)


class InputGuardMiddleware:
    """Pure ASGI (the body streams through untouched unless refused); see the module's docstring."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        scope = utf8_scope(scope)
        refusal = head_refusal(scope)
        if refusal is not None:
            await self._refuse(scope, send, refusal)
            return
        inspector = _inspector(scope)
        if inspector is None:
            await self.app(scope, receive, send)
            return
        state: dict[str, Any] = {"refusal": None, "started": False}

        async def guarded_receive() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                message["body"] = inspector.feed(message.get("body", b""))
                if not message.get("more_body", False):
                    found = inspector.finish()
                    if found is not None:
                        state["refusal"] = found
                        raise found  # the route's reading fails; its answer is replaced below
            return message

        async def guarded_send(message: Message) -> None:
            if state["refusal"] is not None:
                return  # the route's answer to a body it could not read: the refusal is sent instead
            state["started"] = True
            await send(message)

        try:
            await self.app(scope, guarded_receive, guarded_send)
        except Exception:
            if state["refusal"] is None or state["started"]:
                raise
        if state["refusal"] is not None and not state["started"]:
            await self._refuse(scope, send, state["refusal"])

    async def _refuse(self, scope: Scope, send: Send, refusal: Refusal) -> None:
        log.info("%s %s -> %s: %s", scope.get("method"), scope.get("path", "").replace("\x00", "\\0"),
                 refusal.status, refusal.message_en)  # fmt: skip
        response = refusal_response(scope, refusal)

        async def no_body() -> Message:
            return {"type": "http.disconnect"}

        await response(scope, no_body, send)
