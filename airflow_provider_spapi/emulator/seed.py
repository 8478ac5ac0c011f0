"""The emulator's seeded world: credentials, sellers, marketplaces and orders.

Everything here is deterministic, so tests and example DAGs can hard-code the credentials below
and get the same orders on every run with the same ``seed``.

Credentials are constants (they never depend on ``seed``):

* ``CLIENT_ID`` / ``CLIENT_SECRET``: the LWA application every seeded refresh token belongs to.
* ``REFRESH_TOKEN``: seller 1's refresh token; ``SELLERS`` lists all three sellers (one EU).
* ``REVOKED_REFRESH_TOKEN``: belongs to seller 1 but was revoked: LWA answers ``invalid_grant``.
* ``AUTHORIZATION_CODE`` with ``REDIRECT_URI``: a one-time ``spapi_oauth_code`` for seller 1, valid
  for five minutes after the emulator starts (or is reset); it exchanges for a *new* refresh token.

Orders are spread over the 90 days before the emulator's *anchor* (by default the moment it
starts, floored to the hour), denser towards the anchor, so a DAG whose ``data_interval`` is
yesterday, or the last hour, finds orders. Order ids, amounts, items and buyers depend only on
``seed`` and the seller; only the timestamps move with the anchor.

Every value Amazon treats as PII (buyer and recipient names, emails, street addresses, phones,
gift messages, business tax details) contains the marker ``PII``, so a leak test can search
logs, XComs and files for it. Values that are not PII (city, state, postal code, country) never do.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from decimal import Decimal

CLIENT_ID = "amzn1.application-oa2-client.emulator"
CLIENT_SECRET = "amzn1.oa2-cs.v1.0e6d1a7b5c3f4e2d9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b9c8d7e6f5a4b"
#: The application id (``amzn1.sp.solution.…``) the emulator's client belongs to, as notifications show it.
APPLICATION_ID = "amzn1.sp.solution.00000000-0000-4000-8000-00000000e0e0"

MARKETPLACE_ID_US = "ATVPDKIKX0DER"
MARKETPLACE_ID_CA = "A2EUQ1WTGCTBG2"
MARKETPLACE_ID_MX = "A1AM78C64UM0Y8"
MARKETPLACE_ID_DE = "A1PA6795UKMFR9"
MARKETPLACE_ID_FR = "A13V1IB3VIYZZH"
MARKETPLACE_ID_IT = "APJ6JRA9NG5V4"
MARKETPLACE_ID_ES = "A1RKKUPIHCS9HS"
MARKETPLACE_ID_UK = "A1F83G8C2ARO7P"


@dataclass(frozen=True)
class Marketplace:
    """A marketplace as ``getMarketplaceParticipations`` describes it."""

    id: str
    country_code: str
    name: str
    currency: str
    language: str
    domain: str


MARKETPLACES: dict[str, Marketplace] = {
    m.id: m
    for m in (
        Marketplace(MARKETPLACE_ID_US, "US", "Amazon.com", "USD", "en_US", "www.amazon.com"),
        Marketplace(MARKETPLACE_ID_CA, "CA", "Amazon.ca", "CAD", "en_CA", "www.amazon.ca"),
        Marketplace(MARKETPLACE_ID_MX, "MX", "Amazon.com.mx", "MXN", "es_MX", "www.amazon.com.mx"),
        Marketplace(MARKETPLACE_ID_DE, "DE", "Amazon.de", "EUR", "de_DE", "www.amazon.de"),
        Marketplace(MARKETPLACE_ID_FR, "FR", "Amazon.fr", "EUR", "fr_FR", "www.amazon.fr"),
        Marketplace(MARKETPLACE_ID_IT, "IT", "Amazon.it", "EUR", "it_IT", "www.amazon.it"),
        Marketplace(MARKETPLACE_ID_ES, "ES", "Amazon.es", "EUR", "es_ES", "www.amazon.es"),
        Marketplace(MARKETPLACE_ID_UK, "GB", "Amazon.co.uk", "GBP", "en_GB", "www.amazon.co.uk"),
    )
}


@dataclass(frozen=True)
class Seller:
    """A selling partner who authorised the emulator's application."""

    selling_partner_id: str
    refresh_token: str
    marketplace_ids: tuple[str, ...]
    name: str


SELLERS: list[Seller] = [
    Seller(
        "A1EMULATORSLR1",
        "Atzr|IwEBIEmulatorSeller1RefreshToken-7Qk2mV9xLr4TnB8cWz3HfJ6pYs1DgA5e",
        (MARKETPLACE_ID_US, MARKETPLACE_ID_CA),
        "Emulator Seller One (NA)",
    ),
    Seller(
        "A2EMULATORSLR2",
        "Atzr|IwEBIEmulatorSeller2RefreshToken-Lm4Xc8Vb2Nz6Qw1Er5Ty9Ui3Op7As0Df",
        (MARKETPLACE_ID_US,),
        "Emulator Seller Two (US)",
    ),
    Seller(
        "A3EMULATORSLR3",
        "Atzr|IwEBIEmulatorSeller3RefreshToken-Gh2Jk6Lz0Xc4Vb8Nm1Qw5Er9Ty3Ui7Op",
        (MARKETPLACE_ID_DE, MARKETPLACE_ID_FR, MARKETPLACE_ID_IT, MARKETPLACE_ID_ES, MARKETPLACE_ID_UK),
        "Emulator Seller Three (EU)",
    ),
]
SELLER = SELLERS[0]
SELLING_PARTNER_ID = SELLER.selling_partner_id
REFRESH_TOKEN = SELLER.refresh_token
REVOKED_REFRESH_TOKEN = "Atzr|IwEBIEmulatorRevokedRefreshToken-Zx9Cv3Bn7Ml1Kj5Hg0Fd4Sa8Qw2Er6T"
AUTHORIZATION_CODE = "ANEMULATORSPAPIOAUTHCODE1"
REDIRECT_URI = "https://localhost/spapi/oauth/callback"
#: How long an ``spapi_oauth_code`` can be exchanged after it is issued (Amazon: five minutes).
AUTHORIZATION_CODE_TTL = 300.0

#: The marker every PII value contains.
PII_MARKER = "PII"
ORDER_HISTORY_DAYS = 90


@dataclass(frozen=True)
class Address:
    """A shipping address; ``name``, ``line1``, ``line2`` and ``phone`` are PII, the rest is not."""

    name: str
    line1: str
    line2: str
    city: str
    state: str
    postal_code: str
    country_code: str
    phone: str


@dataclass(frozen=True)
class OrderItem:
    order_item_id: str
    asin: str
    sku: str
    title: str
    quantity: int
    quantity_shipped: int
    unit_price: Decimal
    gift_message: str | None  # PII when present


@dataclass(frozen=True)
class Order:
    """One seeded order; rendered by the Orders v0 and 2026-01-01 handlers."""

    order_id: str
    seller_order_id: str
    selling_partner_id: str
    marketplace_id: str
    currency: str
    purchase_date: datetime
    last_update_date: datetime
    status: str  # Orders v0 OrderStatus
    fulfillment_channel: str  # AFN or MFN
    service_level: str
    is_prime: bool
    is_business: bool
    items: tuple[OrderItem, ...]
    buyer_name: str
    buyer_email: str
    address: Address
    business_name: str | None  # PII, business orders only
    tax_registration_id: str | None  # PII, business orders only

    @property
    def total(self) -> Decimal:
        return sum((item.unit_price * item.quantity for item in self.items), Decimal("0.00"))

    @property
    def items_shipped(self) -> int:
        return sum(item.quantity_shipped for item in self.items)

    @property
    def items_unshipped(self) -> int:
        return sum(item.quantity - item.quantity_shipped for item in self.items)


PRODUCTS = [
    ("Stainless Steel Water Bottle 750 ml", Decimal("18.99")),
    ("Bamboo Cutting Board, Large", Decimal("24.50")),
    ("USB-C Charging Cable 2 m (2-pack)", Decimal("11.99")),
    ("Wireless Ergonomic Mouse", Decimal("29.95")),
    ("Cotton Kitchen Towels (6-pack)", Decimal("15.49")),
    ("LED Desk Lamp with Dimmer", Decimal("34.00")),
    ("Yoga Mat 6 mm, Non-Slip", Decimal("27.80")),
    ("Ceramic Coffee Mug Set (4)", Decimal("22.00")),
    ("Hardcover Notebook A5, Dotted", Decimal("9.99")),
    ("Silicone Baking Mats (2)", Decimal("13.25")),
    ("Mechanical Keyboard, Brown Switches", Decimal("79.99")),
    ("Insulated Lunch Bag", Decimal("16.75")),
    ("Phone Stand, Aluminium", Decimal("12.40")),
    ("Cast Iron Skillet 10 inch", Decimal("31.90")),
    ("Reusable Produce Bags (9)", Decimal("8.49")),
    ("Noise-Cancelling Earbuds", Decimal("59.00")),
    ("Glass Food Containers (5)", Decimal("26.99")),
    ("Hiking Socks (3 pairs)", Decimal("17.60")),
    ("Travel Adapter, Universal", Decimal("21.45")),
    ("Scented Soy Candle, Cedar", Decimal("14.00")),
]

# Non-PII parts of addresses per country: (city, state or region, postal code).
_PLACES: dict[str, list[tuple[str, str, str]]] = {
    "US": [("Seattle", "WA", "98109"), ("Austin", "TX", "78701"), ("Denver", "CO", "80202"), ("Boston", "MA", "02110")],
    "CA": [("Toronto", "ON", "M5V 2T6"), ("Vancouver", "BC", "V6B 1A1"), ("Montreal", "QC", "H2Y 1C6")],
    "MX": [("Ciudad de Mexico", "CDMX", "06600"), ("Guadalajara", "JAL", "44100")],
    "DE": [("Berlin", "BE", "10115"), ("Munich", "BY", "80331"), ("Hamburg", "HH", "20095")],
    "FR": [("Paris", "IDF", "75001"), ("Lyon", "ARA", "69002")],
    "IT": [("Milano", "MI", "20121"), ("Roma", "RM", "00184")],
    "ES": [("Madrid", "M", "28013"), ("Barcelona", "B", "08002")],
    "GB": [("London", "Greater London", "EC1A 1BB"), ("Manchester", "Greater Manchester", "M1 1AE")],
}

_ORDER_PREFIXES = {"US": (111, 112, 113, 114), "CA": (701, 702), "MX": (701, 702), "GB": (202, 203, 204, 205, 206)}
_EU_PREFIXES = (302, 303, 304, 305, 306, 28)


def asin_for(index: int) -> str:
    return f"B0EMU{index:05d}"


def sku_for(index: int) -> str:
    return f"EMU-SKU-{index:04d}"


def find_seller(selling_partner_id: str) -> Seller | None:
    return next((s for s in SELLERS if s.selling_partner_id == selling_partner_id), None)


def _status(rng: random.Random, age: timedelta) -> str:
    if age < timedelta(hours=2):
        return rng.choice(("Pending", "Unshipped", "Unshipped"))
    if age < timedelta(days=2):
        return rng.choice(("Unshipped", "Unshipped", "PartiallyShipped", "Shipped", "Shipped"))
    return "Canceled" if rng.random() < 0.05 else "Shipped"


def generate_orders(seller: Seller, count: int, seed: int, anchor: datetime) -> list[Order]:
    """``count`` orders for ``seller``, oldest first, deterministic for (seller, seed) up to the anchor's shift.

    Timestamps are ``anchor`` minus an offset drawn so that recent days hold more orders (the offset
    is 90 days times the square of a uniform draw). Every 25th order has 12 to 23 items, so
    ``getOrderItems`` pagination has something to page through.
    """
    rng = random.Random(f"spapi-emulator:{seed}:{seller.selling_partner_id}")
    seller_tag = seller.selling_partner_id[-4:]
    used_ids: set[str] = set()
    orders: list[Order] = []
    for n in range(1, count + 1):
        marketplace = MARKETPLACES[seller.marketplace_ids[(n - 1) % len(seller.marketplace_ids)]]
        country = marketplace.country_code
        prefix = rng.choice(_ORDER_PREFIXES.get(country, _EU_PREFIXES))
        while True:
            order_id = f"{prefix:03d}-{rng.randrange(10**7):07d}-{rng.randrange(10**7):07d}"
            if order_id not in used_ids:
                used_ids.add(order_id)
                break
        offset = timedelta(seconds=int(ORDER_HISTORY_DAYS * 86400 * rng.random() ** 2))
        purchase = anchor - offset
        last_update = min(anchor, purchase + timedelta(seconds=rng.randrange(0, 72 * 3600)))
        status = _status(rng, offset)
        channel = "AFN" if rng.random() < 0.4 else "MFN"
        is_business = rng.random() < 0.1
        item_count = rng.randint(12, 23) if n % 25 == 0 else rng.randint(1, 3)
        tag = f"{seller_tag}-{n:04d}"
        items = []
        for i in range(1, item_count + 1):
            product = rng.randrange(len(PRODUCTS))
            title, price = PRODUCTS[product]
            quantity = rng.randint(1, 3)
            shipped = quantity if status == "Shipped" else (quantity // 2 if status == "PartiallyShipped" else 0)
            gift = f"PII gift message {tag}-{i}: happy birthday!" if rng.random() < 0.08 else None
            items.append(
                OrderItem(
                    order_item_id=f"{rng.randrange(10**13, 10**14)}",
                    asin=asin_for(product + 1),
                    sku=sku_for(product + 1),
                    title=title,
                    quantity=quantity,
                    quantity_shipped=shipped,
                    unit_price=price,
                    gift_message=gift,
                )
            )
        city, state, postal = rng.choice(_PLACES[country])
        orders.append(
            Order(
                order_id=order_id,
                seller_order_id=f"EMU-{seller_tag}-{n:06d}",
                selling_partner_id=seller.selling_partner_id,
                marketplace_id=marketplace.id,
                currency=marketplace.currency,
                purchase_date=purchase,
                last_update_date=last_update,
                status=status,
                fulfillment_channel=channel,
                service_level=rng.choice(("Std US D2D Dom", "Expedited", "Standard", "SecondDay")),
                is_prime=channel == "AFN" or rng.random() < 0.2,
                is_business=is_business,
                items=tuple(items),
                buyer_name=f"PII Buyer {tag}",
                buyer_email=f"PII-buyer-{tag.lower()}@example.invalid",
                address=Address(
                    name=f"PII Recipient {tag}",
                    line1=f"{n} PII Street",
                    line2=f"Apt PII-{tag}",
                    city=city,
                    state=state,
                    postal_code=postal,
                    country_code=country,
                    phone=f"+1-555-PII-{n:04d}",
                ),
                business_name=f"PII Company {tag} LLC" if is_business else None,
                tax_registration_id=f"PII-TAX-{tag}" if is_business else None,
            )
        )
    orders.sort(key=lambda order: (order.purchase_date, order.order_id))
    return orders


def default_anchor(now: datetime | None = None) -> datetime:
    """The start time floored to the hour (UTC): the same orders for every start within that hour."""
    now = now or datetime.now(timezone.utc)
    return now.astimezone(timezone.utc).replace(minute=0, second=0, microsecond=0)
