import Protobuf
import SessionManager

/// Writes an `EgressRecord` as the wire's `livekit.EgressInfo`.
public enum EgressInfoEncoder {
    public static func encode(_ record: EgressRecord) -> ProtoMessage {
        var info = ProtoMessage("livekit.EgressInfo")
        info.set("egress_id", record.id)
        info.set("room_id", record.roomID)
        info.set("room_name", record.spec.roomName)
        info.setEnum("source_type", "EGRESS_SOURCE_TYPE_SDK")
        info.setEnum("status", number: record.status.rawValue)
        info.set("started_at", record.startedAt)
        info.set("ended_at", record.endedAt)
        info.set("updated_at", record.updatedAt)
        info.set(record.request.field, record.request.message)
        info.set("error", record.error)
        info.set("error_code", record.errorCode)
        info.set("details", record.details)
        info.set("manifest_location", record.results.manifestLocation)

        let results = record.results
        let files = results.files.map(fileInfo)
        let streams = results.streams.map(streamInfo)
        let segments = results.segments.map(segmentsInfo)
        info.set("file_results", files)
        info.set("stream_results", streams)
        info.set("segment_results", segments)
        info.set("image_results", results.images.map(imagesInfo))
        // The deprecated single result, which older clients read, when there is just one kind.
        if !files.isEmpty, streams.isEmpty, segments.isEmpty {
            info.set("file", files[0])
        } else if !streams.isEmpty, files.isEmpty, segments.isEmpty {
            var list = ProtoMessage("livekit.StreamInfoList")
            list.set("info", streams)
            info.set("stream", list)
        } else if !segments.isEmpty, files.isEmpty, streams.isEmpty {
            info.set("segments", segments[0])
        }
        return info
    }

    private static func fileInfo(_ file: FileResult) -> ProtoMessage {
        var info = ProtoMessage("livekit.FileInfo")
        info.set("filename", file.filename)
        info.set("location", file.location)
        info.set("size", file.size)
        info.set("duration", file.duration)
        info.set("started_at", file.startedAt)
        info.set("ended_at", file.endedAt)
        return info
    }

    private static func streamInfo(_ stream: StreamResult) -> ProtoMessage {
        var info = ProtoMessage("livekit.StreamInfo")
        info.set("id", stream.id)
        info.set("url", Redaction.redactStreamKey(stream.url))
        info.setEnum("status", number: stream.status.rawValue)
        info.set("started_at", stream.startedAt)
        info.set("ended_at", stream.endedAt)
        info.set("duration", stream.duration)
        info.set("error", stream.error)
        return info
    }

    private static func segmentsInfo(_ segments: SegmentsResult) -> ProtoMessage {
        var info = ProtoMessage("livekit.SegmentsInfo")
        info.set("playlist_name", segments.playlistName)
        info.set("live_playlist_name", segments.livePlaylistName)
        info.set("playlist_location", segments.playlistLocation)
        info.set("live_playlist_location", segments.livePlaylistLocation)
        info.set("duration", segments.duration)
        info.set("size", segments.size)
        info.set("segment_count", segments.segmentCount)
        info.set("started_at", segments.startedAt)
        info.set("ended_at", segments.endedAt)
        return info
    }

    private static func imagesInfo(_ images: ImagesResult) -> ProtoMessage {
        var info = ProtoMessage("livekit.ImagesInfo")
        info.set("filename_prefix", images.filenamePrefix)
        info.set("image_count", images.imageCount)
        info.set("started_at", images.startedAt)
        info.set("ended_at", images.endedAt)
        return info
    }
}
