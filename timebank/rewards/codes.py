"""Pickup codes: six digits a resident reads out at the counter, and a signed QR payload staff can scan.

Both derive from the order id under a key of the mall's own (``keys.derive("timebank/pickup/v1")``). The six digits
are never stored; the order keeps a keyed digest of them, unique among its station's open orders, so the counter
finds the order by the code and a database reader learns nothing from the digest.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import uuid

from timebank.errors import InvalidInput

__all__ = ["PICKUP_KEY_PURPOSE", "PickupCodes"]

PICKUP_KEY_PURPOSE = "timebank/pickup/v1"
_QR_PREFIX = "TBP1"
_SIGNATURE_BYTES = 16


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class PickupCodes:
    """Derives, digests and checks pickup codes under one key."""

    def __init__(self, key: bytes) -> None:
        self._key = key

    def _mac(self, *parts: bytes) -> bytes:
        return hmac.new(self._key, b"|".join(parts), hashlib.sha256).digest()

    def code(self, order_id: uuid.UUID, attempt: int) -> str:
        """The six digits of an order; another ``attempt`` gives another code when the first clashed."""
        mac = self._mac(b"code", order_id.bytes, str(attempt).encode())
        return f"{int.from_bytes(mac[:8], 'big') % 1_000_000:06d}"

    def digest(self, station_id: uuid.UUID, code: str) -> bytes:
        """What the order stores and the counter looks up: equal codes at one station have equal digests."""
        return self._mac(b"digest", station_id.bytes, code.encode())

    def qr_payload(self, order_id: uuid.UUID, attempt: int) -> str:
        """``TBP1.<order id>.<attempt>.<signature>``: only the service can make one, and it names its order."""
        body = f"{_QR_PREFIX}.{_b64(order_id.bytes)}.{attempt}"
        return f"{body}.{_b64(self._mac(b'qr', body.encode())[:_SIGNATURE_BYTES])}"

    def read_qr(self, payload: str) -> tuple[uuid.UUID, int]:
        """The order id and code attempt a payload names.

        Raises:
            InvalidInput: the payload is malformed or its signature does not match (a forged or foreign code).
        """
        parts = payload.split(".")
        if (
            len(parts) != 4
            or parts[0] != _QR_PREFIX
            or not (parts[2].isascii() and parts[2].isdigit() and len(parts[2]) <= 5)
        ):
            raise InvalidInput("not a pickup QR code", field="qr")
        body = ".".join(parts[:3])
        try:
            signature = _unb64(parts[3])
            order_id = uuid.UUID(bytes=_unb64(parts[1]))
        except (binascii.Error, ValueError):
            raise InvalidInput("not a pickup QR code", field="qr") from None
        expected = self._mac(b"qr", body.encode())[:_SIGNATURE_BYTES]
        if not hmac.compare_digest(signature, expected):
            raise InvalidInput("the QR code's signature does not match", field="qr")
        return order_id, int(parts[2])

    def matches(self, order_id: uuid.UUID, attempt: int, code: str) -> bool:
        return hmac.compare_digest(self.code(order_id, attempt).encode(), code.encode())
