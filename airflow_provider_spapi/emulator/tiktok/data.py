"""Seeded shop data: orders (whose buyer fields carry the marker ``PII``, for leak tests), products, statements.

Generated once at start from ``seed`` over the 90 days before the anchor (start time floored to the hour);
times are Unix seconds, as TikTok sends them.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

from airflow_provider_spapi.emulator.tiktok import facts, seed

DAY = 86400
WINDOW = 90 * DAY


@dataclass
class ShopData:
    orders: list[dict[str, Any]] = field(default_factory=list)
    products: list[dict[str, Any]] = field(default_factory=list)
    statements: list[dict[str, Any]] = field(default_factory=list)


def _order(rng: random.Random, shop: int, number: int, anchor: int) -> dict[str, Any]:
    created = anchor - rng.randint(0, WINDOW)
    updated = min(anchor, created + rng.randint(0, 5 * DAY))
    price = rng.randint(500, 20000) / 100
    quantity = rng.randint(1, 3)
    return {
        "id": f"57{shop}{number:015d}",
        "status": rng.choice(facts.ORDER_STATUSES),
        "create_time": created,
        "update_time": updated,
        "payment": {"currency": "USD", "total_amount": f"{price * quantity:.2f}", "sub_total": f"{price * quantity:.2f}"},
        "buyer_email": f"PII-buyer-{shop}-{number}@example.invalid",
        "buyer_message": "PII please leave at the door",
        "recipient_address": {
            "name": f"PII Buyer {shop}-{number}",
            "phone_number": f"PII +1 555 01{number % 100:02d}",
            "full_address": f"PII {number} Emulator Street, Springfield",
            "postal_code": f"{10000 + number % 89999}",
            "region_code": "US",
        },
        "line_items": [
            {
                "id": f"58{shop}{number:015d}{item}",
                "product_id": f"17{shop}{rng.randint(0, 59):015d}",
                "product_name": f"Emulator product {rng.randint(0, 59)}",
                "sale_price": f"{price:.2f}",
                "currency": "USD",
            }
            for item in range(quantity)
        ],
    }


def _product(rng: random.Random, shop: int, number: int, anchor: int) -> dict[str, Any]:
    created = anchor - rng.randint(0, WINDOW)
    return {
        "id": f"17{shop}{number:015d}",
        "title": f"Emulator product {number}",
        "status": rng.choice(facts.PRODUCT_STATUSES),
        "create_time": created,
        "update_time": min(anchor, created + rng.randint(0, 20 * DAY)),
        "skus": [{"id": f"19{shop}{number:015d}", "seller_sku": f"EMU-{shop}-{number}", "price": {"amount": "19.99", "currency": "USD"}}],
    }


def _statement(rng: random.Random, shop: int, number: int, anchor: int) -> dict[str, Any]:
    revenue = rng.randint(10000, 500000) / 100
    fees = round(revenue * 0.08, 2)
    return {
        "id": f"71{shop}{number:015d}",
        "statement_time": anchor - (number + 1) * DAY,
        "currency": "USD",
        "revenue_amount": f"{revenue:.2f}",
        "fee_amount": f"{-fees:.2f}",
        "adjustment_amount": "0.00",
        "settlement_amount": f"{revenue - fees:.2f}",
        "payment_status": "PAID" if number > 2 else "PROCESSING",
        "payment_id": f"72{shop}{number:015d}",
    }


def generate(orders: int, products: int, statements: int, rng_seed: int, anchor: int) -> dict[str, ShopData]:
    """Data per shop cipher, the same for the same arguments."""
    shops: dict[str, ShopData] = {}
    for index, shop in enumerate(seed.SHOPS, start=1):
        rng = random.Random(f"{rng_seed}:{shop.cipher}")
        shops[shop.cipher] = ShopData(
            orders=[_order(rng, index, n, anchor) for n in range(orders)],
            products=[_product(rng, index, n, anchor) for n in range(products)],
            statements=[_statement(rng, index, n, anchor) for n in range(statements)],
        )
    return shops
