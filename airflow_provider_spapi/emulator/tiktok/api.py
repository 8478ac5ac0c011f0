"""The TikTok Shop APIs the emulator answers: shops, orders search and detail, products search, statements.

Each handler gets a :class:`Call` (already authenticated, signed, shop-checked and throttled) and returns
the envelope's ``data``, or raises :class:`~.tokens.Refusal` with TikTok's code.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from airflow_provider_spapi.emulator.tiktok import facts, paging, seed
from airflow_provider_spapi.emulator.tiktok.data import ShopData
from airflow_provider_spapi.emulator.tiktok.tokens import Refusal


@dataclass
class Call:
    query: dict[str, str]
    body: bytes
    shop: seed.Shop | None
    shops: tuple[seed.Shop, ...]
    data: ShopData | None

    def json(self) -> dict[str, Any]:
        if not self.body:
            return {}
        try:
            decoded = json.loads(self.body)
        except ValueError:
            raise Refusal(facts.BAD_REQUEST, "The request body is not valid JSON.") from None
        if not isinstance(decoded, dict):
            raise Refusal(facts.BAD_REQUEST, "The request body must be a JSON object.")
        return decoded

    @property
    def shop_data(self) -> ShopData:
        assert self.data is not None, "shop-scoped APIs are called with a shop"
        return self.data


def _page_size(call: Call) -> int:
    value = call.query.get("page_size", "")
    if not value.isdigit() or not 1 <= int(value) <= facts.MAX_PAGE_SIZE:
        raise Refusal(facts.BAD_REQUEST, f"Invalid page_size: it is required, from 1 to {facts.MAX_PAGE_SIZE}.")
    return int(value)


def _number(filters: dict[str, Any], name: str) -> int | None:
    value = filters.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, str)) or not str(value).isdigit():
        raise Refusal(facts.BAD_REQUEST, f"Invalid {name}: Unix seconds expected.")
    return int(value)


def _in_window(item: dict[str, Any], filters: dict[str, Any], field: str, upper: str) -> bool:
    low, high = _number(filters, f"{field}_ge"), _number(filters, f"{field}_{upper}")
    value = item[field]
    return (low is None or value >= low) and (high is None or (value < high if upper == "lt" else value <= high))


def _paged(call: Call, items: list[dict[str, Any]], key: str, query: Any) -> dict[str, Any]:
    result = paging.page(items, query, _page_size(call), call.query.get("page_token") or None)
    if result is None:
        raise Refusal(facts.BAD_REQUEST, "Invalid page_token.")
    rows, next_token = result
    return {key: rows, "next_page_token": next_token, "total_count": len(items)}


def _sorted(call: Call, items: list[dict[str, Any]], fields: tuple[str, ...], default: str) -> tuple[list[dict[str, Any]], str, str]:
    field = call.query.get("sort_field") or default
    order = (call.query.get("sort_order") or "DESC").upper()
    if field not in fields or order not in ("ASC", "DESC"):
        raise Refusal(facts.BAD_REQUEST, f"Invalid sort: sort_field is one of {', '.join(fields)}, sort_order ASC or DESC.")
    return sorted(items, key=lambda item: (item[field], item["id"]), reverse=order == "DESC"), field, order


def shops(call: Call) -> dict[str, Any]:
    return {"shops": [shop.as_json() for shop in call.shops]}


def orders_search(call: Call) -> dict[str, Any]:
    filters = call.json()
    status = filters.get("order_status")
    matching = [
        order
        for order in call.shop_data.orders
        if (status is None or order["status"] == status)
        and _in_window(order, filters, "create_time", "lt")
        and _in_window(order, filters, "update_time", "lt")
    ]
    ordered, field, order = _sorted(call, matching, ("create_time", "update_time"), "create_time")
    return _paged(call, ordered, "orders", [call.query.get("shop_cipher"), filters, field, order])


def order_detail(call: Call) -> dict[str, Any]:
    ids = [part for part in (call.query.get("ids") or "").split(",") if part]
    if not ids or len(ids) > facts.MAX_DETAIL_IDS:
        raise Refusal(facts.BAD_REQUEST, f"Invalid ids: from 1 to {facts.MAX_DETAIL_IDS} order ids, comma-separated.")
    by_id = {order["id"]: order for order in call.shop_data.orders}
    return {"orders": [by_id[order_id] for order_id in ids if order_id in by_id]}


def products_search(call: Call) -> dict[str, Any]:
    filters = call.json()
    status = filters.get("status")
    matching = [
        product
        for product in call.shop_data.products
        if (status is None or product["status"] == status)
        and _in_window(product, filters, "update_time", "le")
        and _in_window(product, filters, "create_time", "le")
    ]
    return _paged(call, matching, "products", [call.query.get("shop_cipher"), filters])


def statements(call: Call) -> dict[str, Any]:
    if call.query.get("sort_field") != "statement_time":
        raise Refusal(facts.BAD_REQUEST, "Invalid sort_field: statement_time is required.")
    filters: dict[str, Any] = {name: call.query[name] for name in ("statement_time_ge", "statement_time_lt") if name in call.query}
    matching = [statement for statement in call.shop_data.statements if _in_window(statement, filters, "statement_time", "lt")]
    ordered, _, order = _sorted(call, matching, ("statement_time",), "statement_time")
    return _paged(call, ordered, "statements", [call.query.get("shop_cipher"), filters, order])


Handler = Callable[[Call], dict[str, Any]]

#: (method, path) → (name for the counters, handler).
ROUTES: dict[tuple[str, str], tuple[str, Handler]] = {
    ("GET", "/authorization/202309/shops"): ("authorization.shops", shops),
    ("POST", "/order/202309/orders/search"): ("order.search", orders_search),
    ("GET", "/order/202309/orders"): ("order.detail", order_detail),
    ("POST", "/product/202309/products/search"): ("product.search", products_search),
    ("GET", "/finance/202309/statements"): ("finance.statements", statements),
}
