"""LiveKit access tokens for the tests, made with PyJWT (not the server's code), and a grpcio
interceptor that signs every call the way LiveKit's server SDKs do: one token per call, with
the grant that call needs, for the request's room and identity.

The server under test runs with --dev unless a test says otherwise: API key devkey, secret
"secret"."""
import time
import warnings

import grpc
import jwt

# The development secret is short on purpose; PyJWT warns about it on every token (conftest
# silences it under pytest; this, in scripts).
warnings.filterwarnings("ignore", message="The HMAC key is")

DEV_KEY, DEV_SECRET = "devkey", "secret"


def token(key=DEV_KEY, secret=DEV_SECRET, identity="", ttl=600, nbf=None, exp=None, **grant):
    """A signed token; `grant` is LiveKit's video grant in its JSON names (roomRecord=True, room="r")."""
    now = int(time.time())
    claims = {"iss": key, "nbf": now if nbf is None else nbf, "exp": now + ttl if exp is None else exp, "video": grant}
    if identity:
        claims["sub"] = identity
    return jwt.encode(claims, secret, algorithm="HS256")


def bearer(**kwargs):
    return ("authorization", "Bearer " + token(**kwargs))


def grant_for(request):
    """All that a request's method could need, scoped to its room and identity when it has them."""
    fields = type(request).DESCRIPTOR.fields_by_name if hasattr(type(request), "DESCRIPTOR") else {}
    # RoomService and RoomIngest requests name their room `room`, and a participant `identity`.
    room = request.room if "room" in fields else ""
    identity = request.identity if room and "identity" in fields else ""
    grant = {"roomRecord": True, "roomList": True, "roomAdmin": True, "roomJoin": True, "roomCreate": True}
    if room:
        grant["room"] = room
    return token(identity=identity, **grant)


class _ClientCallDetails(grpc.ClientCallDetails):
    def __init__(self, details, metadata):
        self.method, self.timeout, self.credentials = details.method, details.timeout, details.credentials
        self.wait_for_ready, self.compression = details.wait_for_ready, details.compression
        self.metadata = metadata


class SigningInterceptor(grpc.UnaryUnaryClientInterceptor, grpc.UnaryStreamClientInterceptor,
                         grpc.StreamStreamClientInterceptor):
    """Adds `authorization: Bearer <token>` unless the call already carries one (for a stream
    of requests, a token without room or identity)."""

    def _sign(self, details, request):
        metadata = list(details.metadata or [])
        if not any(key == "authorization" for key, _ in metadata):
            metadata.append(("authorization", "Bearer " + grant_for(request)))
        return _ClientCallDetails(details, metadata)

    def intercept_unary_unary(self, continuation, details, request):
        return continuation(self._sign(details, request), request)

    def intercept_unary_stream(self, continuation, details, request):
        return continuation(self._sign(details, request), request)

    def intercept_stream_stream(self, continuation, details, request_iterator):
        return continuation(self._sign(details, None), request_iterator)


def signed(channel):
    return grpc.intercept_channel(channel, SigningInterceptor())
