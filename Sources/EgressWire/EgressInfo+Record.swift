import APIMessages
import SessionManager

extension Livekit_EgressInfo {
    /// An egress record as the wire's `livekit.EgressInfo`: what the API answers and what the
    /// webhooks carry.
    public init(_ record: EgressRecord) {
        self.init()
        egressId = record.id
        roomId = record.roomID
        roomName = record.spec.roomName
        sourceType = .sdk
        status = .init(rawValue: record.status.rawValue)
        startedAt = record.startedAt
        endedAt = record.endedAt
        updatedAt = record.updatedAt
        request = Self.echo(record.request)
        error = record.error
        errorCode = record.errorCode
        // An output that failed while the others went on is told here (files and segments
        // have no status of their own in EgressInfo).
        details = ([record.details] + record.results.failedOutputs.map { "output failed: \($0)" })
            .filter { !$0.isEmpty }.joined(separator: "; ")
        manifestLocation = record.results.manifestLocation
        backupStorageUsed = record.results.backupStorageUsed

        let results = record.results
        fileResults = results.files.map(Livekit_FileInfo.init)
        streamResults = results.streams.map(Livekit_StreamInfo.init)
        segmentResults = results.segments.map(Livekit_SegmentsInfo.init)
        imageResults = results.images.map(Livekit_ImagesInfo.init)
        // The deprecated single result, which older clients read, when there is just one kind.
        if !fileResults.isEmpty, streamResults.isEmpty, segmentResults.isEmpty {
            result = .file(fileResults[0])
        } else if !streamResults.isEmpty, fileResults.isEmpty, segmentResults.isEmpty {
            var list = Livekit_StreamInfoList()
            list.info = streamResults
            result = .stream(list)
        } else if !segmentResults.isEmpty, fileResults.isEmpty, streamResults.isEmpty {
            result = .segments(segmentResults[0])
        }
    }

    /// The request the egress was started with, as it was stored (the API encoded it, so it decodes).
    private static func echo(_ request: EgressRecord.EchoedRequest) -> OneOf_Request? {
        switch request.kind {
        case .participant: (try? Livekit_ParticipantEgressRequest(wireBytes: request.encoded)).map(OneOf_Request.participant)
        case .trackComposite: (try? Livekit_TrackCompositeEgressRequest(wireBytes: request.encoded)).map(OneOf_Request.trackComposite)
        case .track: (try? Livekit_TrackEgressRequest(wireBytes: request.encoded)).map(OneOf_Request.track)
        case .unified: (try? Livekit_StartEgressRequest(wireBytes: request.encoded)).map(OneOf_Request.egress)
        }
    }
}

extension Livekit_FileInfo {
    init(_ file: FileResult) {
        self.init()
        filename = file.filename
        location = file.location
        size = file.size
        duration = file.duration
        startedAt = file.startedAt
        endedAt = file.endedAt
    }
}

extension Livekit_StreamInfo {
    init(_ stream: StreamResult) {
        self.init()
        id = stream.id
        url = StreamKey.redacted(stream.url)
        status = .init(rawValue: stream.status.rawValue)
        startedAt = stream.startedAt
        endedAt = stream.endedAt
        duration = stream.duration
        error = stream.error
        retries = stream.retries
        lastRetryAt = stream.lastRetryAt
    }
}

extension Livekit_SegmentsInfo {
    init(_ segments: SegmentsResult) {
        self.init()
        playlistName = segments.playlistName
        livePlaylistName = segments.livePlaylistName
        playlistLocation = segments.playlistLocation
        livePlaylistLocation = segments.livePlaylistLocation
        duration = segments.duration
        size = segments.size
        segmentCount = segments.segmentCount
        startedAt = segments.startedAt
        endedAt = segments.endedAt
    }
}

extension Livekit_ImagesInfo {
    init(_ images: ImagesResult) {
        self.init()
        filenamePrefix = images.filenamePrefix
        imageCount = images.imageCount
        startedAt = images.startedAt
        endedAt = images.endedAt
    }
}
