"""Expiry arithmetic for credentials, whichever platform they belong to.

A platform module says which credentials expire when (Amazon: computed from dates the connection
records, since no API tells them; TikTok: the timestamps its token endpoint returns) and what fixes
each; this module counts the days left and words the warning the same way for both.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class ExpiryStatus:
    """One credential's expiry: when, how many whole days are left (negative once expired), and the fix."""

    credential: str
    name: str
    expires_at: datetime
    days_left: int
    fix: str

    @property
    def expired(self) -> bool:
        return self.days_left < 0

    def message(self) -> str:
        """A warning that names the credential, the date and the days left, then the fix."""
        when = self.expires_at.strftime("%Y-%m-%d")
        if self.expired:
            state = f"expired on {when} ({-self.days_left} days ago)"
        elif self.days_left == 0:
            state = f"expires today ({when})"
        else:
            state = f"expires on {when}, in {self.days_left} days"
        return f"The {self.name} {state}. {self.fix}"


def days_left(expires_at: datetime, now: datetime) -> int:
    """Calendar days (UTC) until ``expires_at``: 0 when it expires later today, negative once it has expired."""
    if expires_at > now:
        return (expires_at.date() - now.date()).days
    return -max(1, (now.date() - expires_at.date()).days)


def expiry_status(credential: str, name: str, expires_at: datetime, fix: str, now: datetime) -> ExpiryStatus:
    return ExpiryStatus(credential=credential, name=name, expires_at=expires_at, days_left=days_left(expires_at, now), fix=fix)


def due(statuses: Iterable[ExpiryStatus], warning_days: int) -> list[ExpiryStatus]:
    """The credentials that expire within ``warning_days`` or have expired."""
    return [status for status in statuses if status.days_left <= warning_days]
