"""Signed tokens of the sandbox's identity provider, and their verification.

Access tokens carry the claims Microsoft's resources read (aud, scp, tid, oid, upn,
`wids` with the real Entra role template ids); id tokens carry what MSAL needs to
build an account (iss, aud = client id, nonce, tid, oid, preferred_username).
`verify()` knows nothing about HTTP so the admin API, Graph and the SMTP endpoints
all judge a token the same way.
"""

from __future__ import annotations

import base64
import json
import secrets
import time
import uuid
from collections.abc import Callable, Iterable
from enum import StrEnum
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

from wizard.sandbox.tenant import EXCHANGE_ADMIN, GLOBAL_ADMIN, Account

# Entra role template ids, as found in the `wids` claim of real tokens.
ROLE_TEMPLATE_IDS: dict[str, str] = {
    GLOBAL_ADMIN: "62e90394-69f5-4237-9190-012177145e10",
    EXCHANGE_ADMIN: "29232cdf-9323-42fd-ade2-1d097af3e4de",
}
# Every member user carries the "User" directory role in `wids`.
DEFAULT_USER_ROLE_ID = "b79fbf4d-3ef9-4689-8143-76b194e85509"
ROLES_BY_TEMPLATE_ID = {v: k for k, v in ROLE_TEMPLATE_IDS.items()}

# The SMTP submission endpoint's resource; XOAUTH2 tokens are issued for it.
OUTLOOK_AUDIENCE = "https://outlook.office.com"
ACCESS_TOKEN_LIFETIME = 3600
ALGORITHM = "RS256"


class TokenProblem(StrEnum):
    MALFORMED = "malformed"
    BAD_SIGNATURE = "bad_signature"
    EXPIRED = "expired"
    NOT_YET_VALID = "not_yet_valid"
    WRONG_AUDIENCE = "wrong_audience"
    WRONG_ISSUER = "wrong_issuer"


class InvalidToken(Exception):
    """A bearer token the sandbox's resources must refuse; `reason` says why."""

    def __init__(self, reason: TokenProblem, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


def client_info(account: Account, tenant_id: str) -> str:
    """base64url of {"uid", "utid"}: MSAL builds the home account id from it."""
    raw = json.dumps({"uid": account.object_id, "utid": tenant_id}).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


class TokenService:
    """One RSA signing key per sandbox; issues and verifies its JWTs."""

    def __init__(
        self, *, authority_host: str, tenant_id: str, clock: Callable[[], float] = time.time
    ) -> None:
        self.authority_host = authority_host.rstrip("/")
        self.tenant_id = tenant_id
        self._clock = clock
        self._key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.kid = secrets.token_urlsafe(16)

    @property
    def issuer(self) -> str:
        return f"{self.authority_host}/{self.tenant_id}/v2.0"

    def jwks(self) -> dict[str, Any]:
        jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self._key.public_key()))
        jwk.update({"kid": self.kid, "use": "sig", "alg": ALGORITHM})
        return {"keys": [jwk]}

    def _sign(self, claims: dict[str, Any]) -> str:
        return jwt.encode(
            claims, self._key, algorithm=ALGORITHM, headers={"kid": self.kid, "typ": "JWT"}
        )

    def access_token(
        self,
        account: Account,
        *,
        audience: str,
        scopes: Iterable[str],
        client_id: str,
        lifetime: int = ACCESS_TOKEN_LIFETIME,
    ) -> str:
        """An access token for one resource; `scopes` are the bare permission names."""
        now = int(self._clock())
        wids = [ROLE_TEMPLATE_IDS[r] for r in sorted(account.roles) if r in ROLE_TEMPLATE_IDS]
        claims = {
            "aud": audience,
            "iss": self.issuer,
            "iat": now,
            "nbf": now,
            "exp": now + lifetime,
            "tid": self.tenant_id,
            "oid": account.object_id,
            "sub": account.object_id,
            "upn": account.upn,
            "unique_name": account.upn,
            "preferred_username": account.upn,
            "name": account.display_name,
            "scp": " ".join(scopes),
            "appid": client_id,
            "azp": client_id,
            "ver": "2.0",
            "uti": secrets.token_urlsafe(16),
        }
        if not account.token_without_wids:
            claims["wids"] = [*wids, DEFAULT_USER_ROLE_ID]
        return self._sign(claims)

    def id_token(
        self,
        account: Account,
        *,
        client_id: str,
        nonce: str | None,
        lifetime: int = ACCESS_TOKEN_LIFETIME,
    ) -> str:
        now = int(self._clock())
        claims: dict[str, Any] = {
            "aud": client_id,
            "iss": self.issuer,
            "iat": now,
            "nbf": now,
            "exp": now + lifetime,
            "tid": self.tenant_id,
            "oid": account.object_id,
            "sub": account.object_id,
            "preferred_username": account.upn,
            "name": account.display_name,
            "ver": "2.0",
            "auth_time": now,
            "uti": secrets.token_urlsafe(16),
        }
        if nonce:
            claims["nonce"] = nonce
        return self._sign(claims)

    @staticmethod
    def refresh_token() -> str:
        """Opaque, as Entra's are: the identity provider keeps what it stands for."""
        return "0." + secrets.token_urlsafe(48) + "." + uuid.uuid4().hex

    def verify(self, token: str, audience: str) -> dict[str, Any]:
        """The token's claims if it is ours, unexpired and for `audience`; else InvalidToken."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.DecodeError as exc:
            raise InvalidToken(TokenProblem.MALFORMED, "The token is not a valid JWT.") from exc
        if header.get("kid") != self.kid or header.get("alg") != ALGORITHM:
            raise InvalidToken(
                TokenProblem.BAD_SIGNATURE,
                "The token's signing key is not one this tenant published.",
            )
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                self._key.public_key(),
                algorithms=[ALGORITHM],
                audience=audience,
                issuer=self.issuer,
                options={"require": ["exp", "iat", "nbf", "aud", "iss"]},
                leeway=0,
            )
        except jwt.ExpiredSignatureError as exc:
            raise InvalidToken(TokenProblem.EXPIRED, "The token has expired.") from exc
        except jwt.ImmatureSignatureError as exc:
            raise InvalidToken(TokenProblem.NOT_YET_VALID, "The token is not yet valid.") from exc
        except jwt.InvalidAudienceError as exc:
            raise InvalidToken(
                TokenProblem.WRONG_AUDIENCE, f"The token's audience is not {audience}."
            ) from exc
        except jwt.InvalidIssuerError as exc:
            raise InvalidToken(TokenProblem.WRONG_ISSUER, "The token's issuer is wrong.") from exc
        except jwt.InvalidSignatureError as exc:
            raise InvalidToken(
                TokenProblem.BAD_SIGNATURE, "The token's signature does not verify."
            ) from exc
        except jwt.InvalidTokenError as exc:
            raise InvalidToken(TokenProblem.MALFORMED, "The token is not valid.") from exc
        return claims

    def checker(self, audience: str) -> Callable[[str], dict[str, Any]]:
        """A `token -> claims` callable for one resource (the SMTP endpoints get one)."""

        def check(token: str) -> dict[str, Any]:
            return self.verify(token, audience)

        return check


def roles_of(claims: dict[str, Any]) -> set[str]:
    """The admin role names behind a token's `wids` claim."""
    wids = claims.get("wids") or []
    return {ROLES_BY_TEMPLATE_ID[w] for w in wids if w in ROLES_BY_TEMPLATE_ID}
