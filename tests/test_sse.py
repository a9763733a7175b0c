"""The SSE parser the stream tests read with (tests/sse.py)."""

from tests.sse import DONE, parse_sse, parse_sse_text


def test_events_comments_and_done():
    body = (
        ": keep-alive\n\n"
        'event: start\ndata: {"type": "start", "messageId": "m1"}\n\n'
        'event: text-delta\ndata: {"type": "text-delta", "id": "t", "delta": "Hi"}\n\n'
        ": keep-alive\n"
        'event: text-delta\ndata: {"type": "text-delta", "id": "t", "delta": " there"}\n\n'
        "data: [DONE]\n\n"
    )
    stream = parse_sse_text(body)
    assert [event for event, _ in stream.events] == ["start", "text-delta", "text-delta", None]
    assert stream.done
    assert stream.types() == ["start", "text-delta", "text-delta"]
    assert stream.text() == "Hi there"
    assert stream.comments() == ["keep-alive", "keep-alive"]


def test_multi_line_data_crlf_and_a_last_event_without_blank_line():
    lines = ["event: x\r\n", "data: a\r\n", "data:b\r\n", "\r\n", "id: 7\n", "data: " + DONE]
    assert parse_sse(lines) == [("x", "a\nb"), (None, DONE)]
