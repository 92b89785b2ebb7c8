"""Telling a running gateway that its keypads changed.

The gateway holds the hall's keypads (public keys, seats, revocations) in
memory and rebuilds them from the database when a device route of its API
is called.  After provisioning or a swap has committed, the CLI calls the
idempotent ``PUT /api/v1/devices/{id}/seat`` with the binding just written
(``seat_id`` null for a spare): the route re-binds nothing new and runs
``Gateway.reload()``, so the new keypad is accepted and the revoked one
refused at once.  That needs a technician's bearer token (``--token`` or
``HALLVOTE_TOKEN``).

Before anything changes, :meth:`GatewayApi.probe` checks whether the
gateway answers (``GET /api/v1/health``, no token needed).  If it runs and
no token was given, the CLI refuses up front rather than leave a running
hall with keypads it does not know.  If it does not run, nothing is
needed: the gateway loads the keypads from the database when it starts.
"""

from __future__ import annotations

import hashlib
import json
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Any

from gateway.config.settings import GatewaySettings

from .errors import Forbidden, GatewayError

__all__ = ["GatewayApi", "base_url"]

_TIMEOUT = 5.0


def base_url(settings: GatewaySettings) -> str:
    host = settings.api.host
    if host in ("0.0.0.0", "::", ""):
        host = "127.0.0.1"
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{settings.api.port}"


@dataclass
class GatewayApi:
    url: str
    hall_id: str
    token: str | None = None
    running: bool | None = None  # None until probed

    def _request(self, method: str, path: str, body: Any = None, *, auth: bool = True) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.url.rstrip("/") + path, data=data, method=method)
        req.add_header("Accept", "application/json")
        if data is not None:
            req.add_header("Content-Type", "application/json")
        if auth and self.token:
            req.add_header("Authorization", f"Bearer {self.token}")
        with urllib.request.urlopen(req, timeout=_TIMEOUT) as resp:
            return json.loads(resp.read() or b"null")

    def probe(self) -> bool:
        """Is this hall's gateway answering?  Refuses (GatewayError) if it is and there is no token."""
        try:
            try:
                health = self._request("GET", "/api/v1/health", auth=False)
            except urllib.error.HTTPError as exc:
                if exc.code != 503:
                    raise
                health = json.loads(exc.read() or b"null")  # running, with a dependency down
        except (urllib.error.URLError, OSError, ValueError):
            self.running = False
            return False
        if not isinstance(health, dict) or health.get("hall") != self.hall_id:
            raise GatewayError(
                f"{self.url} 上运行的不是会场 {self.hall_id} 的网关",
                f"the gateway at {self.url} is not hall {self.hall_id}'s (it says {health!r})",
            )
        self.running = True
        if not self.token:
            raise GatewayError(
                "网关正在运行：请用 --token 或 HALLVOTE_TOKEN 提供技术人员令牌，以便网关立即加载表决器变更",
                "the gateway is running: give a technician token (--token or HALLVOTE_TOKEN) so it picks "
                "the keypad change up at once",
            )
        return True

    def authorize(self, settings: GatewaySettings, role: str = "technician") -> None:
        """Check the token's role before anything changes (Forbidden otherwise).

        A running gateway says who the token is (``GET /api/v1/me``); without
        one, hall.toml's users do.  Without a token there is nothing to check:
        a running gateway is refused by :meth:`probe`, and a stopped one
        leaves the database (whose access is the authority) to the technician.
        """
        if not self.token:
            return
        if self.running is None:
            self.probe()
        found: str | None
        if self.running:
            try:
                me = self._request("GET", "/api/v1/me")
            except urllib.error.HTTPError:
                raise Forbidden(None) from None
            found = me.get("role") if isinstance(me, dict) else None
        else:
            digest = hashlib.sha256(self.token.encode()).hexdigest()
            found = next((u.role for u in settings.users if u.token_sha256 == digest), None)
        if found != role:
            raise Forbidden(found)

    def swap(self, seat: str, to: str, reason: str) -> dict[str, Any]:
        """``POST /api/v1/halls/{hall}/seats/{seat}/swap`` on the running gateway; its answer."""
        try:
            answer = self._request(
                "POST", f"/api/v1/halls/{self.hall_id}/seats/{urllib.parse.quote(seat)}/swap", {"to": to, "reason": reason}
            )
        except urllib.error.HTTPError as exc:
            body = exc.read().decode("utf-8", "replace")[:500]
            try:
                detail = json.loads(body)
            except ValueError:
                detail = {}
            err = GatewayError(
                f"网关拒绝更换（HTTP {exc.code}）：{detail.get('message', body)}",
                f"the gateway refused the swap (HTTP {exc.code}): {detail.get('message', body)}",
            )
            err.code = str(detail.get("code") or err.code)
            if exc.code in (404, 409):  # the swap itself was refused (seat, keypads): as without a gateway
                err.exit_code = 5
            elif exc.code == 403:
                err.code = "FORBIDDEN"
            raise err from None
        except (urllib.error.URLError, OSError) as exc:
            raise GatewayError("无法连接网关，未更换", f"cannot reach the gateway ({exc}); nothing was swapped") from None
        if not isinstance(answer, dict):
            raise GatewayError("网关答复有误", f"unexpected answer from the gateway: {answer!r}")
        return answer

    def reload(self, device_id: str, seat_id: int | None) -> str:
        """Make a running gateway reload its keypads; a line saying what happened."""
        if self.running is None:
            self.probe()
        if not self.running:
            return "网关未运行，启动时加载 / gateway not running: it loads the keypads when it starts"
        try:
            self._request("PUT", f"/api/v1/devices/{device_id}/seat", {"seat_id": seat_id})
        except urllib.error.HTTPError as exc:
            detail = exc.read().decode("utf-8", "replace")[:300]
            raise GatewayError(
                f"网关拒绝重新加载（HTTP {exc.code}）；变更已写入数据库，请重试或重启网关",
                f"the gateway refused to reload (HTTP {exc.code}: {detail}); the change is in the database: "
                "retry, or restart the gateway",
            ) from None
        except (urllib.error.URLError, OSError) as exc:
            raise GatewayError(
                "无法连接网关；变更已写入数据库，请重启网关",
                f"cannot reach the gateway ({exc}); the change is in the database: restart the gateway",
            ) from None
        return "网关已重新加载 / the running gateway reloaded its keypads"
