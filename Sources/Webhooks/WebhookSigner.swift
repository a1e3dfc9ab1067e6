import Auth
import Crypto
import Protobuf
import Support

/// Signs a webhook body as LiveKit does: `Authorization` holds a bare HS256 JWT whose `iss`
/// is the API key, valid for 5 minutes, with a `sha256` claim that is the padded base64
/// SHA-256 of the exact body bytes. LiveKit's webhook receivers check exactly this.
public struct WebhookSigner: Sendable {
    public let apiKey: String
    let secret: String

    public init(apiKey: String, secret: String) {
        self.apiKey = apiKey
        self.secret = secret
    }

    public func authorization(for body: [UInt8], now: Int64) -> String {
        let digest = Base64.encode(Array(SHA256.hash(data: body)))
        let claims = AccessToken.claims(apiKey: apiKey, now: now, ttl: 300, video: AccessToken.VideoGrant(), sha256: digest)
        return JWT.sign(claims, secret: secret)
    }
}
