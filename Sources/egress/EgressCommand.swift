import ArgumentParser
import Auth
import Protobuf
#if canImport(Glibc)
import Glibc
#endif

/// `egress`: drives an egress server (or LiveKit) from the shell, over the API with a token made
/// from the API key and secret.
@main
struct EgressCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "egress",
        abstract: "Start, list, stop and update egresses, and list rooms and participants.",
        subcommands: [StartParticipant.self, StartTrackComposite.self, StartTrack.self, List.self, Stop.self,
                      UpdateStream.self, ListRooms.self, ListParticipants.self])
}

/// The server and the credentials, shared by every subcommand.
struct Connection: ParsableArguments {
    @Option(help: "Server URL. [LIVEKIT_URL, default http://127.0.0.1:7880]")
    var url: String?

    @Option(help: "API key. [LIVEKIT_API_KEY]")
    var apiKey: String?

    @Option(help: "API secret. [LIVEKIT_API_SECRET]")
    var apiSecret: String?

    @Option(help: "PEM file of the certificates to trust for https (e.g. a self-signed server's).")
    var caFile: String?

    @Flag(help: "Print the answer as JSON (the API's JSON mapping) instead of a table.")
    var json = false

    func client() throws -> APIClient {
        func env(_ name: String) -> String? { getenv(name).map { String(cString: $0) }.flatMap { $0.isEmpty ? nil : $0 } }
        guard let key = apiKey ?? env("LIVEKIT_API_KEY") else { throw ValidationError("no API key: --api-key or LIVEKIT_API_KEY") }
        guard let secret = apiSecret ?? env("LIVEKIT_API_SECRET") else { throw ValidationError("no API secret: --api-secret or LIVEKIT_API_SECRET") }
        return try APIClient(url: url ?? env("LIVEKIT_URL") ?? "http://127.0.0.1:7880", apiKey: key, apiSecret: secret, caFile: caFile)
    }

    /// Prints egresses as a table or JSON.
    func show(_ message: ProtoMessage, egresses: [ProtoMessage]) {
        if json { return print(Output.json(message)) }
        print(Output.table(["EGRESS ID", "STATUS", "ROOM", "SOURCE", "STARTED", "RESULT"], egresses.map { info in
            let status = info.enumName("status").replacingPrefix("EGRESS_")
            let result = !info.string("error").isEmpty ? info.string("error")
                : info.messages("file_results").map { $0.string("filename") }.joined(separator: ", ")
            return [info.string("egress_id"), status, info.string("room_name"), Self.source(info), Output.time(info.int64("started_at")),
                    result.isEmpty ? "-" : result]
        }))
    }

    private static func source(_ info: ProtoMessage) -> String {
        if let participant = info.message("participant"), info.oneofCase(containing: "participant") == "participant" {
            return "participant \(participant.string("identity"))" + (participant.bool("screen_share") ? " (screen)" : "")
        }
        if let tracks = info.message("track_composite"), info.oneofCase(containing: "track_composite") == "track_composite" {
            return "tracks \([tracks.string("audio_track_id"), tracks.string("video_track_id")].filter { !$0.isEmpty }.joined(separator: "+"))"
        }
        if let track = info.message("track"), info.oneofCase(containing: "track") == "track" {
            return "track \(track.string("track_id"))"
        }
        return "-"
    }
}

extension String {
    func replacingPrefix(_ prefix: String) -> String {
        hasPrefix(prefix) ? String(dropFirst(prefix.count)) : self
    }
}

let recordGrant: AccessToken.VideoGrant = {
    var grant = AccessToken.VideoGrant()
    grant.roomRecord = true
    return grant
}()

/// An `EncodedFileOutput` for `--file` and `--file-type`.
func encodedFile(_ path: String, type: String?) throws -> ProtoMessage {
    var output = ProtoMessage("livekit.EncodedFileOutput")
    output.set("filepath", path)
    if let type {
        guard let number = output.descriptor.field(named: "file_type")!.enumType.number(named: type.uppercased()) else {
            throw ValidationError("--file-type \(type): use mp4, ogg or mp3")
        }
        output.setEnum("file_type", number: number)
    }
    return output
}

/// `StreamOutput`s for `--stream` URLs, grouped by protocol (rtmp:// and rtmps://, srt://).
func streamOutputs(_ urls: [String]) throws -> [ProtoMessage] {
    var byProtocol: [(String, [String])] = []
    for url in urls {
        let scheme = url.split(separator: ":").first.map { $0.lowercased() } ?? ""
        let name = switch scheme {
        case "rtmp", "rtmps": "RTMP"
        case "srt": "SRT"
        default: throw ValidationError("--stream \(url): use an rtmp://, rtmps:// or srt:// URL")
        }
        if let at = byProtocol.firstIndex(where: { $0.0 == name }) { byProtocol[at].1.append(url) } else { byProtocol.append((name, [url])) }
    }
    return byProtocol.map { name, urls in
        var output = ProtoMessage("livekit.StreamOutput")
        output.setEnum("protocol", name)
        output.set("urls", urls)
        return output
    }
}

func preset(_ name: String?, into request: inout ProtoMessage) throws {
    guard let name else { return }
    guard let number = request.descriptor.field(named: "preset")!.enumType.number(named: name.uppercased()) else {
        throw ValidationError("--preset \(name) is not an EncodingOptionsPreset (e.g. H264_720P_30)")
    }
    request.setEnum("preset", number: number)
}

struct StartParticipant: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "start-participant", abstract: "Record one participant's camera and microphone (or screen share).")
    @OptionGroup var connection: Connection
    @Option(help: "Room name.") var room: String
    @Option(help: "Participant identity.") var identity: String
    @Flag(help: "Record the screen share and its audio instead of the camera.") var screenShare = false
    @Option(help: "Encoding preset, e.g. H264_720P_30 (the default) or H264_1080P_30.") var preset: String?
    @Option(help: "File path (templates: {room_name} {publisher_identity} {time} …).") var file: String?
    @Option(help: "mp4, ogg or mp3 (default: mp4 with video, ogg for audio only).") var fileType: String?
    @Option(help: "An rtmp:// or srt:// URL to stream to; repeatable.") var stream: [String] = []

    func run() async throws {
        var request = ProtoMessage("livekit.ParticipantEgressRequest")
        request.set("room_name", room)
        request.set("identity", identity)
        request.set("screen_share", screenShare)
        try egress.preset(preset, into: &request)
        if file != nil || stream.isEmpty { request.set("file_outputs", [try encodedFile(file ?? "", type: fileType)]) }
        request.set("stream_outputs", try streamOutputs(stream))
        let info = try await connection.client().call("livekit.Egress", "StartParticipantEgress", request, grant: recordGrant)
        connection.show(info, egresses: [info])
    }
}

struct StartTrackComposite: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "start-track-composite", abstract: "Record one audio and one video track together.")
    @OptionGroup var connection: Connection
    @Option(help: "Room name.") var room: String
    @Option(help: "Audio track id (TR_…).") var audio: String?
    @Option(help: "Video track id (TR_…).") var video: String?
    @Option(help: "Encoding preset.") var preset: String?
    @Option(help: "File path.") var file: String?
    @Option(help: "mp4, ogg or mp3.") var fileType: String?

    func run() async throws {
        guard audio != nil || video != nil else { throw ValidationError("give --audio, --video or both") }
        var request = ProtoMessage("livekit.TrackCompositeEgressRequest")
        request.set("room_name", room)
        request.set("audio_track_id", audio ?? "")
        request.set("video_track_id", video ?? "")
        try egress.preset(preset, into: &request)
        request.set("file_outputs", [try encodedFile(file ?? "", type: fileType)])
        let info = try await connection.client().call("livekit.Egress", "StartTrackCompositeEgress", request, grant: recordGrant)
        connection.show(info, egresses: [info])
    }
}

struct StartTrack: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "start-track", abstract: "Record one track as it is sent, without transcoding.")
    @OptionGroup var connection: Connection
    @Option(help: "Room name.") var room: String
    @Option(help: "Track id (TR_…).") var track: String
    @Option(help: "File path (templates: {track_id} {track_type} …).") var file: String = ""

    func run() async throws {
        var request = ProtoMessage("livekit.TrackEgressRequest")
        request.set("room_name", room)
        request.set("track_id", track)
        var output = ProtoMessage("livekit.DirectFileOutput")
        output.set("filepath", file)
        request.set("file", output)
        let info = try await connection.client().call("livekit.Egress", "StartTrackEgress", request, grant: recordGrant)
        connection.show(info, egresses: [info])
    }
}

struct List: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List egresses, newest first.")
    @OptionGroup var connection: Connection
    @Option(help: "Only this room's.") var room: String?
    @Option(help: "Only this egress.") var id: String?
    @Flag(help: "Only egresses that have not ended.") var active = false

    func run() async throws {
        var request = ProtoMessage("livekit.ListEgressRequest")
        request.set("room_name", room ?? "")
        request.set("egress_id", id ?? "")
        request.set("active", active)
        let response = try await connection.client().call("livekit.Egress", "ListEgress", request, grant: recordGrant)
        connection.show(response, egresses: response.messages("items"))
    }
}

struct Stop: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "stop", abstract: "Stop an egress; it finishes its files and completes.")
    @OptionGroup var connection: Connection
    @Argument(help: "Egress id (EG_…).") var egressID: String

    func run() async throws {
        var request = ProtoMessage("livekit.StopEgressRequest")
        request.set("egress_id", egressID)
        let info = try await connection.client().call("livekit.Egress", "StopEgress", request, grant: recordGrant)
        connection.show(info, egresses: [info])
    }
}

struct UpdateStream: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "update-stream", abstract: "Add or remove stream URLs of a live egress.")
    @OptionGroup var connection: Connection
    @Argument(help: "Egress id (EG_…).") var egressID: String
    @Option(help: "URL to start streaming to; repeatable.") var add: [String] = []
    @Option(help: "URL to stop streaming to; repeatable.") var remove: [String] = []

    func run() async throws {
        guard !add.isEmpty || !remove.isEmpty else { throw ValidationError("give --add, --remove or both") }
        var request = ProtoMessage("livekit.UpdateStreamRequest")
        request.set("egress_id", egressID)
        request.set("add_output_urls", add)
        request.set("remove_output_urls", remove)
        let info = try await connection.client().call("livekit.Egress", "UpdateStream", request, grant: recordGrant)
        if connection.json { return print(Output.json(info)) }
        print(Output.table(["URL", "STATUS"], info.messages("stream_results").map { [$0.string("url"), $0.enumName("status")] }))
    }
}

struct ListRooms: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list-rooms", abstract: "List rooms.")
    @OptionGroup var connection: Connection
    @Argument(help: "Only these rooms.") var names: [String] = []

    func run() async throws {
        var request = ProtoMessage("livekit.ListRoomsRequest")
        request.set("names", names)
        var grant = AccessToken.VideoGrant()
        grant.roomList = true
        let response = try await connection.client().call("livekit.RoomService", "ListRooms", request, grant: grant)
        if connection.json { return print(Output.json(response)) }
        print(Output.table(["NAME", "SID", "PARTICIPANTS", "CREATED"], response.messages("rooms").map { room in
            [room.string("name"), room.string("sid"), String(room.uint32("num_participants")), Output.time(room.int64("creation_time") * 1_000_000_000)]
        }))
    }
}

struct ListParticipants: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list-participants", abstract: "List a room's participants and their tracks.")
    @OptionGroup var connection: Connection
    @Option(help: "Room name.") var room: String

    func run() async throws {
        var request = ProtoMessage("livekit.ListParticipantsRequest")
        request.set("room", room)
        var grant = AccessToken.VideoGrant()
        grant.roomAdmin = true
        grant.room = room
        let response = try await connection.client().call("livekit.RoomService", "ListParticipants", request, grant: grant)
        if connection.json { return print(Output.json(response)) }
        print(Output.table(["IDENTITY", "SID", "STATE", "TRACKS"], response.messages("participants").map { participant in
            let tracks = participant.messages("tracks").map { track in
                "\(track.string("sid")) \(track.enumName("source").lowercased())\(track.bool("muted") ? " (muted)" : "")"
            }
            return [participant.string("identity"), participant.string("sid"), participant.enumName("state"), tracks.isEmpty ? "-" : tracks.joined(separator: ", ")]
        }))
    }
}
