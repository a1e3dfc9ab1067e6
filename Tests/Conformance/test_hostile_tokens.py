"""Tokens an attacker sends before any key is known: claims that do not fit a 64-bit integer,
that are missing or not numbers, garbage signatures. Each is refused (Twirp 401, gRPC
UNAUTHENTICATED) and the server keeps serving — it used to die on the first of these."""
import base64
import json
import time

import grpc
import jwt
import pytest
import requests

import tokens


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def forged(claims_text: str) -> str:
    """A token with these claims (raw JSON text) and a signature of garbage."""
    return b64(b'{"alg":"HS256"}') + "." + b64(claims_text.encode()) + ".AAAA"


def signed_raw(claims_text: str, secret=tokens.DEV_SECRET) -> str:
    """A correctly signed token whose claims are exactly this JSON text (numbers PyJWT cannot write)."""
    signing_input = b64(b'{"alg":"HS256","typ":"JWT"}') + "." + b64(claims_text.encode())
    import hashlib, hmac
    return signing_input + "." + b64(hmac.new(secret.encode(), signing_input.encode(), hashlib.sha256).digest())


NOW = int(time.time())
GRANT = '"video":{"roomRecord":true}'
HOSTILE = [
    # The published repro: an unknown key, a signature of garbage, nbf far below Int64.
    ("repro nbf -1e19", "eyJhbGciOiJIUzI1NiJ9.eyJpc3MiOiJub2JvZHkiLCJuYmYiOi0xZTE5fQ.AAAA"),
    ("unknown key, exp 1e300", forged('{"iss":"nobody","exp":1e300}')),
    ("known key, garbage signature, nbf -1e19", forged(f'{{"iss":"devkey","nbf":-1e19,"exp":{NOW + 600},{GRANT}}}')),
    ("known key, garbage signature, iat 1e400", forged(f'{{"iss":"devkey","iat":1e400,"exp":{NOW + 600},{GRANT}}}')),
    ("signed, exp Int64.max", signed_raw(f'{{"iss":"devkey","exp":9223372036854775807,{GRANT}}}')),
    ("signed, exp 1e300", signed_raw(f'{{"iss":"devkey","exp":1e300,{GRANT}}}')),
    ("signed, nbf -1e19", signed_raw(f'{{"iss":"devkey","nbf":-1e19,"exp":{NOW + 600},{GRANT}}}')),
    ("signed, nbf Int64.min", signed_raw(f'{{"iss":"devkey","nbf":-9223372036854775808,"exp":{NOW + 600},{GRANT}}}')),
    ("signed, no exp", jwt.encode({"iss": "devkey", "nbf": NOW, "video": {"roomRecord": True}}, tokens.DEV_SECRET, algorithm="HS256")),
    ("signed, exp a string", jwt.encode({"iss": "devkey", "exp": str(NOW + 600), "video": {"roomRecord": True}}, tokens.DEV_SECRET, algorithm="HS256")),
    ("signed, nbf a string", jwt.encode({"iss": "devkey", "nbf": "0", "exp": NOW + 600, "video": {"roomRecord": True}}, tokens.DEV_SECRET, algorithm="HS256")),
    ("signed, iss a number", signed_raw(f'{{"iss":7,"exp":{NOW + 600},{GRANT}}}')),
]


def with_header(header: bytes, secret=tokens.DEV_SECRET, digest=None) -> str:
    """Valid claims under this JOSE header, signed with HMAC-`digest` (hashlib name) or unsigned."""
    import hashlib, hmac
    signing_input = b64(header) + "." + b64(f'{{"iss":"devkey","exp":{NOW + 600},{GRANT}}}'.encode())
    signature = b64(hmac.new(secret.encode(), signing_input.encode(), getattr(hashlib, digest)).digest()) if digest else ""
    return signing_input + "." + signature


# Only HS256 is accepted, whatever else the header says and however well the rest is signed.
ALGORITHMS = [
    ("alg none, no signature", with_header(b'{"alg":"none"}')),
    ("alg None, no signature", with_header(b'{"alg":"None"}')),
    ("alg none, an HS256 signature", with_header(b'{"alg":"none"}', digest="sha256")),
    ("alg HS384", with_header(b'{"alg":"HS384"}', digest="sha384")),
    ("alg HS512", with_header(b'{"alg":"HS512"}', digest="sha512")),
    ("alg hs256 lower case", with_header(b'{"alg":"hs256"}', digest="sha256")),
    ("no alg", with_header(b'{"typ":"JWT"}', digest="sha256")),
    ("alg a number", with_header(b'{"alg":256}', digest="sha256")),
    ("header not an object", with_header(b'["HS256"]', digest="sha256")),
]


@pytest.mark.parametrize("case,token", ALGORITHMS, ids=[a[0] for a in ALGORITHMS])
def test_only_hs256_is_accepted(server, stubs, case, token):
    assert grpc_list_code(server, stubs, token) == grpc.StatusCode.UNAUTHENTICATED
    assert twirp_list(server, token).status_code == 401
    # The same claims under an HS256 header pass: only the algorithm was wrong.
    assert grpc_list_code(server, stubs, with_header(b'{"alg":"HS256"}', digest="sha256")) == grpc.StatusCode.OK


def test_an_rs256_token_is_refused(server, stubs):
    from cryptography.hazmat.primitives.asymmetric import rsa
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    token = jwt.encode({"iss": "devkey", "exp": NOW + 600, "video": {"roomRecord": True}}, key, algorithm="RS256")
    response = twirp_list(server, token)
    assert response.status_code == 401 and response.json()["code"] == "unauthenticated"


def grpc_list_code(server, stubs, token):
    """The status of a gRPC ListEgress that carries `token`."""
    api = stubs.egress_grpc.EgressStub(server.raw_channel())
    try:
        api.ListEgress(stubs.egress.ListEgressRequest(), metadata=[("authorization", f"Bearer {token}")], timeout=10)
        return grpc.StatusCode.OK
    except grpc.RpcError as error:
        return error.code()


def twirp_list(server, token):
    return requests.post(f"http://127.0.0.1:{server.port}/twirp/livekit.Egress/ListEgress", data="{}", timeout=10,
                         headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})


@pytest.mark.parametrize("case,token", HOSTILE, ids=[h[0] for h in HOSTILE])
def test_a_hostile_token_is_refused_over_twirp_and_the_server_lives(server, case, token):
    response = twirp_list(server, token)
    assert response.status_code == 401, response.text
    assert response.json()["code"] == "unauthenticated"
    assert server.alive()
    assert twirp_list(server, tokens.token(roomRecord=True)).status_code == 200


@pytest.mark.parametrize("case,token", HOSTILE, ids=[h[0] for h in HOSTILE])
def test_a_hostile_token_is_refused_over_grpc_and_the_server_lives(server, stubs, case, token):
    assert grpc_list_code(server, stubs, token) == grpc.StatusCode.UNAUTHENTICATED
    assert server.alive()
    assert grpc_list_code(server, stubs, tokens.token(roomRecord=True)) == grpc.StatusCode.OK


def test_the_refusal_says_which_claim_is_wrong(server):
    no_exp = jwt.encode({"iss": "devkey", "video": {"roomRecord": True}}, tokens.DEV_SECRET, algorithm="HS256")
    assert "no exp claim" in twirp_list(server, no_exp).json()["msg"]
    huge = signed_raw(f'{{"iss":"devkey","exp":9223372036854775807,{GRANT}}}')
    assert "exp claim is not a number of seconds" in twirp_list(server, huge).json()["msg"]
    garbage = forged('{"iss":"devkey","exp":"soon"}')
    assert twirp_list(server, garbage).json()["msg"] == "invalid authorization token: bad signature"
