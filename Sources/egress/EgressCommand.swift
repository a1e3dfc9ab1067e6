import APIClients
import APIMessages
import ArgumentParser
import Protobuf
import RPCClient
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
                      UpdateStream.self, ListRooms.self, ListParticipants.self, Upload.self])
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

    @Flag(help: "Call over Twirp (HTTP/1.1) instead of gRPC (HTTP/2).")
    var twirp = false

    @Flag(help: "Print the answer as JSON (the API's JSON mapping) instead of a table.")
    var json = false

    func transport() throws -> any ClientTransport {
        func env(_ name: String) -> String? { getenv(name).map { String(cString: $0) }.flatMap { $0.isEmpty ? nil : $0 } }
        guard let key = apiKey ?? env("LIVEKIT_API_KEY") else { throw ValidationError("no API key: --api-key or LIVEKIT_API_KEY") }
        guard let secret = apiSecret ?? env("LIVEKIT_API_SECRET") else { throw ValidationError("no API secret: --api-secret or LIVEKIT_API_SECRET") }
        return try APIConnection.transport(url: url ?? env("LIVEKIT_URL") ?? "http://127.0.0.1:7880", apiKey: key, apiSecret: secret,
                                           caFile: caFile, twirp: twirp)
    }

    var egress: Livekit_EgressClient {
        get throws { Livekit_EgressClient(try transport()) }
    }

    var rooms: Livekit_RoomServiceClient {
        get throws { Livekit_RoomServiceClient(try transport()) }
    }

    /// Runs a call; a failed one becomes the CLI's error (`code: message`).
    func call<Response>(_ body: () async throws -> Response) async throws -> Response {
        do {
            return try await body()
        } catch let error as RPCError {
            throw CLIError(error)
        }
    }

    /// Prints egresses as a table or JSON.
    func show(_ message: some WireMessage, egresses: [Livekit_EgressInfo]) {
        if json { return print(Output.json(message)) }
        print(Output.table(["EGRESS ID", "STATUS", "ROOM", "SOURCE", "STARTED", "RESULT"], egresses.map { info in
            let status = ProtoNames.name(of: info.status.rawValue, field: "status", in: Livekit_EgressInfo.descriptor).replacingPrefix("EGRESS_")
            let result = !info.error.isEmpty ? info.error : info.fileResults.map(\.filename).joined(separator: ", ")
            return [info.egressId, status, info.roomName, Self.source(info), Output.time(info.startedAt), result.isEmpty ? "-" : result]
        }))
    }

    private static func source(_ info: Livekit_EgressInfo) -> String {
        switch info.request {
        case .participant(let participant)?:
            "participant \(participant.identity)" + (participant.screenShare ? " (screen)" : "")
        case .trackComposite(let tracks)?:
            "tracks \([tracks.audioTrackId, tracks.videoTrackId].filter { !$0.isEmpty }.joined(separator: "+"))"
        case .track(let track)?:
            "track \(track.trackId)"
        default:
            "-"
        }
    }
}

extension String {
    func replacingPrefix(_ prefix: String) -> String {
        hasPrefix(prefix) ? String(dropFirst(prefix.count)) : self
    }
}

/// An `EncodedFileOutput` for `--file` and `--file-type`.
func encodedFile(_ path: String, type: String?) throws -> Livekit_EncodedFileOutput {
    var output = Livekit_EncodedFileOutput()
    output.filepath = path
    if let type {
        guard let number = ProtoNames.number(of: type, field: "file_type", in: Livekit_EncodedFileOutput.descriptor) else {
            throw ValidationError("--file-type \(type): use mp4, ogg or mp3")
        }
        output.fileType = .init(rawValue: number)
    }
    return output
}

/// `StreamOutput`s for `--stream` URLs, grouped by protocol (rtmp:// and rtmps://, srt://).
func streamOutputs(_ urls: [String]) throws -> [Livekit_StreamOutput] {
    var byProtocol: [(Livekit_StreamProtocol, [String])] = []
    for url in urls {
        let scheme = url.split(separator: ":").first.map { $0.lowercased() } ?? ""
        let streamProtocol: Livekit_StreamProtocol = switch scheme {
        case "rtmp", "rtmps": .rtmp
        case "srt": .srt
        default: throw ValidationError("--stream \(url): use an rtmp://, rtmps:// or srt:// URL")
        }
        if let at = byProtocol.firstIndex(where: { $0.0 == streamProtocol }) {
            byProtocol[at].1.append(url)
        } else {
            byProtocol.append((streamProtocol, [url]))
        }
    }
    return byProtocol.map { streamProtocol, urls in
        var output = Livekit_StreamOutput()
        output.protocol = streamProtocol
        output.urls = urls
        return output
    }
}

/// `--preset`'s value (any case), e.g. H264_720P_30.
func preset(_ name: String?) throws -> Livekit_EncodingOptionsPreset? {
    guard let name else { return nil }
    guard let number = ProtoNames.number(of: name, field: "preset", in: Livekit_ParticipantEgressRequest.descriptor) else {
        throw ValidationError("--preset \(name) is not an EncodingOptionsPreset (e.g. H264_720P_30)")
    }
    return .init(rawValue: number)
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
        var request = Livekit_ParticipantEgressRequest()
        request.roomName = room
        request.identity = identity
        request.screenShare = screenShare
        if let preset = try egress.preset(preset) { request.options = .preset(preset) }
        if file != nil || stream.isEmpty { request.fileOutputs = [try encodedFile(file ?? "", type: fileType)] }
        request.streamOutputs = try streamOutputs(stream)
        let client = try connection.egress
        let info = try await connection.call { try await client.startParticipantEgress(request) }
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
        var request = Livekit_TrackCompositeEgressRequest()
        request.roomName = room
        request.audioTrackId = audio ?? ""
        request.videoTrackId = video ?? ""
        if let preset = try egress.preset(preset) { request.options = .preset(preset) }
        request.fileOutputs = [try encodedFile(file ?? "", type: fileType)]
        let client = try connection.egress
        let info = try await connection.call { try await client.startTrackCompositeEgress(request) }
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
        var request = Livekit_TrackEgressRequest()
        request.roomName = room
        request.trackId = track
        var output = Livekit_DirectFileOutput()
        output.filepath = file
        request.output = .file(output)
        let client = try connection.egress
        let info = try await connection.call { try await client.startTrackEgress(request) }
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
        var request = Livekit_ListEgressRequest()
        request.roomName = room ?? ""
        request.egressId = id ?? ""
        request.active = active
        let client = try connection.egress
        let response = try await connection.call { try await client.listEgress(request) }
        connection.show(response, egresses: response.items)
    }
}

struct Stop: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "stop", abstract: "Stop an egress; it finishes its files and completes.")
    @OptionGroup var connection: Connection
    @Argument(help: "Egress id (EG_…).") var egressID: String

    func run() async throws {
        var request = Livekit_StopEgressRequest()
        request.egressId = egressID
        let client = try connection.egress
        let info = try await connection.call { try await client.stopEgress(request) }
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
        var request = Livekit_UpdateStreamRequest()
        request.egressId = egressID
        request.addOutputUrls = add
        request.removeOutputUrls = remove
        let client = try connection.egress
        let info = try await connection.call { try await client.updateStream(request) }
        if connection.json { return print(Output.json(info)) }
        print(Output.table(["URL", "STATUS"], info.streamResults.map { result in
            [result.url, ProtoNames.name(of: result.status.rawValue, field: "status", in: Livekit_StreamInfo.descriptor)]
        }))
    }
}

struct ListRooms: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list-rooms", abstract: "List rooms.")
    @OptionGroup var connection: Connection
    @Argument(help: "Only these rooms.") var names: [String] = []

    func run() async throws {
        var request = Livekit_ListRoomsRequest()
        request.names = names
        let client = try connection.rooms
        let response = try await connection.call { try await client.listRooms(request) }
        if connection.json { return print(Output.json(response)) }
        print(Output.table(["NAME", "SID", "PARTICIPANTS", "CREATED"], response.rooms.map { room in
            [room.name, room.sid, String(room.numParticipants), Output.time(room.creationTime * 1_000_000_000)]
        }))
    }
}

struct ListParticipants: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list-participants", abstract: "List a room's participants and their tracks.")
    @OptionGroup var connection: Connection
    @Option(help: "Room name.") var room: String

    func run() async throws {
        var request = Livekit_ListParticipantsRequest()
        request.room = room
        let client = try connection.rooms
        let response = try await connection.call { try await client.listParticipants(request) }
        if connection.json { return print(Output.json(response)) }
        print(Output.table(["IDENTITY", "SID", "STATE", "TRACKS"], response.participants.map { participant in
            let tracks = participant.tracks.map { track in
                let source = ProtoNames.name(of: track.source.rawValue, field: "source", in: Livekit_TrackInfo.descriptor).lowercased()
                return "\(track.sid) \(source)\(track.muted ? " (muted)" : "")"
            }
            let state = ProtoNames.name(of: participant.state.rawValue, field: "state", in: Livekit_ParticipantInfo.descriptor)
            return [participant.identity, participant.sid, state, tracks.isEmpty ? "-" : tracks.joined(separator: ", ")]
        }))
    }
}
