"""The chat application's side of the presence service, standard library only.

    from presence_client import PresenceClient, mint_token, verify_webhook

    token = mint_token(settings.PRESENCE_AUTH_SECRET, user.id)       # hand it to the browser
    presence = PresenceClient("http://presence:8080", service_key=settings.PRESENCE_SERVICE_KEY)
    presence.follow(alice.id, bob.id)                                 # mirror the graph as it changes
    presence.bulk_follows(Follow.objects.values_list("follower_id", "followee_id").iterator())
    verify_webhook(settings.PRESENCE_WEBHOOK_SECRET, request.body,
                   request.headers.get("X-Presence-Timestamp"), request.headers.get("X-Presence-Signature"))

Copy this file into the application; it has no dependencies.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import urllib.error
import urllib.request
from typing import Iterable, Iterator, Optional, Tuple, Union

__all__ = ["PresenceClient", "PresenceError", "mint_token", "verify_webhook", "WEBHOOK_TOLERANCE_S"]

Secret = Union[str, bytes]

#: A webhook whose timestamp is further than this from now is refused, so a captured request cannot be replayed
#: later. Both directions count: a timestamp from the future is as suspect as an old one.
WEBHOOK_TOLERANCE_S = 300

#: The bulk body goes out in pieces of about this size: one per line would cost a chunk header per follow.
_BULK_CHUNK_BYTES = 64 * 1024


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _key(secret: Secret) -> bytes:
    return secret.encode("utf-8") if isinstance(secret, str) else secret


def mint_token(
    secret: Secret,
    user_id: int,
    ttl_seconds: int = 3600,
    now: Optional[float] = None,
    issuer: Optional[str] = None,
    audience: Optional[str] = None,
) -> str:
    """A user token the presence service accepts: an HS256 JWT with ``sub`` = the user id in decimal.

    ``secret`` is the service's AUTH_SECRET (when it lists several, comma-separated, the first one: any of
    them verifies, so the others can be retired once their tokens have expired). The token expires
    ``ttl_seconds`` from now; a page that stays open should fetch a fresh one before that. ``issuer`` and
    ``audience`` are needed when the service checks them (AUTH_ISSUER, AUTH_AUDIENCE).

    >>> mint_token("a-secret-of-16-chars-or-more", 42, now=1764278000)[:36]
    'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9'
    """
    if isinstance(user_id, bool) or not isinstance(user_id, int) or user_id < 1:
        raise ValueError("user_id must be a positive integer")
    issued = int(time.time() if now is None else now)
    header = {"alg": "HS256", "typ": "JWT"}
    payload = {"sub": str(user_id), "iat": issued, "exp": issued + int(ttl_seconds)}
    if issuer is not None:
        payload["iss"] = issuer
    if audience is not None:
        payload["aud"] = audience
    signing_input = ".".join(
        _b64url(json.dumps(part, separators=(",", ":")).encode("utf-8")) for part in (header, payload)
    )
    signature = hmac.new(_key(secret), signing_input.encode("ascii"), hashlib.sha256).digest()
    return f"{signing_input}.{_b64url(signature)}"


def verify_webhook(
    secret: Secret,
    body: bytes,
    timestamp: Optional[str],
    signature: Optional[str],
    now: Optional[float] = None,
) -> bool:
    """True when a webhook request is genuine and fresh.

    ``body`` is the raw request body exactly as received (bytes, before any JSON parsing), ``timestamp`` the
    ``X-Presence-Timestamp`` header (unix seconds) and ``signature`` the ``X-Presence-Signature`` header
    (``sha256=`` and the hex HMAC-SHA256 of ``"<timestamp>.<body>"`` with WEBHOOK_SECRET).
    """
    if not timestamp or not timestamp.isdigit() or not signature or not signature.startswith("sha256="):
        return False
    current = time.time() if now is None else now
    if abs(current - int(timestamp)) > WEBHOOK_TOLERANCE_S:
        return False
    expected = hmac.new(_key(secret), timestamp.encode("ascii") + b"." + body, hashlib.sha256).hexdigest()
    # compare_digest takes as long whatever the first differing character: the answer's timing says nothing
    # about how much of a forged signature was right.
    return hmac.compare_digest(expected.encode("ascii"), signature[len("sha256=") :].encode("ascii", "replace"))


class PresenceError(Exception):
    """An error answer of the service: ``status`` (HTTP), ``code`` and ``message`` from its error body."""

    def __init__(self, status: int, code: str, message: str):
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message


class PresenceClient:
    """Calls the presence service: graph endpoints with the service key, user endpoints as a given user.

    ``service_key`` is the service's SERVICE_KEY (graph calls); ``auth_secret`` its AUTH_SECRET (only needed
    for the user endpoints, which this client calls with a token it mints for that user, with ``issuer``
    and ``audience`` when the service checks them).
    """

    def __init__(
        self,
        base_url: str,
        service_key: Optional[str] = None,
        auth_secret: Optional[Secret] = None,
        timeout: float = 30.0,
        issuer: Optional[str] = None,
        audience: Optional[str] = None,
    ):
        self.base_url = base_url.rstrip("/")
        self.service_key = service_key
        self.auth_secret = auth_secret
        self.timeout = timeout
        self.issuer = issuer
        self.audience = audience

    # ---- graph (service key) -----------------------------------------------------------------------------

    def put_user(self, user_id: int, username: Optional[str] = None) -> None:
        """Creates the user, or sets its username (None keeps the one it has)."""
        body = None if username is None else {"username": username}
        self._graph("PUT", f"/api/graph/users/{_id(user_id)}", body)

    def follow(self, follower_id: int, followee_id: int) -> None:
        self._graph("PUT", f"/api/graph/follows/{_id(follower_id)}/{_id(followee_id)}")

    def unfollow(self, follower_id: int, followee_id: int) -> None:
        self._graph("DELETE", f"/api/graph/follows/{_id(follower_id)}/{_id(followee_id)}")

    def block(self, blocker_id: int, blocked_id: int) -> None:
        """While a block stands in either direction, neither user sees the other, whatever follows and
        conversations say; both are told at once that the other went offline. Blocking oneself raises
        PresenceError (400)."""
        self._graph("PUT", f"/api/graph/blocks/{_id(blocker_id)}/{_id(blocked_id)}")

    def unblock(self, blocker_id: int, blocked_id: int) -> None:
        """Lifts the block; follows and conversations decide again (a block the other way still stands)."""
        self._graph("DELETE", f"/api/graph/blocks/{_id(blocker_id)}/{_id(blocked_id)}")

    def set_conversation(self, conversation_id: int, participant_ids: Iterable[int]) -> None:
        """Replaces the conversation's participants (creating it and any missing user)."""
        ids = [_id(p) for p in participant_ids]
        self._graph("PUT", f"/api/graph/conversations/{_id(conversation_id)}", {"participant_ids": ids})

    def delete_conversation(self, conversation_id: int) -> None:
        self._graph("DELETE", f"/api/graph/conversations/{_id(conversation_id)}")

    def bulk_follows(self, pairs: Iterable[Tuple[int, int]]) -> dict:
        """Sends every (follower_id, followee_id) pair in one streamed NDJSON request.

        Returns ``{"inserted": n, "lines": n}``. One request is all or nothing: a bad pair raises
        PresenceError (400, naming the line) and nothing of the request is applied. At most 1,000,000 pairs
        per call; split a larger graph into several calls (follows that exist already are kept, so a call
        can be repeated safely).
        """
        return self._request(
            "POST",
            "/api/graph/follows/bulk",
            body=_ndjson_chunks(pairs),
            content_type="application/x-ndjson",
            token=self._require(self.service_key, "service_key"),
        )

    # ---- user endpoints (a token for that user) ----------------------------------------------------------

    def heartbeat(
        self,
        user_id: int,
        status: Optional[str] = None,
        device: Optional[str] = None,
        client: Optional[str] = None,
    ) -> dict:
        """An HTTP heartbeat as the user: its presence, or PresenceError 429 when unchanged and too soon.

        ``device`` names the device it speaks for (1 to 64 of ``[A-Za-z0-9_-]``; absent: ``default``) and
        ``client`` its kind (``web``, ``mobile``, ``desktop``): each device has its own status, and the user is
        as available as the most available one.
        """
        fields = {"status": status, "device": device, "client": client}
        body = json.dumps({k: v for k, v in fields.items() if v is not None}).encode("utf-8")
        return self._request("POST", "/api/presence/heartbeat/", body=body, token=self._user_token(user_id))

    def status(self, viewer_id: int, user_id: int) -> Optional[dict]:
        """``user_id``'s presence as ``viewer_id`` sees it: None when the viewer may not see it.

        A user may always see itself, so ``status(u, u)`` reads anyone's last_seen from the application. The
        dict holds ``user_id``, ``status``, ``last_seen``, ``v``, ``clients`` and ``custom``: the custom status,
        ``{"text", "emoji", "expires_at"}`` (``text`` or ``emoji`` None when not set) or None.
        """
        try:
            return self._request(
                "GET", f"/api/presence/status/{_id(user_id)}/", token=self._user_token(viewer_id)
            )
        except PresenceError as error:
            if error.status == 404:
                return None
            raise

    # ---- plumbing ----------------------------------------------------------------------------------------

    def _user_token(self, user_id: int) -> str:
        secret = self._require(self.auth_secret, "auth_secret")
        return mint_token(secret, user_id, ttl_seconds=300, issuer=self.issuer, audience=self.audience)

    @staticmethod
    def _require(value, name: str):
        if value is None:
            raise ValueError(f"PresenceClient needs {name} for this call")
        return value

    def _graph(self, method: str, path: str, body: Optional[dict] = None) -> None:
        data = None if body is None else json.dumps(body).encode("utf-8")
        self._request(method, path, body=data, token=self._require(self.service_key, "service_key"))

    def _request(
        self,
        method: str,
        path: str,
        body=None,
        token: Optional[str] = None,
        content_type: str = "application/json",
    ):
        headers = {"Accept": "application/json"}
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        if body is not None:
            headers["Content-Type"] = content_type
        # With an iterator body and no Content-Length, urllib sends it with chunked transfer encoding.
        request = urllib.request.Request(self.base_url + path, data=body, headers=headers, method=method)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                text = response.read()
        except urllib.error.HTTPError as error:
            raise _error_of(error) from None
        return json.loads(text) if text else None


def _id(value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"ids are positive integers, got {value!r}")
    return value


def _ndjson_chunks(pairs: Iterable[Tuple[int, int]]) -> Iterator[bytes]:
    lines = []
    size = 0
    for follower_id, followee_id in pairs:
        # Values go out as they are: the service checks them and names the first bad line.
        line = json.dumps({"follower_id": follower_id, "followee_id": followee_id}, separators=(",", ":")) + "\n"
        lines.append(line)
        size += len(line)
        if size >= _BULK_CHUNK_BYTES:
            yield "".join(lines).encode("utf-8")
            lines, size = [], 0
    if lines:
        yield "".join(lines).encode("utf-8")


def _error_of(error: urllib.error.HTTPError) -> PresenceError:
    raw = error.read()
    try:
        detail = json.loads(raw)["error"]
        return PresenceError(error.code, detail["code"], detail["message"])
    except (ValueError, KeyError, TypeError):
        return PresenceError(error.code, "http_error", raw.decode("utf-8", "replace")[:200])
