import Support

/// Everything known about one egress: what was asked, where it stands, what it produced.
public struct EgressRecord: Sendable, Codable {
    public let id: String
    public let spec: EgressSpec
    /// The request as the client sent it (secrets redacted), echoed in `EgressInfo.request`.
    public let request: EchoedRequest
    public internal(set) var roomID: String = ""
    public internal(set) var state: EgressState = .starting
    /// Unix nanoseconds.
    public internal(set) var startedAt: Int64
    public internal(set) var updatedAt: Int64
    public internal(set) var endedAt: Int64 = 0
    public internal(set) var error = ""
    public internal(set) var errorCode: Int32 = 0
    public internal(set) var details = ""
    public internal(set) var results = EgressResults()
    /// Order of creation, for listing newest first and for page tokens.
    public let sequence: UInt64

    public var status: EgressStatus { state.status }

    /// The request an egress was started with, kept to be echoed as it came: in protobuf's
    /// encoding, so that fields this server does not know (a newer client's) are kept too.
    public struct EchoedRequest: Sendable, Equatable, Codable {
        /// Which Start* request it is.
        public enum Kind: Sendable, Equatable, Hashable, Codable, CaseIterable {
            case participant, trackComposite, track, unified
        }

        public let kind: Kind
        public let encoded: [UInt8]

        public init(kind: Kind, encoded: [UInt8]) {
            self.kind = kind
            self.encoded = encoded
        }

        private enum CodingKeys: String, CodingKey { case kind, encoded }

        // The bytes as one base64 string, not an array of numbers.
        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            kind = try container.decode(Kind.self, forKey: .kind)
            guard let bytes = Base64.decode(try container.decode(String.self, forKey: .encoded)) else {
                throw DecodingError.dataCorruptedError(forKey: .encoded, in: container, debugDescription: "not base64")
            }
            encoded = bytes
        }

        public func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(kind, forKey: .kind)
            try container.encode(Base64.encode(encoded), forKey: .encoded)
        }
    }
}

extension EgressRecord {
    /// The part of a record that never changes once it is made: stored once.
    public struct Fixed: Sendable, Codable {
        let id: String
        let spec: EgressSpec
        let request: EchoedRequest
        let sequence: UInt64
        let startedAt: Int64
    }

    /// The part that every change rewrites.
    public struct Progress: Sendable, Codable {
        let roomID: String
        let state: EgressState
        let updatedAt: Int64
        let endedAt: Int64
        let error: String
        let errorCode: Int32
        let details: String
        let results: EgressResults
    }

    public var fixed: Fixed { Fixed(id: id, spec: spec, request: request, sequence: sequence, startedAt: startedAt) }

    public var progress: Progress {
        Progress(roomID: roomID, state: state, updatedAt: updatedAt, endedAt: endedAt, error: error, errorCode: errorCode,
                 details: details, results: results)
    }

    /// The record the two parts make.
    public init(_ fixed: Fixed, _ progress: Progress) {
        self.init(id: fixed.id, spec: fixed.spec, request: fixed.request, startedAt: fixed.startedAt, updatedAt: progress.updatedAt,
                  sequence: fixed.sequence)
        roomID = progress.roomID
        state = progress.state
        endedAt = progress.endedAt
        error = progress.error
        errorCode = progress.errorCode
        details = progress.details
        results = progress.results
    }
}

/// What an egress has written so far.
public struct EgressResults: Sendable, Equatable, Codable {
    public var files: [FileResult] = []
    public var streams: [StreamResult] = []
    public var segments: [SegmentsResult] = []
    public var images: [ImagesResult] = []
    public var manifestLocation = ""
    /// Outputs that failed while the others went on, each with why ("HLS rec/a.m3u8: ...").
    public var failedOutputs: [String] = []
    /// An upload failed and the local copy was kept in its place.
    public var backupStorageUsed = false

    public init() {}
}

public struct FileResult: Sendable, Equatable, Codable {
    public var filename: String
    public var location: String
    /// Bytes.
    public var size: Int64
    /// Nanoseconds of media.
    public var duration: Int64
    public var startedAt: Int64
    public var endedAt: Int64

    public init(filename: String, location: String, size: Int64 = 0, duration: Int64 = 0, startedAt: Int64 = 0, endedAt: Int64 = 0) {
        self.filename = filename
        self.location = location
        self.size = size
        self.duration = duration
        self.startedAt = startedAt
        self.endedAt = endedAt
    }
}

public struct StreamResult: Sendable, Equatable, Codable {
    public enum Status: Int32, Sendable, Codable {
        case active = 0, finished = 1, failed = 2
    }

    public var id: String
    public var url: String
    public var status: Status
    public var startedAt: Int64
    public var endedAt: Int64
    public var duration: Int64
    public var error: String
    /// Reconnections so far, and when the last one began (Unix ns).
    public var retries: UInt32 = 0
    public var lastRetryAt: Int64 = 0

    public init(id: String, url: String, status: Status = .active, startedAt: Int64 = 0, endedAt: Int64 = 0, duration: Int64 = 0, error: String = "") {
        self.id = id
        self.url = url
        self.status = status
        self.startedAt = startedAt
        self.endedAt = endedAt
        self.duration = duration
        self.error = error
    }
}

public struct SegmentsResult: Sendable, Equatable, Codable {
    public var playlistName: String
    public var livePlaylistName: String
    public var playlistLocation: String
    public var livePlaylistLocation: String
    public var duration: Int64 = 0
    public var size: Int64 = 0
    public var segmentCount: Int64 = 0
    public var startedAt: Int64 = 0
    public var endedAt: Int64 = 0

    public init(playlistName: String, livePlaylistName: String, playlistLocation: String, livePlaylistLocation: String) {
        self.playlistName = playlistName
        self.livePlaylistName = livePlaylistName
        self.playlistLocation = playlistLocation
        self.livePlaylistLocation = livePlaylistLocation
    }
}

public struct ImagesResult: Sendable, Equatable, Codable {
    public var filenamePrefix: String
    public var imageCount: Int64 = 0
    public var startedAt: Int64 = 0
    public var endedAt: Int64 = 0

    public init(filenamePrefix: String) {
        self.filenamePrefix = filenamePrefix
    }
}
