"""The invariants that the services keep and the database backs, checked from the rows
themselves (``python manage.py check_invariants``; the tests run it after their steps).

Each check is one aggregate query over the whole table; a violation is a line naming the rows.
"""

from __future__ import annotations

from django.db import connection

# (what is wrong, SQL returning one text line per violating row)
CHECKS: list[tuple[str, str]] = [
    (
        "delivered counter differs from its original deliveries",
        """
        SELECT o.number || ': quantity_delivered ' || o.quantity_delivered
               || ', deliveries add up to '
               || COALESCE(SUM(d.quantity) FILTER (WHERE d.reversed_at IS NULL), 0)
        FROM orders_purchaseorder o LEFT JOIN orders_originaldelivery d ON d.order_id = o.id
        GROUP BY o.id
        HAVING o.quantity_delivered
               <> COALESCE(SUM(d.quantity) FILTER (WHERE d.reversed_at IS NULL), 0)
        """,
    ),
    (
        "new tokens counter differs from its new deliveries",
        """
        SELECT o.number || ': new_tokens_delivered ' || o.new_tokens_delivered
               || ', new deliveries add up to '
               || COALESCE(SUM(n.quantity) FILTER (WHERE n.voided_at IS NULL), 0)
        FROM orders_purchaseorder o LEFT JOIN deliveries_newdelivery n ON n.order_id = o.id
        GROUP BY o.id
        HAVING o.new_tokens_delivered
               <> COALESCE(SUM(n.quantity) FILTER (WHERE n.voided_at IS NULL), 0)
        """,
    ),
    (
        "not new <= delivered <= ordered",
        """
        SELECT number || ': new ' || new_tokens_delivered || ', delivered ' || quantity_delivered
               || ', ordered ' || quantity_ordered
        FROM orders_purchaseorder
        WHERE NOT (0 <= new_tokens_delivered AND new_tokens_delivered <= quantity_delivered
                   AND quantity_delivered <= quantity_ordered)
        """,
    ),
    (
        "order holds a product of another manufacturer",
        """
        SELECT o.number || ': product ' || p.product_id
        FROM orders_purchaseorder_products link
        JOIN orders_purchaseorder o ON o.id = link.purchaseorder_id
        JOIN orders_product p ON p.id = link.product_id
        WHERE p.manufacturer_id <> o.manufacturer_id
        """,
    ),
    (
        "new delivery (and its file) of a product of another manufacturer",
        """
        SELECT o.number || '-N' || lpad(n.sequence::text, 3, '0') || ': product ' || p.product_id
        FROM deliveries_newdelivery n
        JOIN orders_purchaseorder o ON o.id = n.order_id
        JOIN orders_product p ON p.id = n.product_id
        WHERE p.manufacturer_id <> o.manufacturer_id
        """,
    ),
    (
        "tokens of another product or manufacturer than their delivery's",
        """
        SELECT o.number || '-N' || lpad(n.sequence::text, 3, '0') || ': ' || COUNT(*) || ' tokens'
        FROM tokens_token t
        JOIN deliveries_newdelivery n ON n.id = t.delivery_id
        JOIN orders_purchaseorder o ON o.id = n.order_id
        JOIN orders_product p ON p.id = t.product_id
        WHERE t.product_id <> n.product_id OR p.manufacturer_id <> o.manufacturer_id
        GROUP BY o.number, n.sequence
        """,
    ),
    (
        "token file downloaded by a user of another manufacturer",
        """
        SELECT o.number || '-N' || lpad(n.sequence::text, 3, '0') || ': by ' || u.username
        FROM tokens_tokendownload dl
        JOIN tokens_tokenfile f ON f.id = dl.token_file_id
        JOIN deliveries_newdelivery n ON n.id = f.delivery_id
        JOIN orders_purchaseorder o ON o.id = n.order_id
        JOIN accounts_user u ON u.id = dl.user_id
        WHERE u.manufacturer_id IS NOT NULL AND u.manufacturer_id <> o.manufacturer_id
        """,
    ),
    (
        "revoked token in a downloadable file, or a voided delivery's file downloadable",
        """
        SELECT o.number || '-N' || lpad(n.sequence::text, 3, '0') || ': file ' || f.status
               || ', ' || COUNT(t.id) FILTER (WHERE t.status = 'revoked') || ' revoked, '
               || COUNT(t.id) FILTER (WHERE t.status = 'issued') || ' issued tokens'
        FROM tokens_tokenfile f
        JOIN deliveries_newdelivery n ON n.id = f.delivery_id
        JOIN orders_purchaseorder o ON o.id = n.order_id
        LEFT JOIN tokens_token t ON t.delivery_id = n.id
        GROUP BY o.number, n.sequence, n.voided_at, f.status
        HAVING (f.status = 'ready' AND (n.voided_at IS NOT NULL
                                        OR COUNT(t.id) FILTER (WHERE t.status = 'revoked') > 0))
            OR (n.voided_at IS NOT NULL AND (f.status <> 'voided'
                                           OR COUNT(t.id) FILTER (WHERE t.status = 'issued') > 0))
        """,
    ),
    (
        "token whose status and retired_at disagree",
        """
        SELECT uuid || ': ' || status || ', retired_at '
               || COALESCE(retired_at::text, 'empty')
        FROM tokens_token
        WHERE (status = 'issued') <> (retired_at IS NULL)
        """,
    ),
    (
        "token of another order than its delivery's",
        """
        SELECT t.uuid || ': order ' || t.order_id || ', delivery of order '
               || COALESCE(n.order_id, d.order_id)
        FROM tokens_token t
        LEFT JOIN deliveries_newdelivery n ON n.id = t.delivery_id
        LEFT JOIN orders_originaldelivery d ON d.id = t.original_delivery_id
        WHERE t.order_id <> COALESCE(n.order_id, d.order_id)
        """,
    ),
    (
        "replaced token without exactly one replacement, or replaced while not marked so",
        """
        SELECT t.uuid || ': ' || t.status || ', replaced by '
               || (SELECT COUNT(*) FROM tokens_token n WHERE n.replaces_id = t.id)
               || ', listed by ' || (SELECT COUNT(*) FROM tokens_tokenreplacement r
                                     WHERE r.old_token_id = t.id)
        FROM tokens_token t
        WHERE (t.status = 'replaced') <> EXISTS (
                  SELECT 1 FROM tokens_tokenreplacement r WHERE r.old_token_id = t.id)
           OR (SELECT COUNT(*) FROM tokens_token n WHERE n.replaces_id = t.id) > 1
           OR (t.status <> 'replaced'
               AND EXISTS (SELECT 1 FROM tokens_token n WHERE n.replaces_id = t.id))
        """,
    ),
    (
        "new token paired with another old token than its delivery's list says",
        """
        SELECT n.uuid || ': serial ' || n.serial
        FROM tokens_token n
        JOIN tokens_tokenfile f ON f.delivery_id = n.delivery_id AND f.targeted
        LEFT JOIN tokens_tokenreplacement r
               ON r.delivery_id = n.delivery_id AND r.serial = n.serial
        WHERE n.status <> 'revoked' AND n.replaces_id IS DISTINCT FROM r.old_token_id
        """,
    ),
]


def invariant_violations() -> list[str]:
    """Every violation found, one line each (``"<what>: <rows>"``); empty when all hold."""
    lines: list[str] = []
    with connection.cursor() as cursor:
        for what, sql in CHECKS:
            cursor.execute(sql)
            lines.extend(f"{what}: {row[0]}" for row in cursor.fetchall())
    return lines
