"""The TikTok Shop emulator's seeded app, authorisation and shops: what a test or demo connection uses.

One app (app key and secret) and one authorisation (refresh token) covering :data:`SHOPS` (the first
``shops`` of them, a knob: one by default, several to exercise shop selection). The values are the
emulator's own and work nowhere else.
"""

from __future__ import annotations

from dataclasses import dataclass

APP_KEY = "6emu4tts1app"
APP_SECRET = "emulator-tiktok-app-secret-0001"
REFRESH_TOKEN = "TTP_emuRefresh+Seed/0001=="
OPEN_ID = "emu-open-id-0001"
SELLER_NAME = "Emulator Seller"
SELLER_BASE_REGION = "US"


@dataclass(frozen=True)
class Shop:
    """One shop an authorisation may cover, as ``GET /authorization/202309/shops`` lists it."""

    id: str
    cipher: str
    code: str
    name: str
    region: str
    seller_type: str = "LOCAL"

    def as_json(self) -> dict[str, str]:
        return {
            "id": self.id,
            "cipher": self.cipher,
            "code": self.code,
            "name": self.name,
            "region": self.region,
            "seller_type": self.seller_type,
        }


SHOPS = (
    Shop(id="7000000000000000001", cipher="ROW_emuShopCipherUS001", code="USEMU001", name="Emulator Shop US", region="US"),
    Shop(id="7000000000000000002", cipher="ROW_emuShopCipherGB002", code="GBEMU002", name="Emulator Shop GB", region="GB"),
    Shop(id="7000000000000000003", cipher="ROW_emuShopCipherDE003", code="DEEMU003", name="Emulator Shop DE", region="DE"),
)
