"""Builds real histories (through harness.history.History) for checker tests."""

from __future__ import annotations

from harness.history import History, OpType


class Builder:
    def __init__(self, stock: int = 3, per_user_limit: int = 1, campaign: str = "c1") -> None:
        self.h = History()
        self.cid = campaign
        self.stock = stock
        create = self.h.invoke(
            "c0",
            "create",
            {"campaign_id": campaign, "stock": stock, "per_user_limit": per_user_limit},
        )
        self.h.complete(create, OpType.OK)
        self.per_user_limit = per_user_limit

    def invoke(self, user: str, key: str, f: str = "claim", process: str = "c0"):
        return self.h.invoke(
            process, f, {"campaign_id": self.cid, "user_id": user, "idempotency_key": key}
        )

    def complete(self, invoke, type: str, code: str | None = None, reason: str | None = None):
        value = {"coupon_code": code} if code else {}
        default = {"ok": "granted", "fail": "sold_out", "info": "timeout"}[type]
        return self.h.complete(invoke, OpType(type), value, {"reason": reason or default})

    def claim(self, user, key, type="ok", code=None, reason=None, f="claim"):
        return self.complete(self.invoke(user, key, f), type, code, reason)

    def drain_until_sold_out(self, granted: list[str]):
        for i, code in enumerate(granted):
            self.claim(f"drain-u{i}", f"drain-k{i}", "ok", code, f="drain")
        n = len(granted)
        self.claim(f"drain-u{n}", f"drain-k{n}", "fail", reason="sold_out", f="drain")

    def read(self, coupons, issued=None, remaining=None):
        issued = len(coupons) if issued is None else issued
        remaining = self.stock - issued if remaining is None else remaining
        invoke = self.h.invoke("c0", "read", {"campaign_id": self.cid})
        self.h.complete(
            invoke,
            OpType.OK,
            {
                "campaign": {
                    "campaign_id": self.cid,
                    "stock": self.stock,
                    "per_user_limit": self.per_user_limit,
                    "issued": issued,
                    "remaining": remaining,
                },
                "coupons": [
                    {"coupon_code": c, "user_id": u, "idempotency_key": k} for c, u, k in coupons
                ],
            },
        )
        return self.h
