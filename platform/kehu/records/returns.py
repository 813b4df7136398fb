"""Returns by order lines: a return order's lines come from the lines of its sales order, and
no line is returned beyond what was delivered.

Each return line names a product (the form copies the order's lines when the return is
opened from the order). On save, the record service matches it to a line of the order with
that product, preferring one with the same price and discount and room left, and stores the
match in ``order_line`` (a read-only field: it is never typed). Then, per order line:

    returnable = delivered quantity - quantity on the other returns of the order that are
                 not rejected, cancelled or deleted

where the delivered quantity is the line's quantity once the order is delivered (or
invoiced, paid, completed) and nothing before. A line over it is refused with its limit.
The order's row is locked for the check (PostgreSQL), so two returns saved at once cannot
both take the last units; SQLite serialises writers anyway.

This is the base pack's sales chain; a site without these entities or fields is left alone.
"""

from __future__ import annotations

from decimal import Decimal

import sqlalchemy as sa

from kehu.errors import RecordInvalid

DELIVERED = ("delivered", "invoiced", "paid", "completed")
NOT_COUNTED = ("rejected", "cancelled")
RETURN, RETURN_LINE, ORDER, ORDER_LINE = "return_order", "return_order_line", "sales_order", "sales_order_line"


def applies(meta) -> bool:
    needed = {RETURN: ("sales_order", "lines", "status"), RETURN_LINE: ("order_line", "product", "quantity"),
              ORDER: ("status", "lines"), ORDER_LINE: ("product", "quantity", "unit_price")}
    return all(name in meta.entities and all(meta.entity(name).has_field(f) for f in fields)
               for name, fields in needed.items())


def before_save(service, entity, values: dict, existing: dict | None, conn) -> None:
    if entity.name != RETURN or not applies(service.meta):
        return
    order_id = values.get("sales_order")
    lines = values.get("lines") or []
    if not isinstance(order_id, int) or conn is None:
        return
    tables = service.tables
    order_t, line_t = tables[ORDER], tables[ORDER_LINE]
    stmt = sa.select(order_t.c.id, order_t.c.status, order_t.c.customer, order_t.c.code).where(
        order_t.c.id == order_id, order_t.c.deleted_at.is_(None))
    if conn.get_execution_options().get("kehu_write"):
        stmt = stmt.with_for_update()  # one return at a time takes from an order's lines
    order = conn.execute(stmt).mappings().first()
    if order is None:
        return  # the lookup check reports a missing or unreadable order
    if values.get("customer") is None and "customer" in values and order["customer"] is not None:
        values["customer"] = order["customer"]
    order_lines = [dict(r) for r in conn.execute(
        sa.select(line_t).where(line_t.c.sales_order == order_id, line_t.c.deleted_at.is_(None)).order_by(line_t.c.id)
    ).mappings()]
    delivered = order["status"] in DELIVERED
    left = {ol["id"]: (ol["quantity"] or Decimal(0)) if delivered else Decimal(0) for ol in order_lines}
    taken = _returned_elsewhere(service, conn, [ol["id"] for ol in order_lines], (existing or {}).get("id"))
    room = {ol_id: left[ol_id] - taken.get(ol_id, Decimal(0)) for ol_id in left}

    errors: dict[str, list[str]] = {}
    by_id = {ol["id"]: ol for ol in order_lines}
    wanted: dict[int, Decimal] = {}
    placed: list[tuple[int, int]] = []  # (line index, order line id)
    for i, line in enumerate(lines):
        product = line.get("product")
        if product is None:
            continue
        current = by_id.get(line.get("order_line"))
        match = current if current is not None and current["product"] == product else _match(order_lines, line, room, wanted)
        if match is None:
            errors.setdefault(f"lines.{i}.product", []).append(service.t(
                f"This product is not on order {order['code'] or order_id}.",
                f"订单 {order['code'] or order_id} 中没有此产品。"))
            continue
        line["order_line"] = match["id"]
        wanted[match["id"]] = wanted.get(match["id"], Decimal(0)) + (line.get("quantity") or Decimal(0))
        placed.append((i, match["id"]))
    if values.get("status") not in NOT_COUNTED:
        if lines and not delivered:
            errors.setdefault("sales_order", []).append(service.t(
                f"Order {order['code'] or order_id} has not been delivered yet; nothing can be returned.",
                f"订单 {order['code'] or order_id} 尚未签收，不能退货。"))
        elif delivered:
            for i, ol_id in placed:
                if wanted[ol_id] > room[ol_id]:
                    errors.setdefault(f"lines.{i}.quantity", []).append(service.t(
                        f"At most {_qty(room[ol_id])} can be returned: {_qty(left[ol_id])} delivered, "
                        f"{_qty(taken.get(ol_id, 0))} on other returns.",
                        f"最多可退 {_qty(room[ol_id])}：已签收 {_qty(left[ol_id])}，其他退货单已退 {_qty(taken.get(ol_id, 0))}。"))
    if errors:
        service._formulas(entity, values)  # the form shown again still adds its lines up
        raise RecordInvalid(errors)


def propose(service, entity, record: dict) -> None:
    """A new return opened from its order (its lines copied from the order's, in order) takes
    what is left to return of each line: the delivered quantity minus what other returns
    already take; lines with nothing left are left out. A return of an order not delivered
    yet keeps the copied lines (the save then says why nothing can be returned)."""
    if entity.name != RETURN or not applies(service.meta) or not record.get("lines"):
        return
    order_id = record.get("sales_order")
    if not isinstance(order_id, int):
        return
    tables = service.tables
    order_t, line_t = tables[ORDER], tables[ORDER_LINE]
    with service.site.reading() as conn:
        status = conn.execute(sa.select(order_t.c.status).where(order_t.c.id == order_id)).scalar()
        if status not in DELIVERED:
            return
        order_lines = conn.execute(sa.select(line_t.c.id, line_t.c.product, line_t.c.quantity).where(
            line_t.c.sales_order == order_id, line_t.c.deleted_at.is_(None)).order_by(line_t.c.id)).all()
        taken = _returned_elsewhere(service, conn, [ol.id for ol in order_lines], None)
    if len(order_lines) != len(record["lines"]):
        return  # not the order's own lines (a field the user may not read left some out)
    proposed = []
    for line, ol in zip(record["lines"], order_lines):
        left = (ol.quantity or Decimal(0)) - taken.get(ol.id, Decimal(0))
        if line.get("product") == ol.product and left > 0:
            proposed.append(dict(line, quantity=left))
    record["lines"] = proposed


def _returned_elsewhere(service, conn, order_line_ids: list[int], except_return: int | None) -> dict[int, Decimal]:
    if not order_line_ids:
        return {}
    ret_t, rl_t = service.tables[RETURN], service.tables[RETURN_LINE]
    stmt = (sa.select(rl_t.c.order_line, sa.func.sum(rl_t.c.quantity))
            .select_from(rl_t.join(ret_t, ret_t.c.id == rl_t.c.return_order))
            .where(rl_t.c.order_line.in_(order_line_ids), rl_t.c.deleted_at.is_(None), ret_t.c.deleted_at.is_(None),
                   sa.or_(ret_t.c.status.is_(None), ret_t.c.status.not_in(NOT_COUNTED)))
            .group_by(rl_t.c.order_line))
    if except_return is not None:
        stmt = stmt.where(ret_t.c.id != except_return)
    return {ol_id: Decimal(str(total or 0)) for ol_id, total in conn.execute(stmt)}


def _match(order_lines: list[dict], line: dict, room: dict, wanted: dict) -> dict | None:
    """The order line a return line of that product returns: the same price and discount
    first, then one with room left, then any."""
    same = [ol for ol in order_lines if ol["product"] == line.get("product")]
    if not same:
        return None

    def has_room(ol) -> bool:
        return room[ol["id"]] - wanted.get(ol["id"], Decimal(0)) >= (line.get("quantity") or Decimal(0))

    def priced(ol) -> bool:
        return (line.get("unit_price") is None or ol.get("unit_price") == line.get("unit_price")) and (
            (ol.get("discount_percent") or 0) == (line.get("discount_percent") or 0))

    for test in (lambda ol: priced(ol) and has_room(ol), has_room, priced):
        found = next((ol for ol in same if test(ol)), None)
        if found is not None:
            return found
    return same[0]


def _qty(value) -> str:
    value = Decimal(str(value or 0))
    return f"{value.normalize():f}" if value == value.to_integral() else f"{value:f}".rstrip("0").rstrip(".")
