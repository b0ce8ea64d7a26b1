"""HTTP message signatures (RFC 9421) with HMAC-SHA256, as Genesys AudioHook signs its upgrade.

Only what AudioHook uses: ``Signature-Input``/``Signature`` dictionaries (RFC 8941 structured
fields), derived components ``@request-target``, ``@authority``, ``@method``, ``@path``,
``@query``, ``@scheme``, ``@target-uri`` and plain header fields. The signature base is
re-serialised from the parsed form, so a sloppy signer fails instead of being guessed at.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass


class Token(str):
    """An RFC 8941 token (serialised without quotes)."""

    __slots__ = ()


BareItem = str | int | bool | bytes  # Token is a str
Params = list[tuple[str, BareItem]]


@dataclass(frozen=True, slots=True)
class Item:
    value: BareItem
    params: Params


@dataclass(frozen=True, slots=True)
class InnerList:
    items: list[Item]
    params: Params


class StructuredFieldError(ValueError):
    """A header field is not a valid structured field."""


_KEY_START = re.compile(r"[a-z*]")
_KEY_CHARS = re.compile(r"[a-z0-9_\-.*]*")
_TOKEN = re.compile(r"[A-Za-z*][!#$%&'*+\-.^_`|~0-9A-Za-z:/]*")
_NUMBER = re.compile(r"-?[0-9]{1,15}(\.[0-9]{1,3})?")


class _Parser:
    def __init__(self, text: str) -> None:
        self.s = text
        self.i = 0

    def _ws(self) -> None:
        while self.i < len(self.s) and self.s[self.i] == " ":
            self.i += 1

    def _ows(self) -> None:
        while self.i < len(self.s) and self.s[self.i] in " \t":
            self.i += 1

    def _peek(self) -> str:
        return self.s[self.i] if self.i < len(self.s) else ""

    def key(self) -> str:
        if not _KEY_START.match(self._peek()):
            raise StructuredFieldError(f"bad key at {self.i}")
        m = _KEY_CHARS.match(self.s, self.i + 1)
        end = m.end() if m else self.i + 1
        key = self.s[self.i : end]
        self.i = end
        return key

    def bare_item(self) -> BareItem:
        c = self._peek()
        if c == '"':
            self.i += 1
            out = []
            while self.i < len(self.s):
                ch = self.s[self.i]
                self.i += 1
                if ch == "\\":
                    if self.i >= len(self.s) or self.s[self.i] not in '"\\':
                        raise StructuredFieldError("bad escape in string")
                    out.append(self.s[self.i])
                    self.i += 1
                elif ch == '"':
                    return "".join(out)
                elif not (0x20 <= ord(ch) < 0x7F):
                    raise StructuredFieldError("bad character in string")
                else:
                    out.append(ch)
            raise StructuredFieldError("unterminated string")
        if c == ":":
            end = self.s.find(":", self.i + 1)
            if end < 0:
                raise StructuredFieldError("unterminated byte sequence")
            raw = self.s[self.i + 1 : end]
            self.i = end + 1
            try:
                return base64.b64decode(raw, validate=True)
            except ValueError as exc:
                raise StructuredFieldError("bad base64 in byte sequence") from exc
        if c == "?":
            flag = self.s[self.i + 1 : self.i + 2]
            if flag not in ("0", "1"):
                raise StructuredFieldError("bad boolean")
            self.i += 2
            return flag == "1"
        if c == "-" or c.isdigit():
            m = _NUMBER.match(self.s, self.i)
            if not m or m.group(1):
                raise StructuredFieldError("only integers are supported here")
            self.i = m.end()
            return int(m.group(0))
        m = _TOKEN.match(self.s, self.i)
        if m:
            self.i = m.end()
            return Token(m.group(0))
        raise StructuredFieldError(f"bad item at {self.i}")

    def params(self) -> Params:
        out: Params = []
        while self._peek() == ";":
            self.i += 1
            self._ws()
            k = self.key()
            v: BareItem = True
            if self._peek() == "=":
                self.i += 1
                v = self.bare_item()
            out = [(pk, pv) for pk, pv in out if pk != k] + [(k, v)]
        return out

    def item_or_inner_list(self) -> Item | InnerList:
        if self._peek() == "(":
            self.i += 1
            items: list[Item] = []
            while True:
                self._ws()
                if self._peek() == ")":
                    self.i += 1
                    return InnerList(items, self.params())
                items.append(Item(self.bare_item(), self.params()))
                if self._peek() not in (" ", ")"):
                    raise StructuredFieldError("bad inner list")
        return Item(self.bare_item(), self.params())

    def dictionary(self) -> dict[str, Item | InnerList]:
        out: dict[str, Item | InnerList] = {}
        self._ws()
        if self.i >= len(self.s):
            return out
        while True:
            k = self.key()
            if self._peek() == "=":
                self.i += 1
                out[k] = self.item_or_inner_list()
            else:
                out[k] = Item(True, self.params())
            self._ows()
            if self.i >= len(self.s):
                return out
            if self._peek() != ",":
                raise StructuredFieldError("expected ',' between dictionary members")
            self.i += 1
            self._ows()
            if self.i >= len(self.s):
                raise StructuredFieldError("trailing comma")


def parse_dictionary(text: str) -> dict[str, Item | InnerList]:
    """Parse an RFC 8941 dictionary header field (the subset HTTP signatures need)."""
    return _Parser(text.strip()).dictionary()


def _ser_bare(value: BareItem) -> str:
    if isinstance(value, bool):
        return "?1" if value else "?0"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, bytes):
        return ":" + base64.b64encode(value).decode("ascii") + ":"
    if isinstance(value, Token):
        return str(value)
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _ser_params(params: Params) -> str:
    return "".join(f";{k}" if v is True else f";{k}={_ser_bare(v)}" for k, v in params)


def serialize_inner_list(inner: InnerList) -> str:
    """Serialise an inner list canonically (RFC 8941 section 4.1.1.1)."""
    items = " ".join(_ser_bare(it.value) + _ser_params(it.params) for it in inner.items)
    return f"({items}){_ser_params(inner.params)}"


def canonical_field_value(value: str) -> str:
    """Header value as RFC 9421 covers it: trimmed, obs-fold replaced by a space."""
    return re.sub(r"[ \t]*\r\n[ \t]+", " ", value.strip())


@dataclass(frozen=True, slots=True)
class RequestView:
    """What a verifier needs from the HTTP upgrade request."""

    method: str
    scheme: str
    authority: str
    path: str
    query: str  # without the leading '?', '' when absent
    headers: Mapping[str, str]  # lower-case names

    def derived(self, name: str) -> str | None:
        q = f"?{self.query}" if self.query else ""
        return {
            "@method": self.method.upper(),
            "@scheme": self.scheme.lower(),
            "@authority": self.authority.lower(),
            "@path": self.path,
            "@query": q or "?",
            "@request-target": self.path + q,
            "@target-uri": f"{self.scheme.lower()}://{self.authority.lower()}{self.path}{q}",
        }.get(name)


class SignatureError(Exception):
    """Why a signature did not verify; ``code`` is one of the reference verifier's codes."""

    def __init__(self, code: str, reason: str) -> None:
        super().__init__(f"{code}: {reason}")
        self.code = code
        self.reason = reason


@dataclass(frozen=True, slots=True)
class VerifiedSignature:
    keyid: str
    created: int | None
    nonce: str | None


MAX_CLOCK_SKEW_S = 3


def verify_request(
    request: RequestView,
    key_for: Callable[[str], bytes | None],
    required: Sequence[str],
    max_age_s: int | None = 10,
    now: Callable[[], float] = time.time,
    min_nonce_len: int = 22,
) -> VerifiedSignature:
    """Verify the first HMAC-SHA256 signature on ``request``; raise ``SignatureError`` if bad.

    ``key_for(keyid)`` returns the shared secret bytes, or ``None`` for an unknown key (the
    comparison still runs against a random key, so unknown and wrong keys look alike).
    """
    sig_input_raw = request.headers.get("signature-input")
    sig_raw = request.headers.get("signature")
    if not sig_input_raw and not sig_raw:
        raise SignatureError("UNSIGNED", "no Signature and Signature-Input header fields")
    if not sig_input_raw or not sig_raw:
        raise SignatureError("INVALID", "Signature and Signature-Input must both be present")
    try:
        inputs = parse_dictionary(sig_input_raw)
        sigs = parse_dictionary(sig_raw)
    except StructuredFieldError as exc:
        raise SignatureError("INVALID", f"unparsable signature header: {exc}") from exc
    if not inputs:
        raise SignatureError("INVALID", "empty Signature-Input")
    label, base = next(iter(inputs.items()))
    sig_item = sigs.get(label)
    if not isinstance(sig_item, Item) or not isinstance(sig_item.value, bytes):
        raise SignatureError("INVALID", f"no byte-sequence signature for label {label!r}")
    if not isinstance(base, InnerList):
        raise SignatureError("INVALID", "Signature-Input member must be an inner list")

    params = dict(base.params)
    for k, v in params.items():
        if k not in ("alg", "created", "expires", "keyid", "nonce", "tag"):
            raise SignatureError("INVALID", f"unknown signature parameter {k!r}")
        if k in ("created", "expires") and (isinstance(v, bool) or not isinstance(v, int)):
            raise SignatureError("INVALID", f"{k} must be an integer")
        if k in ("alg", "keyid", "nonce", "tag") and (
            isinstance(v, (bool, bytes, int)) or isinstance(v, Token)
        ):
            raise SignatureError("INVALID", f"{k} must be a string")
    alg = params.get("alg", "hmac-sha256")
    if alg != "hmac-sha256":
        raise SignatureError("UNSUPPORTED", f"algorithm {alg!r} is not supported")
    keyid = params.get("keyid")
    if not isinstance(keyid, str):
        raise SignatureError("PRECONDITION", "missing keyid")
    nonce = params.get("nonce")
    if min_nonce_len and (not isinstance(nonce, str) or len(nonce) < min_nonce_len):
        raise SignatureError("PRECONDITION", "missing or too short nonce")
    created = params.get("created")
    expires = params.get("expires")
    t = now()
    if isinstance(created, int) and created > t + MAX_CLOCK_SKEW_S:
        raise SignatureError("PRECONDITION", "created is in the future")
    if isinstance(expires, int) and expires < t - MAX_CLOCK_SKEW_S:
        raise SignatureError("EXPIRED", "signature has expired")
    if max_age_s is not None:
        if not isinstance(created, int):
            raise SignatureError("PRECONDITION", "no created parameter to judge the age by")
        if created + max_age_s < t - MAX_CLOCK_SKEW_S:
            raise SignatureError("EXPIRED", "signature is too old")

    lines: list[str] = []
    covered: set[str] = set()
    for comp in base.items:
        name = comp.value
        if not isinstance(name, str) or isinstance(name, Token):
            raise SignatureError("INVALID", "covered components must be strings")
        if comp.params:
            raise SignatureError("UNSUPPORTED", f"component parameters on {name!r}")
        if name in covered:
            raise SignatureError("INVALID", f"duplicate component {name!r}")
        if name.startswith("@"):
            value = request.derived(name)
            if value is None:
                raise SignatureError("INVALID", f"unknown derived component {name!r}")
        else:
            if name != name.lower() or name in ("signature", "signature-input"):
                raise SignatureError("INVALID", f"bad component {name!r}")
            raw = request.headers.get(name)
            if raw is None:
                raise SignatureError("PRECONDITION", f"header {name!r} not present")
            value = canonical_field_value(raw)
        covered.add(name)
        lines.append(f"{_ser_bare(name)}: {value}")
    missing = [c for c in required if c not in covered]
    if missing:
        raise SignatureError("PRECONDITION", f"signature does not cover {', '.join(missing)}")
    lines.append(f'"@signature-params": {serialize_inner_list(base)}')
    signature_base = "\n".join(lines).encode("utf-8")

    key = key_for(keyid)
    known = key is not None
    mac = hmac.new(key if key is not None else secrets.token_bytes(32), signature_base,
                   hashlib.sha256)
    if not hmac.compare_digest(mac.digest(), sig_item.value) or not known:
        raise SignatureError("FAILED", "signature does not match")
    return VerifiedSignature(
        keyid=keyid,
        created=created if isinstance(created, int) else None,
        nonce=nonce if isinstance(nonce, str) else None,
    )


def sign_request(
    components: Sequence[tuple[str, str]],
    keyid: str,
    key: bytes,
    created: int | None = None,
    expires_in_s: int = 30,
    nonce: str | None = None,
    label: str = "sig1",
) -> dict[str, str]:
    """Build ``Signature-Input`` and ``Signature`` headers the way Genesys AudioHook does.

    ``components`` are (name, value) pairs: derived names start with '@', others are
    lower-case header names. Used by the simulator and the tests.
    """
    created = int(time.time()) if created is None else created
    inner = InnerList(
        [Item(name.lower(), []) for name, _ in components],
        [
            ("keyid", keyid),
            ("nonce", nonce or base64.b64encode(secrets.token_bytes(18)).decode("ascii")),
            ("alg", "hmac-sha256"),
            ("created", created),
            ("expires", created + expires_in_s),
        ],
    )
    lines = [f"{_ser_bare(n.lower())}: {canonical_field_value(v)}" for n, v in components]
    lines.append(f'"@signature-params": {serialize_inner_list(inner)}')
    digest = hmac.new(key, "\n".join(lines).encode("utf-8"), hashlib.sha256).digest()
    return {
        "signature-input": f"{label}={serialize_inner_list(inner)}",
        "signature": f"{label}={_ser_bare(digest)}",
    }
