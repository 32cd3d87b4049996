"""``python -m refurb_client take --order LIC-2026-0001 --quantity 100 --out tokens.csv``

The key comes from ``REFURB_API_KEY`` (or ``--key``), the portal from ``REFURB_PORTAL_URL``
(or ``--url``). Exit status 0 when the file is downloaded and its SHA-256 verified, 1 otherwise.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import httpx

from refurb_client.client import ClientError, RefurbClient


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m refurb_client")
    parser.add_argument("--url", default=os.environ.get("REFURB_PORTAL_URL", ""))
    parser.add_argument("--key", default=os.environ.get("REFURB_API_KEY", ""))
    parser.add_argument("--language", default="en")
    commands = parser.add_subparsers(dest="command", required=True)
    take = commands.add_parser("take", help="take, wait, download and verify a new delivery")
    take.add_argument("--order", required=True)
    take.add_argument("--quantity", type=int, required=True)
    take.add_argument("--product", default=None, help="a product ID (default: the first)")
    take.add_argument("--out", type=Path, required=True)
    take.add_argument("--idempotency-key", default=None, help="repeat a take safely")
    take.add_argument("--timeout", type=float, default=600, help="seconds to wait for the file")
    args = parser.parse_args(argv)
    if not args.url or not args.key:
        parser.error("give --url and --key (or REFURB_PORTAL_URL and REFURB_API_KEY)")
    client = RefurbClient(args.url, args.key, language=args.language)
    try:
        client.take_and_download(
            order=args.order,
            quantity=args.quantity,
            out=args.out,
            product_id=args.product,
            idempotency_key=args.idempotency_key,
            timeout=args.timeout,
        )
    except (ClientError, httpx.HTTPError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
