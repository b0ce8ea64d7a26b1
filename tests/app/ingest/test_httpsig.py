"""RFC 9421 HMAC signatures as AudioHook uses them."""

from __future__ import annotations

import base64

import pytest

from app.ingest.httpsig import (
    RequestView,
    SignatureError,
    parse_dictionary,
    sign_request,
    verify_request,
)

KEY = base64.b64decode("TXlTdXBlclNlY3JldEtleVRlbGxOby0xITJAMyM0JDU=")
NOW = 1_700_000_000
COMPONENTS = ["@request-target", "@authority", "audiohook-organization-id", "x-api-key"]


def _request(headers: dict[str, str], path: str = "/v1/ingest/audiohook",
             query: str = "") -> RequestView:
    return RequestView("GET", "wss", "carecue.example.com", path, query,
                       {k.lower(): v for k, v in headers.items()})


def _signed(created: int = NOW, **override: str) -> dict[str, str]:
    headers = {"audiohook-organization-id": "d7934305-0972-4844-938e-9060eef73d05",
               "x-api-key": "SGVsbG8sIEkgYW0gdGhlIEFQSSBrZXkh"}
    sig = sign_request(
        [("@request-target", "/v1/ingest/audiohook"), ("@authority", "carecue.example.com"),
         ("audiohook-organization-id", headers["audiohook-organization-id"]),
         ("x-api-key", headers["x-api-key"])],
        keyid=headers["x-api-key"], key=KEY, created=created)
    return {**headers, **sig, **override}


def _verify(headers: dict[str, str], **kw: object) -> None:
    verify_request(_request(headers), key_for=lambda k: KEY if k == headers["x-api-key"] else None,
                   required=COMPONENTS, max_age_s=10, now=lambda: NOW + 1, **kw)  # type: ignore[arg-type]


def test_genesys_style_signature_verifies() -> None:
    _verify(_signed())


def test_parses_signature_input_dictionary() -> None:
    parsed = parse_dictionary(
        'sig1=("@request-target" "x-api-key");keyid="k";nonce="abc";alg="hmac-sha256";'
        "created=1641013200;expires=3282026430"
    )
    inner = parsed["sig1"]
    assert [i.value for i in inner.items] == ["@request-target", "x-api-key"]  # type: ignore[union-attr]
    assert dict(inner.params)["created"] == 1641013200


@pytest.mark.parametrize(
    "mutate, code",
    [
        (lambda h: {**h, "x-api-key": "another-key"}, "FAILED"),  # header changed after signing
        (lambda h: {**h, "audiohook-organization-id": "00000000-0000-0000-0000-000000000000"},
         "FAILED"),
        (lambda h: {k: v for k, v in h.items() if k != "signature"}, "INVALID"),
        (lambda h: {k: v for k, v in h.items() if k not in ("signature", "signature-input")},
         "UNSIGNED"),
        (lambda h: {**h, "signature": "sig1=:AAAA:"}, "FAILED"),
        (lambda h: {**h, "signature-input": h["signature-input"] + ","}, "INVALID"),
    ],
)
def test_tampering_is_caught(mutate, code) -> None:  # type: ignore[no-untyped-def]
    headers = _signed()
    with pytest.raises(SignatureError) as err:
        verify_request(_request(mutate(headers)), key_for=lambda k: KEY, required=COMPONENTS,
                       now=lambda: NOW)
    assert err.value.code == code


def test_wrong_secret_fails() -> None:
    headers = _signed()
    with pytest.raises(SignatureError) as err:
        verify_request(_request(headers), key_for=lambda k: b"not the secret",
                       required=COMPONENTS, now=lambda: NOW)
    assert err.value.code == "FAILED"


def test_unknown_key_fails_like_a_wrong_one() -> None:
    with pytest.raises(SignatureError) as err:
        verify_request(_request(_signed()), key_for=lambda k: None, required=COMPONENTS,
                       now=lambda: NOW)
    assert err.value.code == "FAILED"


def test_old_signature_is_expired() -> None:
    with pytest.raises(SignatureError) as err:
        _verify(_signed(created=NOW - 60))
    assert err.value.code == "EXPIRED"


def test_signature_from_the_future_is_refused() -> None:
    with pytest.raises(SignatureError) as err:
        _verify(_signed(created=NOW + 120))
    assert err.value.code == "PRECONDITION"


def test_signature_must_cover_required_components() -> None:
    headers = {"x-api-key": "k", "audiohook-organization-id": "o"}
    sig = sign_request([("x-api-key", "k")], keyid="k", key=KEY, created=NOW)
    with pytest.raises(SignatureError) as err:
        verify_request(_request({**headers, **sig}), key_for=lambda k: KEY, required=COMPONENTS,
                       now=lambda: NOW)
    assert err.value.code == "PRECONDITION"
    assert "@request-target" in err.value.reason


def test_request_target_includes_query() -> None:
    sig = sign_request([("@request-target", "/v1/ingest/audiohook?x=1"), ("x-api-key", "k")],
                       keyid="k", key=KEY, created=NOW)
    headers = {"x-api-key": "k", **sig}
    verify_request(_request(headers, query="x=1"), key_for=lambda k: KEY,
                   required=["@request-target"], now=lambda: NOW)
    with pytest.raises(SignatureError):
        verify_request(_request(headers, query="x=2"), key_for=lambda k: KEY,
                       required=["@request-target"], now=lambda: NOW)


def test_rfc9421_appendix_b25_known_answer() -> None:
    """The RFC's own HMAC-SHA256 example (B.2.5) verifies byte for byte."""
    secret = base64.b64decode(
        "uzvJfB4u3N0Jy4T7NZ75MDVcr8zSTInedJtkgcu46YW4XByzNJjxBdtjUkdJPBtbmHhIDi6pcl8jsasjlTMtDQ=="
    )
    headers = {
        "host": "example.com",
        "date": "Tue, 20 Apr 2021 02:07:55 GMT",
        "content-type": "application/json",
        "signature-input": 'sig-b25=("date" "@authority" "content-type");created=1618884473;'
        'keyid="test-shared-secret"',
        "signature": "sig-b25=:pxcQw6G3AjtMBQjwo8XzkZf/bws5LelbaMk5rGIGtE8=:",
    }
    request = RequestView("POST", "https", "example.com", "/foo", "param=Value&Pet=dog", headers)
    verified = verify_request(request, key_for=lambda k: secret, required=["@authority"],
                              max_age_s=None, now=lambda: 1618884473, min_nonce_len=0)
    assert verified.keyid == "test-shared-secret"
    with pytest.raises(SignatureError):
        verify_request(request, key_for=lambda k: secret[:-1], required=["@authority"],
                       max_age_s=None, now=lambda: 1618884473, min_nonce_len=0)
