"""Orders v0, Orders 2026-01-01 and Sellers, served from the seeded orders.

Orders v0 (``{"payload": …}``) hides PII unless the call carries a Restricted Data Token that
covers it: with a plain LWA token ``getOrders``/``getOrder`` show only the non-PII parts of the
shipping address (city, state, postal code, country) and no ``BuyerInfo``; an RDT with
``dataElements`` adds ``buyerInfo`` (``BuyerInfo``), ``shippingAddress`` (the full address) and
``buyerTaxInformation`` (business orders); ``getOrderItems`` with ``buyerInfo`` adds each gift
item's ``BuyerInfo``. ``getOrderAddress``, ``getOrderBuyerInfo`` and ``getOrderItemsBuyerInfo``
need an RDT (checked before the handler runs).

``getOrders`` needs ``MarketplaceIds`` and exactly one of ``CreatedAfter``/``LastUpdatedAfter``
(unless ``AmazonOrderIds`` is given); it filters on dates, ``OrderStatuses``,
``FulfillmentChannels`` and ``AmazonOrderIds`` (other filters are accepted and ignored), pages by
``MaxResultsPerPage`` (1-100, default 100), and a ``NextToken`` carries the whole query: with
it, every other parameter is ignored. ``getOrderItems`` pages by 10 items (every 25th seeded order
has more than 10).

Orders 2026-01-01 (``searchOrders``, ``getOrder``) needs no RDT and serves no PII: ``includedData``
``RECIPIENT`` gives the non-PII address parts, ``PROCEEDS`` and ``FULFILLMENT`` their datasets;
``BUYER`` adds nothing. Its pagination token is ``pagination.nextToken``, sent back as
``paginationToken``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

from airflow_provider_spapi.emulator.call import Call, Handler
from airflow_provider_spapi.emulator.paging import Pager
from airflow_provider_spapi.emulator.responses import ApiError, Response
from airflow_provider_spapi.emulator.seed import MARKETPLACES, Order, OrderItem, Seller, generate_orders
from airflow_provider_spapi.emulator.timefmt import iso_z, parse_time

ITEMS_PAGE_SIZE = 10
V0_STATUSES = (
    "PendingAvailability",
    "Pending",
    "Unshipped",
    "PartiallyShipped",
    "Shipped",
    "InvoiceUnconfirmed",
    "Canceled",
    "Unfulfillable",
)
FULFILLMENT_STATUS = {
    "PendingAvailability": "PENDING_AVAILABILITY",
    "Pending": "PENDING",
    "Unshipped": "UNSHIPPED",
    "PartiallyShipped": "PARTIALLY_SHIPPED",
    "Shipped": "SHIPPED",
    "Canceled": "CANCELLED",
    "Unfulfillable": "UNFULFILLABLE",
}
FULFILLED_BY = {"AFN": "AMAZON", "MFN": "MERCHANT"}


class OrderBook:
    """Each seller's seeded orders, generated on first use and kept (they never change)."""

    def __init__(self, count: int, seed: int, anchor: datetime, seller_lookup: Callable[[str], Seller]) -> None:
        self._count, self._seed, self.anchor = count, seed, anchor
        self._seller_lookup = seller_lookup
        self._lock = threading.Lock()
        self._orders: dict[str, list[Order]] = {}
        self._by_id: dict[str, dict[str, Order]] = {}

    def orders(self, selling_partner_id: str) -> list[Order]:
        with self._lock:
            orders = self._orders.get(selling_partner_id)
            if orders is None:
                orders = generate_orders(self._seller_lookup(selling_partner_id), self._count, self._seed, self.anchor)
                self._orders[selling_partner_id] = orders
                self._by_id[selling_partner_id] = {order.order_id: order for order in orders}
            return orders

    def find(self, selling_partner_id: str, order_id: str) -> Order:
        self.orders(selling_partner_id)
        order = self._by_id[selling_partner_id].get(order_id)
        if order is None:
            raise ApiError(404, "NotFound", f"Order {order_id} was not found.")
        return order


def _money_v0(amount: Decimal, currency: str) -> dict[str, str]:
    return {"CurrencyCode": currency, "Amount": f"{amount:.2f}"}


def _money(amount: Decimal, currency: str) -> dict[str, str]:
    return {"amount": f"{amount:.2f}", "currencyCode": currency}


def _full_address_v0(order: Order) -> dict[str, Any]:
    a = order.address
    return {
        "Name": a.name,
        "AddressLine1": a.line1,
        "AddressLine2": a.line2,
        "City": a.city,
        "StateOrRegion": a.state,
        "PostalCode": a.postal_code,
        "CountryCode": a.country_code,
        "Phone": a.phone,
        "AddressType": "Residential",
    }


def _public_address_v0(order: Order) -> dict[str, Any]:
    a = order.address
    return {"City": a.city, "StateOrRegion": a.state, "PostalCode": a.postal_code, "CountryCode": a.country_code}


def _buyer_info_v0(order: Order) -> dict[str, Any]:
    info: dict[str, Any] = {"BuyerEmail": order.buyer_email, "BuyerName": order.buyer_name}
    if order.is_business:
        info["PurchaseOrderNumber"] = f"PO-{order.seller_order_id}"
        info["BuyerTaxInfo"] = {"CompanyLegalName": order.business_name, "TaxingRegion": order.address.state}
    return info


def order_v0(order: Order, elements: frozenset[str]) -> dict[str, Any]:
    """An Orders v0 ``Order``, with the PII of ``elements`` only."""
    marketplace = MARKETPLACES[order.marketplace_id]
    expedited = order.service_level in ("Expedited", "SecondDay")
    out: dict[str, Any] = {
        "AmazonOrderId": order.order_id,
        "SellerOrderId": order.seller_order_id,
        "PurchaseDate": iso_z(order.purchase_date),
        "LastUpdateDate": iso_z(order.last_update_date),
        "OrderStatus": order.status,
        "FulfillmentChannel": order.fulfillment_channel,
        "SalesChannel": marketplace.name,
        "ShipServiceLevel": order.service_level,
        "OrderTotal": _money_v0(order.total, order.currency),
        "NumberOfItemsShipped": order.items_shipped,
        "NumberOfItemsUnshipped": order.items_unshipped,
        "PaymentMethod": "Other",
        "PaymentMethodDetails": ["Standard"],
        "MarketplaceId": order.marketplace_id,
        "ShipmentServiceLevelCategory": "Expedited" if expedited else "Standard",
        "OrderType": "StandardOrder",
        "EarliestShipDate": iso_z(order.purchase_date + timedelta(days=1)),
        "LatestShipDate": iso_z(order.purchase_date + timedelta(days=3)),
        "IsBusinessOrder": order.is_business,
        "IsPrime": order.is_prime,
        "IsPremiumOrder": False,
        "IsGlobalExpressEnabled": False,
        "IsReplacementOrder": False,
        "IsSoldByAB": False,
        "IsISPU": False,
        "IsAccessPointOrder": False,
        "HasRegulatedItems": False,
        "ShippingAddress": _full_address_v0(order) if "shippingAddress" in elements else _public_address_v0(order),
    }
    if "buyerInfo" in elements:
        out["BuyerInfo"] = _buyer_info_v0(order)
    if "buyerTaxInformation" in elements and order.is_business:
        out["BuyerTaxInformation"] = {
            "BuyerLegalCompanyName": order.business_name,
            "BuyerBusinessAddress": f"{order.address.line1}, {order.address.city}",
            "BuyerTaxRegistrationId": order.tax_registration_id,
            "BuyerTaxOffice": f"PII Tax Office {order.address.city}",
        }
    return out


def _item_buyer_info(item: OrderItem) -> dict[str, Any] | None:
    if item.gift_message is None:
        return None
    return {"GiftMessageText": item.gift_message, "GiftWrapLevel": "Classic"}


def order_item_v0(order: Order, item: OrderItem, elements: frozenset[str]) -> dict[str, Any]:
    zero = Decimal("0.00")
    out: dict[str, Any] = {
        "ASIN": item.asin,
        "SellerSKU": item.sku,
        "OrderItemId": item.order_item_id,
        "Title": item.title,
        "QuantityOrdered": item.quantity,
        "QuantityShipped": item.quantity_shipped,
        "ProductInfo": {"NumberOfItems": "1"},
        "ItemPrice": _money_v0(item.unit_price * item.quantity, order.currency),
        "ItemTax": _money_v0(zero, order.currency),
        "ShippingPrice": _money_v0(zero, order.currency),
        "PromotionDiscount": _money_v0(zero, order.currency),
        "IsGift": "true" if item.gift_message else "false",
        "ConditionId": "New",
        "ConditionSubtypeId": "New",
        "IsTransparency": False,
        "SerialNumberRequired": False,
    }
    buyer_info = _item_buyer_info(item)
    if "buyerInfo" in elements and buyer_info:
        out["BuyerInfo"] = buyer_info
    return out


def order_2026(order: Order, included: frozenset[str]) -> dict[str, Any]:
    """An Orders 2026-01-01 ``Order``: never any PII."""
    marketplace = MARKETPLACES[order.marketplace_id]
    items = []
    for item in order.items:
        entry: dict[str, Any] = {
            "orderItemId": item.order_item_id,
            "quantityOrdered": item.quantity,
            "product": {
                "asin": item.asin,
                "title": item.title,
                "sellerSku": item.sku,
                "condition": {"conditionType": "NEW", "conditionSubtype": "NEW"},
                "price": {"unitPrice": _money(item.unit_price, order.currency)},
            },
        }
        if "PROCEEDS" in included:
            total = _money(item.unit_price * item.quantity, order.currency)
            entry["proceeds"] = {"proceedsTotal": total, "breakdowns": [{"type": "ITEM", "subtotal": total}]}
        if "FULFILLMENT" in included:
            entry["fulfillment"] = {
                "quantityFulfilled": item.quantity_shipped,
                "quantityUnfulfilled": item.quantity - item.quantity_shipped,
            }
        items.append(entry)
    out: dict[str, Any] = {
        "orderId": order.order_id,
        "orderAliases": [{"aliasId": order.seller_order_id, "aliasType": "SELLER_ORDER_ID"}],
        "createdTime": iso_z(order.purchase_date),
        "lastUpdatedTime": iso_z(order.last_update_date),
        "programs": ["PRIME"] if order.is_prime else [],
        "associatedOrders": [],
        "salesChannel": {"channelName": "AMAZON", "marketplaceId": order.marketplace_id, "marketplaceName": marketplace.name},
        "orderItems": items,
    }
    if "PROCEEDS" in included:
        out["proceeds"] = {"grandTotal": _money(order.total, order.currency)}
    if "FULFILLMENT" in included:
        out["fulfillment"] = {
            "fulfillmentStatus": FULFILLMENT_STATUS.get(order.status, "PENDING"),
            "fulfilledBy": FULFILLED_BY[order.fulfillment_channel],
            "fulfillmentServiceLevel": "EXPEDITED" if order.service_level in ("Expedited", "SecondDay") else "STANDARD",
        }
    if "RECIPIENT" in included:
        a = order.address
        out["recipient"] = {
            "deliveryAddress": {
                "city": a.city,
                "stateOrRegion": a.state,
                "postalCode": a.postal_code,
                "countryCode": a.country_code,
                "addressType": "RESIDENTIAL",
            }
        }
    return out


def _page_size(value: str | None, name: str, default: int, high: int) -> int:
    if value is None:
        return default
    try:
        size = int(value)
    except ValueError:
        size = 0
    if not 1 <= size <= high:
        raise ApiError(400, "InvalidInput", f"{name} must be an integer from 1 to {high}.")
    return size


def _select(orders: list[Order], query: dict[str, Any]) -> list[Order]:
    """The orders matching a stored query (dates as ISO strings), in the order of the date filtered on."""
    by_update = query.get("updated_after") is not None
    after = query["updated_after"] if by_update else query.get("created_after")
    before = query["updated_before"] if by_update else query.get("created_before")
    low = parse_time(after, "after") if after else None
    high = parse_time(before, "before") if before else None
    marketplaces = set(query.get("marketplaces") or ())
    statuses = set(query.get("statuses") or ())
    channels = set(query.get("channels") or ())
    ids = set(query.get("ids") or ())
    selected = []
    for order in orders:
        moment = order.last_update_date if by_update else order.purchase_date
        if (low is not None and moment < low) or (high is not None and moment > high):
            continue
        if marketplaces and order.marketplace_id not in marketplaces:
            continue
        if statuses and order.status not in statuses and FULFILLMENT_STATUS.get(order.status) not in statuses:
            continue
        if channels and order.fulfillment_channel not in channels and FULFILLED_BY[order.fulfillment_channel] not in channels:
            continue
        if ids and order.order_id not in ids:
            continue
        selected.append(order)
    if by_update:
        selected.sort(key=lambda o: (o.last_update_date, o.order_id))
    return selected


class OrdersApi:
    """Handlers of Orders v0, Orders 2026-01-01 and Sellers."""

    def __init__(self, book: OrderBook, pager: Pager, seller_lookup: Callable[[str], Seller]) -> None:
        self.book = book
        self.pager = pager
        self.seller_lookup = seller_lookup

    def handlers(self) -> dict[str, Handler]:
        return {
            "ordersV0.getOrders": self.get_orders,
            "ordersV0.getOrder": self.get_order,
            "ordersV0.getOrderItems": self.get_order_items,
            "ordersV0.getOrderItemsBuyerInfo": self.get_order_items_buyer_info,
            "ordersV0.getOrderAddress": self.get_order_address,
            "ordersV0.getOrderBuyerInfo": self.get_order_buyer_info,
            "orders_2026-01-01.searchOrders": self.search_orders,
            "orders_2026-01-01.getOrder": self.get_order_2026,
            "sellers.getMarketplaceParticipations": self.get_marketplace_participations,
        }

    def _continue(self, call: Call, token: str, kind: str) -> dict[str, Any]:
        state = self.pager.decode(token, kind)
        if state is None or state.get("seller") != call.seller:
            raise ApiError(400, "InvalidInput", "Invalid NextToken.", "The pagination token is not valid for this request.")
        return state

    def _dates(self, call: Call, created_after: str, created_before: str, updated_after: str, updated_before: str) -> dict[str, Any]:
        """Validate the date filters (parameter names differ between versions) into a stored query."""
        names = {"ca": created_after, "cb": created_before, "ua": updated_after, "ub": updated_before}
        raw = {key: call.request.param(name) for key, name in names.items()}
        if raw["ca"] and (raw["ua"] or raw["ub"]):
            raise ApiError(400, "InvalidInput", f"{updated_after} and {updated_before} cannot be set when {created_after} is set.")
        if raw["cb"] and not raw["ca"]:
            raise ApiError(400, "InvalidInput", f"{created_before} needs {created_after}.")
        if raw["ub"] and not raw["ua"]:
            raise ApiError(400, "InvalidInput", f"{updated_before} needs {updated_after}.")
        moments = {key: parse_time(value, names[key]).astimezone(timezone.utc) for key, value in raw.items() if value}
        for low, high in (("ca", "cb"), ("ua", "ub")):
            if low in moments and high in moments and moments[high] < moments[low]:
                raise ApiError(400, "InvalidInput", f"{names[high]} must not be earlier than {names[low]}.")
        values = {key: moments[key].isoformat() if key in moments else None for key in names}
        return {
            "created_after": values["ca"],
            "created_before": values["cb"],
            "updated_after": values["ua"],
            "updated_before": values["ub"],
        }

    def _echo_before(self, before: str | None) -> str:
        """The upper date bound the answer covers: the one asked for, or the newest seeded data (the anchor)."""
        return iso_z(parse_time(before, "before") if before else self.book.anchor)

    # Orders v0 -------------------------------------------------------------------------------

    def get_orders(self, call: Call) -> Response:
        r = call.request
        token = r.param("NextToken")
        if token:
            query = self._continue(call, token, "orders.v0")
        else:
            marketplaces = r.csv_param("MarketplaceIds")
            if not marketplaces:
                raise ApiError(400, "InvalidInput", "Missing required parameter: MarketplaceIds.")
            ids = r.csv_param("AmazonOrderIds")
            query = {"kind": "orders.v0", "seller": call.seller, "marketplaces": marketplaces, "ids": ids, "offset": 0}
            query.update(self._dates(call, "CreatedAfter", "CreatedBefore", "LastUpdatedAfter", "LastUpdatedBefore"))
            if not ids and not (query["created_after"] or query["updated_after"]):
                raise ApiError(400, "InvalidInput", "Either CreatedAfter or LastUpdatedAfter must be specified.")
            statuses = r.csv_param("OrderStatuses")
            bad = [s for s in statuses or () if s not in V0_STATUSES]
            if bad:
                raise ApiError(400, "InvalidInput", f"Invalid OrderStatuses value(s): {', '.join(bad)}.")
            query["statuses"] = statuses
            query["channels"] = r.csv_param("FulfillmentChannels")
            query["page"] = _page_size(r.param("MaxResultsPerPage"), "MaxResultsPerPage", 100, 100)
        selected = _select(self.book.orders(call.seller), query)
        offset, page = query["offset"], query["page"]
        payload: dict[str, Any] = {"Orders": [order_v0(o, call.data_elements) for o in selected[offset : offset + page]]}
        if offset + page < len(selected):
            payload["NextToken"] = self.pager.encode({**query, "offset": offset + page})
        if query["updated_after"]:
            payload["LastUpdatedBefore"] = self._echo_before(query["updated_before"])
        elif query["created_after"]:
            payload["CreatedBefore"] = self._echo_before(query["created_before"])
        return Response.json(200, {"payload": payload})

    def get_order(self, call: Call) -> Response:
        order = self.book.find(call.seller, call.params["orderId"])
        return Response.json(200, {"payload": order_v0(order, call.data_elements)})

    def _item_page(self, call: Call, kind: str) -> tuple[Order, list[OrderItem], str | None]:
        order = self.book.find(call.seller, call.params["orderId"])
        token = call.request.param("NextToken")
        offset = 0
        if token:
            state = self._continue(call, token, kind)
            if state.get("order") != order.order_id:
                raise ApiError(400, "InvalidInput", "Invalid NextToken.", "The pagination token belongs to another order.")
            offset = int(state["offset"])
        items = list(order.items[offset : offset + ITEMS_PAGE_SIZE])
        following = None
        if offset + ITEMS_PAGE_SIZE < len(order.items):
            following = self.pager.encode(
                {"kind": kind, "seller": call.seller, "order": order.order_id, "offset": offset + ITEMS_PAGE_SIZE}
            )
        return order, items, following

    def get_order_items(self, call: Call) -> Response:
        order, items, following = self._item_page(call, "orders.items")
        payload: dict[str, Any] = {
            "AmazonOrderId": order.order_id,
            "OrderItems": [order_item_v0(order, i, call.data_elements) for i in items],
        }
        if following:
            payload["NextToken"] = following
        return Response.json(200, {"payload": payload})

    def get_order_items_buyer_info(self, call: Call) -> Response:
        order, items, following = self._item_page(call, "orders.items-buyer")
        entries = [{"OrderItemId": i.order_item_id, **(_item_buyer_info(i) or {})} for i in items]
        payload: dict[str, Any] = {"AmazonOrderId": order.order_id, "OrderItems": entries}
        if following:
            payload["NextToken"] = following
        return Response.json(200, {"payload": payload})

    def get_order_address(self, call: Call) -> Response:
        order = self.book.find(call.seller, call.params["orderId"])
        payload: dict[str, Any] = {"AmazonOrderId": order.order_id, "ShippingAddress": _full_address_v0(order)}
        if order.business_name:
            payload["BuyerCompanyName"] = order.business_name
        return Response.json(200, {"payload": payload})

    def get_order_buyer_info(self, call: Call) -> Response:
        order = self.book.find(call.seller, call.params["orderId"])
        return Response.json(200, {"payload": {"AmazonOrderId": order.order_id, **_buyer_info_v0(order)}})

    # Orders 2026-01-01 ------------------------------------------------------------------------

    def search_orders(self, call: Call) -> Response:
        r = call.request
        token = r.param("paginationToken")
        if token:
            query = self._continue(call, token, "orders.2026")
        else:
            query = {"kind": "orders.2026", "seller": call.seller, "offset": 0, "ids": None}
            query.update(self._dates(call, "createdAfter", "createdBefore", "lastUpdatedAfter", "lastUpdatedBefore"))
            if bool(query["created_after"]) == bool(query["updated_after"]):
                raise ApiError(400, "InvalidInput", "Exactly one of createdAfter and lastUpdatedAfter must be specified.")
            query["marketplaces"] = r.csv_param("marketplaceIds")
            query["statuses"] = r.csv_param("fulfillmentStatuses")
            query["channels"] = r.csv_param("fulfilledBy")
            query["included"] = r.csv_param("includedData") or []
            query["page"] = _page_size(r.param("maxResultsPerPage"), "maxResultsPerPage", 100, 100)
        selected = _select(self.book.orders(call.seller), query)
        offset, page = query["offset"], query["page"]
        included = frozenset(query["included"])
        body: dict[str, Any] = {"orders": [order_2026(o, included) for o in selected[offset : offset + page]]}
        if offset + page < len(selected):
            body["pagination"] = {"nextToken": self.pager.encode({**query, "offset": offset + page})}
        if query["created_after"]:
            body["createdBefore"] = self._echo_before(query["created_before"])
        else:
            body["lastUpdatedBefore"] = self._echo_before(query["updated_before"])
        return Response.json(200, body)

    def get_order_2026(self, call: Call) -> Response:
        order = self.book.find(call.seller, call.params["orderId"])
        included = frozenset(call.request.csv_param("includedData") or ())
        return Response.json(200, {"order": order_2026(order, included)})

    # Sellers ---------------------------------------------------------------------------------

    def get_marketplace_participations(self, call: Call) -> Response:
        seller = self.seller_lookup(call.seller)
        payload = []
        for marketplace_id in seller.marketplace_ids:
            m = MARKETPLACES[marketplace_id]
            payload.append(
                {
                    "marketplace": {
                        "id": m.id,
                        "countryCode": m.country_code,
                        "name": m.name,
                        "defaultCurrencyCode": m.currency,
                        "defaultLanguageCode": m.language,
                        "domainName": m.domain,
                    },
                    "participation": {"isParticipating": True, "hasSuspendedListings": False},
                    "storeName": seller.name,
                }
            )
        return Response.json(200, {"payload": payload})
