import Media

/// What the Egress API handlers need to know about the server.
public struct EgressAPIConfiguration: Sendable {
    /// Absolute directory every output path is confined to.
    public var outputDirectory: String
    /// What the linked FFmpeg can write; outputs it cannot are refused up front.
    public var capabilities: MediaCapabilities

    public init(outputDirectory: String, capabilities: MediaCapabilities) {
        self.outputDirectory = outputDirectory
        self.capabilities = capabilities
    }
}
