"""Any OpenAI-compatible endpoint (OpenAI, vLLM, Ollama, llama.cpp server, LiteLLM) through the
official SDK's async client. The SDK retries connection errors, 408, 429 and 5xx with
exponential backoff (`max_retries`); what still fails becomes an AI domain error.

A streamed chat reply is requested through the SDK's public `with_streaming_response`
(headers, retries, status errors as usual), but its body is read here: the Server-Sent Events
are split and each chunk's JSON is read as a plain dict, instead of the SDK building a typed
model per chunk, which was most of the CPU a relayed token cost (bench/sse_relay.py)."""

from __future__ import annotations

import base64
import email.utils
import io
import json
import logging
import math
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import anyio
import httpx2
import openai
from PIL import Image

from ai.errors import AIMalformedAnswer, AIServiceError, AIUnavailable
from ai.types import ChatMessage, GeneratedImage, ReasoningText

logger = logging.getLogger("ai")


# The most a provider's own Retry-After may ask our clients to wait, in seconds.
RETRY_AFTER_MAX = 60


def _provider_retry_after(exc: openai.APIStatusError, *, default: int) -> int:
    """The provider's wait (`retry-after-ms`, or `Retry-After` in seconds or as an HTTP date),
    rounded up and capped at RETRY_AFTER_MAX; `default` when it sent none that parses."""
    headers = exc.response.headers
    seconds = None
    try:
        if headers.get("retry-after-ms"):
            seconds = float(headers["retry-after-ms"]) / 1000
        elif headers.get("retry-after"):
            value = headers["retry-after"].strip()
            try:
                seconds = float(value)
            except ValueError:
                when = email.utils.parsedate_to_datetime(value)
                seconds = (when - datetime.now(UTC)).total_seconds()
    except (TypeError, ValueError, OverflowError):
        seconds = None
    if seconds is None or not math.isfinite(seconds):
        return default
    return min(RETRY_AFTER_MAX, max(1, math.ceil(seconds)))


def _translate(exc: Exception) -> Exception:
    """Map an SDK exception to AIUnavailable (retry later) or AIServiceError (bad answer)."""
    if isinstance(exc, openai.APITimeoutError):
        return AIUnavailable("The AI model timed out; please retry", retry_after=5)
    if isinstance(exc, openai.APIConnectionError):
        return AIUnavailable("The AI model could not be reached; please retry", retry_after=5)
    if isinstance(exc, openai.RateLimitError):
        return AIUnavailable(
            "The AI model is rate limited; please retry shortly",
            retry_after=_provider_retry_after(exc, default=20),
        )
    if isinstance(exc, openai.APIStatusError) and exc.status_code >= 500:
        return AIUnavailable(
            f"The AI model failed (HTTP {exc.status_code}); please retry", retry_after=5
        )
    if isinstance(exc, openai.APIStatusError):
        return AIServiceError(f"The AI model refused the request (HTTP {exc.status_code})")
    if isinstance(exc, openai.OpenAIError):
        return AIServiceError(f"The AI model gave an unusable answer: {exc.__class__.__name__}")
    return exc


class OpenAICompatibleProvider:
    name = "openai-compatible"

    def __init__(self, *, base_url: str | None, api_key: str, timeout: float, max_retries: int):
        self.client = openai.AsyncOpenAI(
            base_url=base_url,
            api_key=api_key or "not-needed",
            timeout=timeout,
            max_retries=max_retries,
        )

    async def stream_chat(self, *, model: str, messages: list[ChatMessage]) -> AsyncIterator[str]:
        """Yield the reply's text pieces, and reasoning pieces as `ReasoningText` when the
        endpoint sends them (`reasoning_content` as vLLM and DeepSeek do, or `reasoning`).
        Leaving early (a stopped turn) closes the upstream response."""
        try:
            # The history goes in `extra_body` (the SDK's documented way to send a value as
            # it is) rather than the typed `messages` parameter, which the SDK type-checks
            # field by field: 1.9 ms of CPU per call for a 13-message history, five times the
            # rest of the request (measured with a mock transport). The JSON body is the same.
            async with self.client.chat.completions.with_streaming_response.create(
                model=model, messages=[], stream=True, extra_body={"messages": messages}
            ) as response:
                async for piece in _chat_pieces(response.iter_bytes(), response.http_response):
                    yield piece
        except openai.OpenAIError as exc:
            logger.warning("AI stream failed: %s", exc)
            raise _translate(exc) from exc

    async def complete(self, *, model: str, messages: list[ChatMessage]) -> str:
        try:
            response = await self.client.chat.completions.create(model=model, messages=messages)
        except openai.OpenAIError as exc:
            logger.warning("AI completion failed: %s", exc)
            raise _translate(exc) from exc
        if not response.choices:
            raise AIServiceError("The AI model returned no answer")
        return response.choices[0].message.content or ""

    async def structured(
        self, *, model: str, messages: list[ChatMessage], schema: dict, name: str
    ) -> object:
        try:
            response = await self.client.chat.completions.create(
                model=model,
                messages=messages,
                response_format={
                    "type": "json_schema",
                    "json_schema": {"name": name, "schema": schema, "strict": True},
                },
            )
        except openai.OpenAIError as exc:
            logger.warning("AI structured call failed: %s", exc)
            raise _translate(exc) from exc
        if not response.choices:
            raise AIServiceError("The AI model returned no answer")
        text = response.choices[0].message.content or ""
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise AIMalformedAnswer("The AI model's answer was not valid JSON") from exc

    async def image(self, *, model: str, prompt: str, size: str, mime: str) -> GeneratedImage:
        try:
            response = await self.client.images.generate(
                model=model, prompt=prompt, size=size, n=1, response_format="b64_json"
            )
        except openai.OpenAIError as exc:
            logger.warning("AI image failed: %s", exc)
            raise _translate(exc) from exc
        if not response.data or not response.data[0].b64_json:
            raise AIServiceError("The AI model returned no image")
        try:
            raw = base64.b64decode(response.data[0].b64_json)
            return convert_image(raw, size=size, mime=mime)
        except (ValueError, OSError) as exc:
            raise AIServiceError("The AI model returned an unreadable image") from exc

    async def embed(self, *, model: str, texts: list[str]) -> list[list[float]]:
        try:
            response = await self.client.embeddings.create(model=model, input=texts)
        except openai.OpenAIError as exc:
            logger.warning("AI embedding failed: %s", exc)
            raise _translate(exc) from exc
        vectors = [item.embedding for item in sorted(response.data, key=lambda d: d.index)]
        if len(vectors) != len(texts):
            raise AIServiceError("The AI model returned the wrong number of embeddings")
        return vectors


async def _chat_pieces(body: AsyncIterator[bytes], response: httpx2.Response) -> AsyncIterator[str]:
    """The text and reasoning pieces of a streamed chat completion's `body` (the bytes of
    `response`). Errors are the SDK's: a transport failure or timeout mid-body, or an
    `{"error": ...}` event."""
    try:
        async for data in sse_data(body):
            if data.startswith(b"[DONE]"):
                continue  # read on to the end of the body, so the connection is reused
            try:
                chunk = json.loads(data)
            except ValueError as exc:
                raise AIServiceError("The AI model sent an unreadable stream part") from exc
            if not isinstance(chunk, dict):
                continue
            if chunk.get("error"):
                error = chunk["error"]
                message = error.get("message") if isinstance(error, dict) else None
                raise openai.APIError(
                    message=message
                    if isinstance(message, str) and message
                    else ("An error occurred during streaming"),
                    request=response.request,
                    body=error,
                )
            choices = chunk.get("choices")
            if not choices or not isinstance(choices[0], dict):
                continue
            delta = choices[0].get("delta")
            if not isinstance(delta, dict):
                continue
            reasoning = delta.get("reasoning_content") or delta.get("reasoning")
            if isinstance(reasoning, str) and reasoning:
                yield ReasoningText(reasoning)
            content = delta.get("content")
            if isinstance(content, str) and content:
                yield content
    except httpx2.TimeoutException as exc:
        raise openai.APITimeoutError(request=response.request) from exc
    except (httpx2.RequestError, anyio.EndOfStream) as exc:
        raise openai.APIConnectionError(request=response.request) from exc


async def sse_data(chunks: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    """The `data` of each Server-Sent Event in a byte stream (several `data:` lines of one
    event joined by a newline); other fields and comments are skipped. Lines end with LF or
    CRLF."""
    buffer = b""
    data: list[bytes] = []
    async for chunk in chunks:
        buffer += chunk
        if b"\n" not in chunk:
            continue
        lines = buffer.split(b"\n")
        buffer = lines.pop()
        for line in lines:
            if line.endswith(b"\r"):
                line = line[:-1]
            if not line:
                if data:
                    yield b"\n".join(data)
                    data = []
            elif line.startswith(b"data:"):
                value = line[5:]
                data.append(value[1:] if value.startswith(b" ") else value)
    if buffer.rstrip(b"\r").startswith(b"data:"):
        value = buffer.rstrip(b"\r")[5:]
        data.append(value[1:] if value.startswith(b" ") else value)
    if data:
        yield b"\n".join(data)


def convert_image(raw: bytes, *, size: str, mime: str) -> GeneratedImage:
    """Re-encode whatever the model sent as the asked format and square size."""
    width, height = (int(part) for part in size.split("x"))
    with Image.open(io.BytesIO(raw)) as source:
        image = source.convert("RGB")
    if image.size != (width, height):
        image = image.resize((width, height))
    out = io.BytesIO()
    image.save(out, format="JPEG" if mime == "image/jpeg" else "PNG")
    return GeneratedImage(data=out.getvalue(), mime=mime, width=width, height=height)
