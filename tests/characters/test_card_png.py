"""`characters.png_chunks`: the PNG chunk reader agrees with an independent reader on every
well-formed file, refuses every malformed one with a card error (never another exception), and
takes time in proportion to its input (the house pattern of tests/test_parsers_linear.py:
time per kilobyte flat from 1 KB to 1 MB, to within 3x, best of several tries).
"""

from __future__ import annotations

import contextlib
import struct
import zlib

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from characters import png_chunks
from characters.errors import CardError, CardTooLarge
from tests.characters import pngs
from tests.helpers import seconds_per_kb

KB = 1024
SMALL, LARGE = KB, 1024 * KB
FLAT_WITHIN = 3.0
# No bound but the input's own size: the time test must reach the whole input.
OPEN = png_chunks.PngLimits(max_chunks=10**9, max_pixels=10**12, max_text_bytes=16 * 1024 * KB)
LIMITS = png_chunks.PngLimits(max_chunks=100, max_pixels=4096 * 4096, max_text_bytes=4096)
HEAD = pngs.SIGNATURE + pngs.ihdr()


def read_all(content: bytes, limits=OPEN) -> None:
    """Everything the import does with a file's chunks, refusals included."""
    with contextlib.suppress(CardError, CardTooLarge):
        chunks = png_chunks.read_chunks(content, limits)
        png_chunks.texts_named(chunks, ("ccv3", "chara"), limits)
        png_chunks.encode(png_chunks.without_text(chunks))


def sized(prefix: bytes, unit: bytes, suffix: bytes, size: int) -> bytes:
    return prefix + unit * max(1, (size - len(prefix) - len(suffix)) // len(unit)) + suffix


def assert_flat(read, prefix: bytes, unit: bytes, suffix: bytes = b"") -> None:
    small = seconds_per_kb(read, sized(prefix, unit, suffix, SMALL))
    large = seconds_per_kb(read, sized(prefix, unit, suffix, LARGE))
    assert large <= FLAT_WITHIN * small, (
        f"{unit[:16]!r}: {large * 1e6:.1f} us/KB at 1 MB against {small * 1e6:.1f} us/KB at 1 KB"
    )


KEYWORDS = st.sampled_from(["chara", "ccv3", "Chara", "CCV3", "comment", "c", "x" * 79])
TYPES = st.sampled_from([b"tEXt", b"zTXt", b"iTXt", b"tIMe", b"IDAT", b"fcTL", b"fdAT"])
CHUNKS = st.lists(st.tuples(TYPES, st.binary(max_size=64)), max_size=12)


@settings(max_examples=200, deadline=None, derandomize=True)
@given(chunks=CHUNKS)
def test_the_reader_agrees_with_an_independent_one(chunks):
    content = HEAD + b"".join(pngs.chunk(kind, data) for kind, data in chunks) + pngs.IEND
    read = png_chunks.read_chunks(content, OPEN)
    assert [(chunk.type, chunk.data) for chunk in read] == pngs.chunks_of(content)
    stripped = png_chunks.encode(png_chunks.without_text(read))
    assert [kind for kind, _ in pngs.chunks_of(stripped)] == [
        kind for kind, _ in pngs.chunks_of(content) if kind not in (b"tEXt", b"zTXt", b"iTXt")
    ]


@settings(max_examples=300, deadline=None, derandomize=True)
@given(tail=st.binary(max_size=200), keyword=KEYWORDS, body=st.binary(max_size=80))
@example(tail=b"\x00\x00\x00\x00IEND", keyword="chara", body=b"")
@example(tail=b"\xff\xff\xff\xffIDAT", keyword="chara", body=b"\x00")
def test_any_bytes_are_read_or_refused_as_a_card_error(tail, keyword, body):
    for text_type in (b"tEXt", b"zTXt", b"iTXt"):
        data = keyword.encode() + b"\x00" + body
        content = HEAD + pngs.chunk(text_type, data) + tail
        try:
            chunks = png_chunks.read_chunks(content, LIMITS)
            png_chunks.texts_named(chunks, ("ccv3", "chara"), LIMITS)
        except (CardError, CardTooLarge):
            pass
        with contextlib.suppress(CardError, CardTooLarge):
            png_chunks.read_chunks(pngs.SIGNATURE + tail, LIMITS)


def test_a_text_chunk_is_read_by_keyword_first_one_wins_case_folded():
    content = pngs.png(
        pngs.text("Chara", "first"),
        pngs.text("chara", "second"),
        pngs.ztext("ccv3", b"zipped"),
        pngs.text("other", "x"),
    )
    chunks = png_chunks.read_chunks(content, LIMITS)
    assert png_chunks.texts_named(chunks, ("ccv3", "chara"), LIMITS) == {
        "chara": b"first",
        "ccv3": b"zipped",
    }


def test_only_the_named_compressed_chunks_are_inflated():
    bad = pngs.chunk(b"zTXt", b"comment\x00\x00not zlib at all")
    chunks = png_chunks.read_chunks(pngs.png(bad, pngs.text("chara", "ok")), LIMITS)
    assert png_chunks.texts_named(chunks, ("ccv3", "chara"), LIMITS) == {"chara": b"ok"}


def test_inflation_stops_at_its_bound():
    assert png_chunks.inflate(zlib.compress(b"a" * 4096), 4096, "x") == b"a" * 4096
    with pytest.raises(CardTooLarge, match="inflates past 4096 bytes"):
        png_chunks.inflate(zlib.compress(b"a" * 4097), 4096, "x")


def test_bytes_after_iend_are_ignored():
    content = pngs.png(pngs.text("chara", "x")) + b"trailing junk"
    assert png_chunks.read_chunks(content, LIMITS)[-1].type == b"IEND"


def test_text_chunks_are_written_before_iend_replacing_those_of_the_same_name():
    chunks = png_chunks.read_chunks(
        pngs.png(pngs.text("CHARA", "old"), pngs.text("k", "v")), LIMITS
    )
    written = png_chunks.with_texts(chunks, [("chara", "new2"), ("ccv3", "new3")])
    assert pngs.chunks_of(written)[2:] == [
        (b"tEXt", b"k\x00v"),
        (b"tEXt", b"chara\x00new2"),
        (b"tEXt", b"ccv3\x00new3"),
        (b"IEND", b""),
    ]


def test_the_generated_image_is_a_valid_png():
    content = png_chunks.encode(png_chunks.solid_png(3, 2, (1, 2, 3)))
    chunks = pngs.chunks_of(content)
    assert [kind for kind, _ in chunks] == [b"IHDR", b"IDAT", b"IEND"]
    assert struct.unpack(">II", chunks[0][1][:8]) == (3, 2)
    assert zlib.decompress(chunks[1][1]) == (b"\x00" + b"\x01\x02\x03" * 3) * 2


# --- Linear time ---------------------------------------------------------------------------------

UNITS = {
    "tiny-chunks": (HEAD, pngs.chunk(b"tIMe", b"\x07\xe8\x01\x01\x00\x00\x00"), pngs.IEND),
    "empty-chunks": (HEAD, pngs.chunk(b"tEXt", b""), pngs.IEND),
    "same-keyword": (HEAD, pngs.text("chara", "QQ=="), pngs.IEND),
    "keyword-without-nul": (HEAD, pngs.chunk(b"tEXt", b"charachara"), pngs.IEND),
    "unknown-keywords": (HEAD, pngs.chunk(b"zTXt", b"x\x00\x00zz"), pngs.IEND),
    "unclosed": (HEAD, pngs.chunk(b"IDAT", b"\x00" * 7), b""),
    "one-long-text": (HEAD + b"\x7f\xff\xff\xfftEXt" + b"chara\x00", b"A", b""),
    "garbage": (pngs.SIGNATURE, b"\x00\x00\x00\x01", b""),
}


@pytest.mark.parametrize(("prefix", "unit", "suffix"), UNITS.values(), ids=UNITS.keys())
def test_the_chunk_reader_takes_time_in_proportion_to_the_file(prefix, unit, suffix):
    assert_flat(read_all, prefix, unit, suffix)


@settings(
    max_examples=10, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)
@given(kind=TYPES, keyword=KEYWORDS, body=st.binary(min_size=0, max_size=24))
def test_any_repeated_chunk_takes_linear_time(kind, keyword, body):
    unit = pngs.chunk(kind, keyword.encode() + b"\x00" + body)
    assert_flat(read_all, HEAD, unit, pngs.IEND)
