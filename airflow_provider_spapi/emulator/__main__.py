"""``python -m airflow_provider_spapi.emulator`` (also installed as ``spapi-emulator``): serve the emulator until stopped."""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from collections.abc import Sequence
from types import FrameType
from typing import Any

from airflow_provider_spapi.emulator import Emulator, seed
from airflow_provider_spapi.emulator import tiktok as tiktok_help
from airflow_provider_spapi.emulator.documents import CONTENT_ENCODING_MODES
from airflow_provider_spapi.emulator.tiktok import seed as tiktok_seed

DESCRIPTION = """\
Serve a local Amazon Selling Partner API (SP-API) and Login with Amazon (LWA) on one port, to run
DAGs and tests offline: POST /auth/o2/token (LWA), the SP-API paths, pre-signed document URLs
(/_documents/...) and admin endpoints (/_emulator/...). Prints one line with the base URL when ready.

Two modes: the default is a stateful seller world (seeded orders, report and feed jobs, RDTs,
grantless scopes, published usage plans, faults) for DAG tests; /sandbox/<SP-API path> (or every
path, with --sandbox) answers as Amazon's sandbox hosts do, from the static cases of Amazon's models.
"""

EPILOG = f"""\
seeded credentials (airflow_provider_spapi.emulator.seed):
  client id       {seed.CLIENT_ID}
  client secret   {seed.CLIENT_SECRET}
  refresh token   {seed.REFRESH_TOKEN}  (seller {seed.SELLING_PARTNER_ID})
  marketplace     {seed.MARKETPLACE_ID_US} (US); sellers: {", ".join(s.selling_partner_id for s in seed.SELLERS)}
  connection extra: {{"endpoint": "<base URL>", "lwa_endpoint": "<base URL>/auth/o2/token", "refresh_token": "..."}}

faults (--faults, or POST /_emulator/config {{"faults": [...]}}), each an object:
  kind                status | reset | delay | truncate | expired_url
  path_prefix         e.g. /orders/v0/orders, /auth/o2/token (LWA), /_documents (document URLs)
  operation           e.g. getOrders (alternative to path_prefix)
  status              the HTTP status of a 'status' fault (429 QuotaExceeded, 500, 503, ...)
  count / every       fire this many times (default 1) / on every Nth matching request
  retry_after         seconds, sent as Retry-After
  seconds             for 'delay'
  include_rate_header also send x-amzn-RateLimit-Limit on the faulted answer
  e.g. --faults '[{{"kind": "status", "status": 503, "operation": "getOrders", "count": 2}}]'

sandbox mode (Amazon's sandbox hosts: static cases, 400 "Could not match input arguments",
403 MissingAuthenticationToken for unknown paths, 5/s burst 15 for every operation):
  <base URL>/sandbox/<SP-API path>   beside the seller world; connection extra "endpoint": "<base URL>/sandbox"
  --sandbox                          every SP-API path at the root

admin endpoints (no auth):
  GET  /_emulator/counters        token mints, requests, throttles, faults, downloads
  GET  /_emulator/config          options in force;   POST /_emulator/config {{option: value, ...}}
  POST /_emulator/reset           back to the start (seeded data and registered credentials stay)
  POST /_emulator/revoke          {{"refresh_token"}}: later refresh grants answer invalid_grant
  POST /_emulator/expire-tokens   every issued access token and RDT answers 403 expired
  POST /_emulator/register        {{"client_id", "client_secret", "refresh_token"?, "selling_partner_id"?}}
  POST /_emulator/secret-expired  {{"client_id"}}: that client's secret answers invalid_client
  POST /_emulator/authorization-code  a fresh one-time spapi_oauth_code
  GET  /_emulator/notifications   e.g. APPLICATION_OAUTH_CLIENT_NEW_SECRET after a rotation

""" + tiktok_help.HELP.format(
    app_key=tiktok_seed.APP_KEY,
    app_secret=tiktok_seed.APP_SECRET,
    refresh_token=tiktok_seed.REFRESH_TOKEN,
    shops=", ".join(shop.cipher for shop in tiktok_seed.SHOPS),
)


def _json(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"not valid JSON: {error}") from None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m airflow_provider_spapi.emulator",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add = parser.add_argument
    add("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    add("--port", type=int, default=8765, help="port to bind; 0 picks a free one (default 8765)")
    add("--rate-scale", type=float, default=1.0, metavar="FLOAT", help="multiply every usage plan's rate and burst (default 1.0)")
    add(
        "--rate-limit-header",
        choices=("always", "never"),
        default="always",
        help="send x-amzn-RateLimit-Limit on 2xx, 400 and 404 answers, or never (default always)",
    )
    add("--expires-in", type=int, default=3600, metavar="SECONDS", help="lifetime of access tokens and RDTs (default 3600)")
    add("--document-url-ttl", type=int, default=300, metavar="SECONDS", help="lifetime of pre-signed document URLs (default 300)")
    add("--orders", type=int, default=250, metavar="N", help="seeded orders per seller, over the 90 days before the anchor (default 250)")
    add(
        "--report-polls",
        type=int,
        default=2,
        metavar="N",
        help="getReport/getFeed calls answering IN_QUEUE/IN_PROGRESS before the final status (default 2)",
    )
    add(
        "--report-document-bytes",
        type=int,
        default=20_000,
        metavar="BYTES",
        help="uncompressed size of generated report documents (default 20000)",
    )
    add(
        "--document-content-encoding",
        choices=CONTENT_ENCODING_MODES,
        default="on_request",
        help="Content-Encoding: gzip on compressed documents: on_request (enableContentEncodingUrlHeader), always (beside "
        "compressionAlgorithm), or header_only (no compressionAlgorithm, as Data Kiosk) (default on_request)",
    )
    add(
        "--report-outcomes",
        type=_json,
        default={},
        metavar="JSON",
        help='final status per report type, e.g. \'{"GET_X": "FATAL"}\' (default DONE)',
    )
    add(
        "--feed-outcomes",
        type=_json,
        default={},
        metavar="JSON",
        help="final status per feed type: DONE, FATAL or CANCELLED (default DONE)",
    )
    add(
        "--data-kiosk",
        type=_json,
        default={},
        metavar="JSON",
        help='how Data Kiosk queries end, e.g. \'{"outcome": "DONE", "pages": 2, "records": 5}\' (DONE, NO_DATA, FATAL, CANCELLED)',
    )
    add(
        "--usage-plans",
        type=_json,
        default={},
        metavar="JSON",
        help="[rate, burst] per operation name or key, e.g. '{\"getOrders\": [1, 5]}'",
    )
    add("--faults", type=_json, default=[], metavar="JSON", help="a JSON list of faults to inject (see below)")
    add("--seed", type=int, default=0, metavar="INT", help="seed of the generated orders (default 0)")
    add("--anchor", default=None, metavar="ISO8601", help="newest order time (default: start time floored to the hour)")
    add(
        "--sandbox",
        action="store_true",
        help="answer every SP-API path as Amazon's sandbox hosts do (static cases, 400 'Could not match input "
        "arguments', 5/s burst 15); without it only paths under /sandbox do",
    )
    add("--tiktok", type=_json, default={}, metavar="JSON", help="TikTok Shop knobs, e.g. '{\"shops\": 2}' (see below)")
    add("--verbose", action="store_true", help="log one line per request (never headers, bodies or tokens)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    options = {name: value for name, value in vars(args).items() if name not in ("host", "port", "tiktok")}
    try:
        emulator = Emulator(host=args.host, port=args.port, tiktok=args.tiktok, **options)
        emulator.start()
    except (ValueError, OSError) as error:
        print(f"spapi-emulator: {error}", file=sys.stderr)
        return 2
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    print(f"SP-API emulator listening on {emulator.url}", flush=True)
    try:
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        emulator.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
