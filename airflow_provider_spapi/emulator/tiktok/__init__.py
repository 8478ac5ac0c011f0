"""The TikTok Shop side of the emulator: the same port, told apart by path.

It decides with its own facts (:mod:`.facts`, its own signature check, its own buckets), never the
client's, so the tests that pit :mod:`airflow_provider_spapi.tiktok` against it can catch the client's
mistakes. ``HELP`` is the ``--help`` section.
"""

from __future__ import annotations

HELP = """\
TikTok Shop (same port; connection: Emulator.tiktok_connection_json(), or login/password below and
extra {{"refresh_token": "...", "api_endpoint": "<base URL>", "auth_endpoint": "<base URL>"}}):
  app key {app_key}   app secret {app_secret}
  refresh token {refresh_token}   shops: {shops}
  GET  /api/v2/token/get?app_key&app_secret&auth_code&grant_type=authorized_code
  GET  /api/v2/token/refresh?app_key&app_secret&refresh_token&grant_type=refresh_token
       (*_expire_in are absolute Unix seconds; code 36004001 expired, 36004004 bad code, 36004005 revoked)
  GET  /authorization/202309/shops           POST /order/202309/orders/search    GET /order/202309/orders?ids=
  POST /product/202309/products/search       GET  /finance/202309/statements?sort_field=statement_time
  every API call: app_key, timestamp (5 min behind .. 30 s ahead, else 36009004), sign (106001),
  x-tts-access-token (105001 unknown, 105002 expired), shop_cipher on shop paths (106013 missing);
  page tokens contain '+' and '/'; orders' buyer fields contain the marker PII.
  --tiktok JSON knobs: access_token_lifetime, refresh_token_lifetime (seconds), rotate_refresh_token,
  shops (1-3), rate/burst (QPS per app and API; 0 = off), throttle_status (429 or 200, code 36009002),
  check_timestamp, faults [{{"kind": "status"|"reset"|"delay", "status": 503, "seconds": 2, "path_prefix": "/order/",
  "count": 1}}],
  orders, products, statements, seed (start-up only)
  admin: GET /_emulator/tiktok/counters, GET|POST /_emulator/tiktok/config, POST /_emulator/tiktok/reset,
  POST /_emulator/tiktok/expire-tokens, /revoke {{"refresh_token"}}, /expire-refresh-token {{"refresh_token"}},
  POST /_emulator/tiktok/authorization-code -> {{"code"}}
"""
