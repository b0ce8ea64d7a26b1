"""Tokens and roles.

A token is ``cc1.<payload>.<signature>``: base64url JSON
``{"role", "agent_id"?, "sub"?, "jti", "iat", "exp"?}`` signed with HMAC-SHA256 under the
configured secret. ``jti`` is the token's id: revoking it (``carecue token revoke``, kept in
the shared database, see ``app.revocation``) makes every instance refuse the token.
Routes take the caller's identity through the ``Annotated`` aliases at the bottom
(``AnyPrincipal``, ``SupervisorPrincipal``, ...). The token comes from
``Authorization: Bearer ...`` or, for telephony platforms that cannot set headers, the
``token`` query parameter; the pages send it in the event socket's first message.
Auth is never off: a local demo prints a token.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import time
from collections.abc import Callable, Container
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal

from fastapi import Depends, HTTPException, Request, WebSocket, status

Role = Literal["ingest", "agent", "supervisor", "admin"]
ROLES: tuple[Role, ...] = ("ingest", "agent", "supervisor", "admin")
_PREFIX = "cc1"


class AuthError(Exception):
    """A token is missing, malformed, badly signed, expired or lacks the role."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: a role, and for agents the agent id they act as."""

    role: Role
    agent_id: str | None = None
    subject: str | None = None
    token_id: str | None = None
    """The token's ``jti`` (or, for a token minted before ids, a digest of it): what a
    revocation names."""
    expires_at: float | None = None
    """Unix time the token stops working; ``None`` for a token without expiry."""

    @property
    def sees_all_calls(self) -> bool:
        return self.role in ("supervisor", "admin")

    def may_see_agent(self, agent_id: str) -> bool:
        return self.sees_all_calls or (self.role == "agent" and self.agent_id == agent_id)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def legacy_token_id(token: str) -> str:
    """The id of a token minted before tokens carried a ``jti``: a digest of the whole token,
    so such a token can still be revoked (the digest does not reveal the token)."""
    return "h-" + _b64(hashlib.sha256(token.encode()).digest())[:22]


class TokenSigner:
    """Mints and verifies tokens with one secret.

    ``revoked`` holds the ids of revoked tokens (an ``app.revocation.Revocations``, refreshed
    from the database); ``verify`` refuses them with ``token_revoked``.
    """

    def __init__(self, secret: str, revoked: Container[str] | None = None) -> None:
        if len(secret) < 16:
            raise ValueError("the auth secret must be at least 16 characters")
        self._key = secret.encode()
        self.revoked: Container[str] = revoked if revoked is not None else frozenset()

    def _sign(self, body: str) -> str:
        return _b64(hmac.new(self._key, body.encode(), hashlib.sha256).digest())

    def create(
        self,
        role: Role,
        agent_id: str | None = None,
        ttl_s: float | None = None,
        subject: str | None = None,
    ) -> str:
        if role not in ROLES:
            raise ValueError(f"unknown role {role!r}; one of {', '.join(ROLES)}")
        if role == "agent" and not agent_id:
            raise ValueError("an agent token needs an agent id")
        now = int(time.time())
        # Hex, not URL-safe base64: an id that began with '-' would be read by `carecue token
        # revoke` as an option.
        payload: dict[str, object] = {"role": role, "jti": secrets.token_hex(12), "iat": now}
        if agent_id:
            payload["agent_id"] = agent_id
        if subject:
            payload["sub"] = subject
        if ttl_s is not None:
            payload["exp"] = now + int(ttl_s)
        body = f"{_PREFIX}.{_b64(json.dumps(payload, separators=(',', ':')).encode())}"
        return f"{body}.{self._sign(body)}"

    def verify(self, token: str) -> Principal:
        """The token's principal; ``AuthError`` if it is malformed, forged, expired or revoked."""
        principal = self.decode(token)
        if principal.token_id in self.revoked:
            raise AuthError("token_revoked", "token has been revoked")
        return principal

    def decode(self, token: str) -> Principal:
        """Check the signature and expiry (not revocation) and read the claims."""
        # Whatever a client put there (a JSON value, non-ASCII from a query) is malformed, not
        # a crash: a real token is ASCII, and compare_digest refuses non-ASCII strings.
        if not isinstance(token, str) or not token.isascii():
            raise AuthError("bad_token", "token is malformed")
        parts = token.split(".")
        if len(parts) != 3 or parts[0] != _PREFIX:
            raise AuthError("bad_token", "token is malformed")
        body = f"{parts[0]}.{parts[1]}"
        if not hmac.compare_digest(self._sign(body), parts[2]):
            raise AuthError("bad_token", "token signature does not match")
        try:
            payload = json.loads(_unb64(parts[1]))
        except (ValueError, UnicodeDecodeError) as exc:
            raise AuthError("bad_token", "token payload is malformed") from exc
        if not isinstance(payload, dict):
            raise AuthError("bad_token", "token payload is malformed")
        role = payload.get("role")
        if role not in ROLES:
            raise AuthError("bad_token", "token has no valid role")
        exp = payload.get("exp")
        if exp is not None and not isinstance(exp, int | float):
            raise AuthError("bad_token", "token expiry is malformed")
        if exp is not None and time.time() > float(exp):
            raise AuthError("token_expired", "token has expired")
        agent_id = payload.get("agent_id")
        if role == "agent" and not agent_id:
            raise AuthError("bad_token", "agent token without agent id")
        jti = payload.get("jti")
        token_id = jti if isinstance(jti, str) and jti else legacy_token_id(token)
        return Principal(
            role=role,
            agent_id=agent_id,
            subject=payload.get("sub"),
            token_id=token_id,
            expires_at=float(exp) if exp is not None else None,
        )


def load_or_create_secret(configured: str | None, data_dir: Path) -> str:
    """The configured secret, else one kept in ``data_dir/auth_secret`` (created 0600 once)."""
    if configured:
        return configured
    path = data_dir / "auth_secret"
    if path.exists():
        return path.read_text().strip()
    data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    secret = secrets.token_urlsafe(32)
    # Created 0600 before the secret is written, so it is never readable by others.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(secret)
    return secret


def token_from(headers_authorization: str | None, query_token: str | None) -> str | None:
    """Bearer header first, then the ``token`` query parameter."""
    if headers_authorization:
        scheme, _, value = headers_authorization.partition(" ")
        if scheme.lower() == "bearer" and value.strip():
            return value.strip()
    return query_token or None


def authenticate(signer: TokenSigner, token: str | None, allowed: tuple[Role, ...]) -> Principal:
    """Verify a token and check its role is one of ``allowed``."""
    if not token:
        raise AuthError("missing_token", "a bearer token is required")
    principal = signer.verify(token)
    if principal.role not in allowed:
        raise AuthError("forbidden", f"role {principal.role!r} may not use this endpoint")
    return principal


def websocket_principal(ws: WebSocket, allowed: tuple[Role, ...]) -> Principal:
    """Authenticate a websocket from its headers or query; raises ``AuthError``."""
    signer: TokenSigner = ws.app.state.signer
    token = token_from(ws.headers.get("authorization"), ws.query_params.get("token"))
    return authenticate(signer, token, allowed)


def _requires(*allowed: Role) -> Callable[[Request], Principal]:
    def dependency(request: Request) -> Principal:
        signer: TokenSigner = request.app.state.signer
        token = token_from(request.headers.get("authorization"), request.query_params.get("token"))
        try:
            return authenticate(signer, token, allowed)
        except AuthError as exc:
            code = (
                status.HTTP_403_FORBIDDEN
                if exc.code == "forbidden"
                else status.HTTP_401_UNAUTHORIZED
            )
            raise HTTPException(
                code,
                detail={"code": exc.code, "message": exc.message},
                headers={"WWW-Authenticate": "Bearer"} if code == 401 else None,
            ) from exc

    return dependency


def request_principal(request: Request, *allowed: Role) -> Principal:
    """Authenticate an HTTP request outside a route's signature (raises ``HTTPException``)."""
    return _requires(*allowed)(request)


AnyPrincipal = Annotated[Principal, Depends(_requires("agent", "supervisor", "admin"))]
"""Agents (their own calls only), supervisors and admins."""
SupervisorPrincipal = Annotated[Principal, Depends(_requires("supervisor", "admin"))]
AdminPrincipal = Annotated[Principal, Depends(_requires("admin"))]
