"""The HTTP session every SP-API client uses.

``requests`` reads the environment (proxy variables, ``REQUESTS_CA_BUNDLE``, ``~/.netrc``) again for
every request while ``trust_env`` is on: measured at about a fifth of a call's client CPU. SP-API
clients talk to a handful of hosts (LWA, the region's SP-API host, S3 for documents), so
:class:`HttpSession` resolves those settings once per host and reuses them. Proxies and CA bundles
set in the environment are still honoured; a process that changes them after its first call keeps
the earlier values for hosts it has already called.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import requests
from requests.utils import get_netrc_auth


class HttpSession(requests.Session):
    """A ``requests.Session`` that reads proxy, CA-bundle and netrc settings from the environment once per host."""

    def __init__(self) -> None:
        super().__init__()
        self._environment: dict[tuple[Any, ...], Any] = {}
        self._netrc: dict[str, Any] = {}

    def merge_environment_settings(self, url: Any, proxies: Any, stream: Any, verify: Any, cert: Any) -> Any:
        if not self.trust_env or proxies:
            return super().merge_environment_settings(url, proxies, stream, verify, cert)
        parts = urlsplit(url)
        key = (parts.scheme, parts.netloc, stream, verify, cert)
        settings = self._environment.get(key)
        if settings is None:
            settings = self._environment[key] = super().merge_environment_settings(url, proxies, stream, verify, cert)
        return {**settings, "proxies": dict(settings["proxies"])}

    def prepare_request(self, request: requests.Request) -> requests.PreparedRequest:
        if self.trust_env and not request.auth and not self.auth:
            # What Session.prepare_request would look up in ~/.netrc for this request, once per host.
            host = urlsplit(request.url).netloc
            if host not in self._netrc:
                self._netrc[host] = get_netrc_auth(request.url)
            request.auth = self._netrc[host]
        return super().prepare_request(request)
