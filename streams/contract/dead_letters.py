"""Build dead-letter records: the reason, and the original bytes kept exactly."""

from __future__ import annotations

import base64
from typing import Any

from streams.contract.vocabulary import DeadLetterReason, OriginalEncoding


def dead_letter(raw: bytes, reason: DeadLetterReason, detail: str, **where: Any) -> dict[str, Any]:
    """A record valid against ``dead_letter.schema.json``; ``where`` is line or topic/partition/offset/key."""
    text, encoding = encode_bytes(raw)
    record: dict[str, Any] = {
        "reason": reason,
        "detail": detail[:1024],
        "original": text,
        "original_encoding": encoding,
    }
    for name, value in where.items():
        if name == "key" and isinstance(value, bytes | bytearray):
            value = encode_bytes(bytes(value))[0]
        record[name] = value
    return record


def encode_bytes(raw: bytes) -> tuple[str, OriginalEncoding]:
    """UTF-8 text when it is text, otherwise base64, so the original survives JSON exactly."""
    try:
        return raw.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        return base64.b64encode(raw).decode("ascii"), "base64"


def original_bytes(record: dict[str, Any]) -> bytes:
    if record.get("original_encoding") == "base64":
        return base64.b64decode(record["original"])
    return str(record["original"]).encode("utf-8")
