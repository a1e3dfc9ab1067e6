/// Where a finished file is uploaded: an S3 bucket (AWS, or S3-compatible storage such as
/// MinIO or R2 at `endpoint`), with LiveKit's `S3Upload` fields.
public struct S3Upload: Sendable, Equatable, Codable {
    public var accessKey: String
    public var secret: String
    public var sessionToken: String
    /// AWS region, for the signature (default `us-east-1`).
    public var region: String
    /// `https://host[:port]` of S3-compatible storage; empty: AWS.
    public var endpoint: String
    public var bucket: String
    /// `endpoint/bucket/key` instead of `bucket.endpoint/key`.
    public var forcePathStyle: Bool
    /// `x-amz-meta-*` headers.
    public var metadata: [String: String]
    /// `x-amz-tagging`: `key1=value1&key2=value2`.
    public var tagging: String
    public var contentDisposition: String

    /// Limits on what a request may give.
    public static let maxMetadata = 32
    public static let maxFieldLength = 1024
    /// The longest bucket name (GCS allows 222 with dots; S3 63).
    public static let maxBucketLength = 222

    /// What is wrong with an access key or a region that would make every signature wrong: a
    /// colon in the key (the signer takes `key:secret`), a region other than letters, digits,
    /// `-` and `_` (it goes into `aws:amz:<region>:s3`). Nil when nothing is.
    public static func problem(accessKey: String, region: String) -> String? {
        if accessKey.contains(":") { return "the access key has a colon, which no access key has" }
        let allowed = { (c: Unicode.Scalar) in ("a"..."z").contains(c) || ("A"..."Z").contains(c) || ("0"..."9").contains(c) || c == "-" || c == "_" }
        if !region.unicodeScalars.allSatisfy(allowed) {
            return "the region \(region.debugDescription) is not a region name (letters, digits, - and _)"
        }
        return nil
    }

    public init(accessKey: String, secret: String, sessionToken: String = "", region: String = "", endpoint: String = "",
                bucket: String, forcePathStyle: Bool = false, metadata: [String: String] = [:], tagging: String = "",
                contentDisposition: String = "") {
        self.accessKey = accessKey
        self.secret = secret
        self.sessionToken = sessionToken
        self.region = region
        self.endpoint = endpoint
        self.bucket = bucket
        self.forcePathStyle = forcePathStyle
        self.metadata = metadata
        self.tagging = tagging
        self.contentDisposition = contentDisposition
    }
}

