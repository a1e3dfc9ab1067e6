import SessionManager
import Media

/// What the Egress API handlers need to know about the server.
public struct EgressAPIConfiguration: Sendable {
    /// Absolute directory every output path is confined to.
    public var outputDirectory: String
    /// What the linked FFmpeg can write; outputs it cannot are refused up front.
    public var capabilities: MediaCapabilities
    /// The largest Start* request accepted (default 32 KiB). Each egress keeps its request to
    /// echo it, so this bounds what ended egresses hold; real requests are a few KiB.
    public var maxStartRequestSize: Int
    /// The server's API keys: a request's webhook may be signed with any of them.
    public var apiKeys: Set<String>
    /// The server's default storage: where the outputs of a request that names none are
    /// uploaded (LiveKit's `storage` config). nil: they stay in the output directory.
    public var defaultUpload: S3Upload?

    public init(outputDirectory: String, capabilities: MediaCapabilities, apiKeys: Set<String>, maxStartRequestSize: Int = 32 * 1024) {
        self.outputDirectory = outputDirectory
        self.capabilities = capabilities
        self.apiKeys = apiKeys
        self.maxStartRequestSize = maxStartRequestSize
    }
}
