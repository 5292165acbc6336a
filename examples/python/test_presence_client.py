"""Tests of presence_client.py. The server tests need a running presence service:

    PRESENCE_URL=http://127.0.0.1:8080 PRESENCE_AUTH_SECRET=... PRESENCE_SERVICE_KEY=... python3 -m unittest -v

plus PRESENCE_TOKEN_ISSUER and PRESENCE_TOKEN_AUDIENCE when the service checks them (AUTH_ISSUER,
AUTH_AUDIENCE). packages/server/test/python-example.test.ts starts a server and runs them. Without
PRESENCE_URL only the tests that need no server run.
"""

import base64
import hashlib
import hmac
import json
import os
import time
import unittest
import urllib.error
import urllib.request

from presence_client import PresenceClient, PresenceError, mint_token, verify_webhook

URL = os.environ.get("PRESENCE_URL")
AUTH_SECRET = os.environ.get("PRESENCE_AUTH_SECRET", "")
SERVICE_KEY = os.environ.get("PRESENCE_SERVICE_KEY", "")
ISSUER = os.environ.get("PRESENCE_TOKEN_ISSUER")
AUDIENCE = os.environ.get("PRESENCE_TOKEN_AUDIENCE")


def b64url_decode(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


class TokenTest(unittest.TestCase):
    def test_is_an_hs256_jwt_with_sub_as_a_decimal_string_and_exp(self):
        token = mint_token("a-secret-of-16-chars-or-more", 42, ttl_seconds=600, now=1_764_278_000)
        header, payload, signature = token.split(".")
        self.assertNotIn("=", token)
        self.assertEqual(json.loads(b64url_decode(header)), {"alg": "HS256", "typ": "JWT"})
        claims = json.loads(b64url_decode(payload))
        self.assertEqual(claims["sub"], "42")
        self.assertEqual(claims["exp"], 1_764_278_600)
        expected = hmac.new(b"a-secret-of-16-chars-or-more", f"{header}.{payload}".encode(), hashlib.sha256)
        self.assertEqual(b64url_decode(signature), expected.digest())

    def test_carries_issuer_and_audience_when_asked(self):
        token = mint_token("a-secret-of-16-chars-or-more", 42, issuer="chat", audience="presence")
        claims = json.loads(b64url_decode(token.split(".")[1]))
        self.assertEqual((claims["iss"], claims["aud"]), ("chat", "presence"))
        plain = json.loads(b64url_decode(mint_token("a-secret-of-16-chars-or-more", 42).split(".")[1]))
        self.assertNotIn("iss", plain)
        self.assertNotIn("aud", plain)

    def test_refuses_ids_that_are_not_positive_integers(self):
        for bad in (0, -1, "42", 4.2, True):
            with self.assertRaises(ValueError):
                mint_token("a-secret-of-16-chars-or-more", bad)


class WebhookTest(unittest.TestCase):
    """The signature is computed here from the rule itself, not with the module, so both are checked."""

    SECRET = "webhook-secret-0123456789"
    BODY = json.dumps(
        {"events": [{"id": "e1", "type": "presence.changed", "at": "2026-11-28T10:00:00.000Z",
                     "presence": {"user_id": 7, "status": "online", "last_seen": "2026-11-28T10:00:00.000Z",
                                  "v": 3}}]}
    ).encode()

    def sign(self, timestamp: str, body: bytes) -> str:
        mac = hmac.new(self.SECRET.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
        return "sha256=" + mac.hexdigest()

    def setUp(self):
        self.now = 1_764_324_000
        self.timestamp = str(self.now)
        self.signature = self.sign(self.timestamp, self.BODY)

    def verify(self, body=None, timestamp=None, signature=None, now=None):
        return verify_webhook(
            self.SECRET,
            self.BODY if body is None else body,
            self.timestamp if timestamp is None else timestamp,
            self.signature if signature is None else signature,
            now=self.now if now is None else now,
        )

    def test_accepts_a_correctly_signed_body(self):
        self.assertTrue(self.verify())
        self.assertTrue(verify_webhook(self.SECRET.encode(), self.BODY, self.timestamp, self.signature, now=self.now))

    def test_refuses_a_tampered_body(self):
        self.assertFalse(self.verify(body=self.BODY.replace(b'"online"', b'"away"')))
        self.assertFalse(self.verify(body=self.BODY + b" "))

    def test_refuses_a_tampered_timestamp(self):
        self.assertFalse(self.verify(timestamp=str(self.now + 1)))

    def test_refuses_a_tampered_or_malformed_signature(self):
        flipped = self.signature[:-1] + ("0" if self.signature[-1] != "0" else "1")
        for bad in (flipped, self.signature.upper(), self.signature[len("sha256="):], "sha256=", "",
                    "sha1=" + self.signature[len("sha256="):], self.signature + "00"):
            with self.subTest(signature=bad):
                self.assertFalse(self.verify(signature=bad))
        self.assertFalse(verify_webhook(self.SECRET, self.BODY, self.timestamp, None, now=self.now))

    def test_refuses_another_secret(self):
        self.assertFalse(verify_webhook("another-secret-0123456789", self.BODY, self.timestamp, self.signature,
                                        now=self.now))

    def test_refuses_stale_and_future_timestamps_even_when_signed(self):
        old = str(self.now - 301)
        self.assertFalse(self.verify(timestamp=old, signature=self.sign(old, self.BODY)))
        ahead = str(self.now + 301)
        self.assertFalse(self.verify(timestamp=ahead, signature=self.sign(ahead, self.BODY)))
        recent = str(self.now - 299)
        self.assertTrue(self.verify(timestamp=recent, signature=self.sign(recent, self.BODY)))
        for bad in ("", None, "-5", "1.5e9", "soon"):
            with self.subTest(timestamp=bad):
                self.assertFalse(verify_webhook(self.SECRET, self.BODY, bad, self.signature, now=self.now))


@unittest.skipUnless(URL, "PRESENCE_URL is not set: no server to talk to")
class ServerTest(unittest.TestCase):
    def setUp(self):
        self.client = PresenceClient(
            URL, service_key=SERVICE_KEY, auth_secret=AUTH_SECRET, issuer=ISSUER, audience=AUDIENCE
        )

    def token(self, user_id: int, **options) -> str:
        return mint_token(options.pop("secret", AUTH_SECRET), user_id, issuer=ISSUER, audience=AUDIENCE, **options)

    def raw_heartbeat(self, token: str) -> int:
        request = urllib.request.Request(
            f"{URL}/api/presence/heartbeat/", data=b"{}", method="POST",
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status
        except urllib.error.HTTPError as error:
            return error.code

    def test_a_token_minted_here_is_accepted(self):
        self.assertEqual(self.raw_heartbeat(self.token(501)), 200)
        presence = self.client.heartbeat(502, "away")
        self.assertEqual((presence["user_id"], presence["status"]), (502, "away"))

    def test_devices_are_kept_apart(self):
        self.client.heartbeat(505, "online", device="laptop", client="desktop")
        presence = self.client.heartbeat(505, "away", device="phone", client="mobile")
        self.assertEqual(presence["status"], "online")
        self.assertEqual(presence["clients"], {"desktop": "online", "mobile": "away"})
        with self.assertRaises(PresenceError) as caught:
            self.client.heartbeat(505, device="not ok")
        self.assertEqual(caught.exception.status, 400)

    def test_a_token_with_another_secret_or_expired_is_refused(self):
        self.assertEqual(self.raw_heartbeat(self.token(503, secret="not-the-secret-0123456789")), 401)
        self.assertEqual(self.raw_heartbeat(self.token(503, now=time.time() - 7200)), 401)

    @unittest.skipUnless(ISSUER and AUDIENCE, "the service checks no issuer and audience")
    def test_a_token_without_the_issuer_and_audience_is_refused(self):
        self.assertEqual(self.raw_heartbeat(mint_token(AUTH_SECRET, 504)), 401)
        self.assertEqual(self.raw_heartbeat(mint_token(AUTH_SECRET, 504, issuer=ISSUER, audience="other")), 401)

    def test_follows_take_effect_at_once(self):
        self.assertIsNone(self.client.status(511, 512))
        self.client.put_user(511, "alice")
        self.client.follow(511, 512)
        self.assertIsNone(self.client.status(511, 512), "a one-way follow shows nothing")
        self.client.follow(512, 511)
        self.assertEqual(self.client.status(511, 512)["user_id"], 512)
        self.client.unfollow(512, 511)
        self.assertIsNone(self.client.status(511, 512))

    def test_conversations_take_effect_at_once(self):
        self.client.set_conversation(9001, [521, 522])
        self.assertEqual(self.client.status(521, 522)["user_id"], 522)
        self.client.set_conversation(9001, [521, 523])
        self.assertIsNone(self.client.status(521, 522))
        self.client.delete_conversation(9001)
        self.assertIsNone(self.client.status(521, 523))

    def test_blocks_hide_both_ways_whatever_follows_and_conversations_say(self):
        self.client.follow(571, 572)
        self.client.follow(572, 571)
        self.client.set_conversation(9002, [571, 572])
        self.assertEqual(self.client.status(571, 572)["user_id"], 572)
        self.client.block(572, 571)
        self.client.block(572, 571)  # idempotent
        self.assertIsNone(self.client.status(571, 572))
        self.assertIsNone(self.client.status(572, 571))
        self.client.unblock(572, 571)
        self.assertEqual(self.client.status(571, 572)["user_id"], 572)

    def test_blocking_oneself_is_refused(self):
        with self.assertRaises(PresenceError) as caught:
            self.client.block(573, 573)
        self.assertEqual((caught.exception.status, caught.exception.code), (400, "bad_request"))

    def test_a_user_reads_its_own_last_seen(self):
        beat = self.client.heartbeat(541)
        presence = self.client.status(541, 541)
        self.assertEqual(presence["last_seen"], beat["last_seen"])
        self.assertIsNone(presence["custom"], "no custom status set")

    def test_bulk_follows(self):
        pairs = [(a, b) for a in range(531, 536) for b in range(531, 536) if a != b]
        self.assertIsNone(self.client.status(531, 535))
        self.assertEqual(self.client.bulk_follows(iter(pairs)), {"inserted": 20, "lines": 20})
        self.assertEqual(self.client.status(531, 535)["user_id"], 535)
        self.assertEqual(self.client.bulk_follows(pairs), {"inserted": 0, "lines": 20})

    def test_bulk_follows_with_nothing_to_send(self):
        # The backfill loop stops on this answer.
        self.assertEqual(self.client.bulk_follows(iter(())), {"inserted": 0, "lines": 0})

    def test_bulk_follows_in_many_chunks(self):
        pairs = [(600_000 + i, 700_000 + i) for i in range(5_000)]  # about 200 KB: several chunks
        self.assertEqual(self.client.bulk_follows(pairs), {"inserted": 5_000, "lines": 5_000})

    def test_bulk_follows_with_a_bad_pair_applies_nothing(self):
        with self.assertRaises(PresenceError) as caught:
            self.client.bulk_follows([(551, 552), (552, 551), (553, 553)])
        self.assertEqual((caught.exception.status, caught.exception.code), (400, "bad_request"))
        self.assertIn("line 3", caught.exception.message)
        self.assertIsNone(self.client.status(551, 552))

    def test_a_wrong_service_key_is_refused(self):
        with self.assertRaises(PresenceError) as caught:
            PresenceClient(URL, service_key="wrong-key-0123456789").follow(561, 562)
        self.assertEqual(caught.exception.status, 401)


if __name__ == "__main__":
    unittest.main()
