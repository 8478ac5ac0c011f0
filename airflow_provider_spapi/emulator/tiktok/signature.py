"""The emulator's check of TikTok's ``sign``: rebuilt from the request as it arrived, HMAC-SHA256 with the app secret."""

from __future__ import annotations

import hashlib
import hmac
from urllib.parse import parse_qsl


def expected_sign(path: str, query_string: str, body: bytes, content_type: str, secret: str) -> str:
    """What ``sign`` must be: path, then sorted ``key+value`` (decoded, without sign/access_token), then the body, wrapped in the secret."""
    pairs = [(key, value) for key, value in parse_qsl(query_string, keep_blank_values=True) if key not in ("sign", "access_token")]
    text = path + "".join(key + value for key, value in sorted(pairs))
    raw = text.encode("utf-8")
    if "multipart/form-data" not in content_type.lower():
        raw += body
    wrapped = secret.encode("utf-8") + raw + secret.encode("utf-8")
    return hmac.new(secret.encode("utf-8"), wrapped, hashlib.sha256).hexdigest()


def valid(given: str | None, path: str, query_string: str, body: bytes, content_type: str, secret: str) -> bool:
    if not given:
        return False
    return hmac.compare_digest(given, expected_sign(path, query_string, body, content_type, secret))
