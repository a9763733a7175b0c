"""The one JSON reader of every family's request bodies and of the game socket's frames.

`json.loads` recurses once per nesting level, so a body of 100,000 `[` is a RecursionError
(a 500 over HTTP, a 1011 close on a socket). The depth is therefore counted first, without
recursion, by a scan over the brackets outside strings (`JSON_MAX_DEPTH`, 64 by default).
After parsing, one iterative walk refuses what no column can hold, naming where it is:
- numbers that are not finite: the `NaN`, `Infinity` and `-Infinity` literals and numbers
  that overflow a double (`1e400`): "metadata.x: number out of range";
- NUL characters and lone surrogates (`"\\u0000"`, `"\\ud800"`) in any string or key, with
  the words DRF's own CharField uses, so REST and the socket answer alike:
  "content: Null characters are not allowed", "content: Surrogate characters are not
  allowed: U+D800". PostgreSQL stores neither in text nor in jsonb.
Paths join object keys and list indexes with dots (`history.0.content`), as the families'
validation messages do; a problem at the top level is named `body`.
"""

from __future__ import annotations

import codecs
import json
import math
import re
from itertools import accumulate

from django.conf import settings
from rest_framework import exceptions, parsers

_NOT_BRACKET = re.compile(r"[^\[\]{}]+")
_BAD_CHARACTER = re.compile("[\x00\ud800-\udfff]")
# Text that may decode to a NUL or a lone surrogate (an escaped pair, as `ensure_ascii`
# writes emoji, is one character and fine): only then are the strings walked.
_SUSPECT_TEXT = re.compile(
    r"\\u0000"
    r"|\\u[dD][89abAB][0-9a-fA-F]{2}(?!\\u[dD][c-fC-F][0-9a-fA-F]{2})"
    r"|(?<!\\u[dD][89abAB][0-9a-fA-F]{2})\\u[dD][c-fC-F][0-9a-fA-F]{2}"
    r"|[\x00\ud800-\udfff]"
)
ROOT_NAME = "body"


class JsonInputError(ValueError):
    """JSON that is refused. `field` is set when one value is at fault (a 400 naming it);
    without it the document as a whole is malformed or too deep."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(f"{field}: {message}" if field else message)
        self.message = message
        self.field = field


def json_depth_check(text: str, limit: int) -> None:
    """Raise JsonInputError when arrays and objects nest deeper than `limit` levels.

    Linear in the text, with no Python loop per character (the text is client input, and a
    regex that backtracks over an unclosed string made this quadratic once). Inside a JSON
    string a backslash always starts a two-character escape, so removing escaped backslashes
    and then escaped quotes, left to right, leaves exactly the quotes that open and close
    strings; splitting on them puts the text outside strings at the even places. The depth is
    then the largest running sum of +1 per opener and -1 per closer, summed in C by
    `itertools.accumulate` (openers left unclosed count as levels too). For text that is not
    JSON the count may be off, which is harmless: the parser refuses that text anyway."""
    if text.count("[") + text.count("{") <= limit:
        return  # too few openers to go deeper, whatever strings hold them
    unescaped = text.replace("\\\\", "").replace('\\"', "")
    outside = "".join(unescaped.split('"')[::2])
    brackets = _NOT_BRACKET.sub("", outside)
    if max(accumulate(map(_BRACKET_STEP.__getitem__, brackets)), default=0) > limit:
        raise JsonInputError(f"JSON nested deeper than {limit} levels")


_BRACKET_STEP = {"[": 1, "{": 1, "]": -1, "}": -1}


def _path(parts: tuple) -> str:
    return ".".join(str(part) for part in parts) or ROOT_NAME


def _string_check(value: str, parts: tuple, where: str = "") -> None:
    found = _BAD_CHARACTER.search(value)
    if found is None:
        return
    if found.group() == "\x00":
        raise JsonInputError(f"Null characters are not allowed{where}", _path(parts))
    raise JsonInputError(
        f"Surrogate characters are not allowed{where}: U+{ord(found.group()):X}", _path(parts)
    )


def json_values_check(data: object) -> None:
    """Refuse non-finite numbers, NUL characters and lone surrogates anywhere in `data`."""
    stack: list[tuple[object, tuple]] = [(data, ())]
    while stack:
        value, parts = stack.pop()
        if isinstance(value, float):
            if not math.isfinite(value):
                raise JsonInputError("number out of range", _path(parts))
        elif isinstance(value, str):
            _string_check(value, parts)
        elif isinstance(value, dict):
            # Reversed onto the stack, so the first problem in document order is reported.
            for key, item in reversed(value.items()):
                # A bad key is named by its object's path: the key itself cannot be echoed.
                _string_check(key, parts, " in a key")
                stack.append((item, (*parts, key)))
        elif isinstance(value, list):
            stack.extend(
                (item, (*parts, index)) for index, item in reversed(list(enumerate(value)))
            )


def json_parse(text: str | bytes, *, max_depth: int | None = None) -> object:
    """Parse a JSON document under this module's rules; raise JsonInputError if refused."""
    if isinstance(text, bytes | bytearray):
        try:
            text = bytes(text).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise JsonInputError(f"not UTF-8 ({exc.reason} at byte {exc.start})") from None
    limit = settings.JSON_MAX_DEPTH if max_depth is None else max_depth
    json_depth_check(text, limit)
    suspect = _SUSPECT_TEXT.search(text) is not None

    def number(literal: str) -> float:
        nonlocal suspect
        value = float(literal)
        suspect = suspect or not math.isfinite(value)
        return value

    try:
        # NaN, Infinity and overflowing numbers parse to float specials and mark the document
        # suspect; only a suspect document is walked (in Python) to name the value at fault.
        data = json.loads(text, parse_float=number, parse_constant=number)
    except (ValueError, RecursionError) as exc:
        raise JsonInputError(f"invalid JSON ({exc})") from None
    if suspect:
        json_values_check(data)
    return data


def as_drf_error(error: JsonInputError) -> exceptions.APIException:
    """A value at fault is a validation error naming its field; the rest is a parse error."""
    if error.field:
        return exceptions.ValidationError({error.field: [error.message]})
    return exceptions.ParseError(error.message)


class SafeJSONParser(parsers.JSONParser):
    """DRF's JSON parser under `json_parse`'s rules, for every family's views."""

    def parse(self, stream, media_type=None, parser_context=None):
        # DRF's charset choice (the header's, refusing bytes-to-bytes codecs), then our rules.
        encoding = parsers.get_encoding(parser_context or {})
        try:
            text = codecs.getreader(encoding)(stream).read()
        except ValueError as exc:
            raise exceptions.ParseError(f"JSON parse error - {exc}") from None
        try:
            return json_parse(text)
        except JsonInputError as exc:
            raise as_drf_error(exc) from None
