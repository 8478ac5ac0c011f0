"""What the TikTok Shop emulator enforces, written from TikTok's documentation on this side of the wire.

Deliberately not shared with :mod:`airflow_provider_spapi.tiktok`: a test whose two sides read the same
table cannot catch a mistake in that table.
"""

from __future__ import annotations

import re

TOKEN_GET = "/api/v2/token/get"
TOKEN_REFRESH = "/api/v2/token/refresh"
ADMIN_PREFIX = "/_emulator/tiktok/"
ACCESS_TOKEN_HEADER = "x-tts-access-token"

#: TikTok API paths carry a six-digit version after the first segment: /order/202309/orders/search.
API_PATH = re.compile(r"^/[a-z_]+/\d{6}(/|$)")
#: Paths TikTok answers without a shop (and refuses shop_cipher on).
SHOPLESS = (
    re.compile(r"^/authorization/"),
    re.compile(r"^/seller/"),
    re.compile(r"/global_products(/|$)"),
    re.compile(r"/(images|files)/upload$"),
    re.compile(r"(^|/)compliance(/|$)"),
)

#: Accepted clock difference: a timestamp up to 5 minutes old, or 30 seconds ahead.
TIMESTAMP_BEHIND = 300
TIMESTAMP_AHEAD = 30

MAX_PAGE_SIZE = 100
MAX_DETAIL_IDS = 50

# TikTok's codes.
OK = 0
INVALID_TOKEN = 105001
EXPIRED_TOKEN = 105002
INVALID_SIGN = 106001
MISSING_SHOP_CIPHER = 106013
TOO_MANY_REQUESTS = 36009002
BAD_REQUEST = 36009004
REFRESH_TOKEN_EXPIRED = 36004001
INVALID_AUTH_CODE = 36004004
NO_AUTHORISATION = 36004005
INTERNAL_ERROR = 36009003  # "internal error, try again" as the emulator's faults answer it

#: The HTTP status the emulator answers each code with (TikTok's clients go by ``code``, whatever the status).
STATUS = {
    INVALID_TOKEN: 401,
    EXPIRED_TOKEN: 401,
    INVALID_SIGN: 401,
    MISSING_SHOP_CIPHER: 400,
    TOO_MANY_REQUESTS: 429,
    BAD_REQUEST: 400,
    REFRESH_TOKEN_EXPIRED: 400,
    INVALID_AUTH_CODE: 400,
    NO_AUTHORISATION: 400,
}

ORDER_STATUSES = ("UNPAID", "AWAITING_SHIPMENT", "AWAITING_COLLECTION", "IN_TRANSIT", "DELIVERED", "COMPLETED", "CANCELLED")
PRODUCT_STATUSES = ("ACTIVATE", "DRAFT", "PENDING", "SELLER_DEACTIVATED", "FAILED")


def is_tiktok_path(path: str) -> bool:
    return path in (TOKEN_GET, TOKEN_REFRESH) or path.startswith(ADMIN_PREFIX) or bool(API_PATH.match(path))


def shop_scoped(path: str) -> bool:
    return not any(pattern.search(path) for pattern in SHOPLESS)
