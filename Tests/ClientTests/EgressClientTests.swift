import APIClients
import APIMessages
import GRPCWire
import RPCClient
import Testing

/// The Swift client library against the server, in process: every method of every service, over
/// gRPC and over Twirp, each call signed with a token made from the API key.
@Suite(.serialized, .timeLimit(.minutes(1))) struct EgressClientTests {
    func withServer(_ body: (RunningServer, GRPCClient) async throws -> Void) async throws {
        let server = try await RunningServer()
        let client = try GRPCClient(configuration: GRPCClientConfiguration(host: "127.0.0.1", port: server.port),
                                    tokens: APIKeyTokens(apiKey: RunningServer.key, secret: RunningServer.secret))
        do {
            try await body(server, client)
        } catch {
            await client.close()
            await server.stop()
            throw error
        }
        await client.close()
        await server.stop()
    }

    /// The status a call ends with (OK when it succeeds).
    func status(_ call: () async throws -> Void) async -> StatusCode {
        do {
            try await call()
            return .ok
        } catch let error as RPCError {
            return error.code
        } catch {
            Issue.record("not an RPCError: \(error)")
            return .unknown
        }
    }

    @Test func everyEgressMethodOverGRPC() async throws {
        try await withServer { _, client in
            let egress = Livekit_EgressClient(client)
            var request = Livekit_ParticipantEgressRequest()
            request.roomName = "lobby"
            request.identity = "alice"
            var file = Livekit_EncodedFileOutput()
            file.filepath = "{room_name}/{publisher_identity}.mp4"
            request.fileOutputs = [file]
            let started = try await egress.startParticipantEgress(request)
            #expect(started.status == .egressStarting)
            #expect(started.roomName == "lobby")
            #expect(started.participant.identity == "alice", "the request is echoed")

            var list = Livekit_ListEgressRequest()
            list.roomName = "lobby"
            let listed = try await egress.listEgress(list)
            #expect(listed.items.map(\.egressId) == [started.egressId])

            var update = Livekit_UpdateStreamRequest()
            update.egressId = started.egressId
            #expect(await status { _ = try await egress.updateStream(update) } == .invalidArgument)

            var stop = Livekit_StopEgressRequest()
            stop.egressId = started.egressId
            let stopped = try await egress.stopEgress(stop)
            #expect([.egressEnding, .egressComplete, .egressFailed, .egressAborted].contains(stopped.status))
            #expect(await status { _ = try await egress.stopEgress(stop) } == .failedPrecondition)
            stop.egressId = "EG_unknown"
            #expect(await status { _ = try await egress.stopEgress(stop) } == .notFound)

            var composite = Livekit_TrackCompositeEgressRequest()
            composite.roomName = "lobby"
            composite.audioTrackId = "TR_audio"
            var ogg = Livekit_EncodedFileOutput()
            ogg.filepath = "a.ogg"
            composite.fileOutputs = [ogg]
            #expect(try await egress.startTrackCompositeEgress(composite).trackComposite.audioTrackId == "TR_audio")

            var track = Livekit_TrackEgressRequest()
            track.roomName = "lobby"
            track.trackId = "TR_video"
            var direct = Livekit_DirectFileOutput()
            direct.filepath = "t/"
            track.output = .file(direct)
            #expect(try await egress.startTrackEgress(track).track.trackId == "TR_video")

            var unified = Livekit_StartEgressRequest()
            unified.roomName = "lobby"
            var media = Livekit_MediaSource()
            media.video = .videoTrackId("TR_video")
            unified.source = .media(media)
            var output = Livekit_Output()
            var plain = Livekit_FileOutput()
            plain.filepath = "u.mp4"
            output.config = .file(plain)
            unified.outputs = [output]
            #expect(try await egress.startEgress(unified).egress.roomName == "lobby")

            #expect(await status { _ = try await egress.startRoomCompositeEgress(Livekit_RoomCompositeEgressRequest()) } == .unimplemented)
            #expect(await status { _ = try await egress.startWebEgress(Livekit_WebEgressRequest()) } == .unimplemented)
            #expect(await status { _ = try await egress.updateLayout(Livekit_UpdateLayoutRequest()) } == .unimplemented)
            var invalid = request
            invalid.identity = ""
            await #expect(throws: RPCError.invalidArgument("request has missing or invalid field: identity")) {
                _ = try await egress.startParticipantEgress(invalid)
            }
        }
    }

    @Test func everyRoomAndIngestMethodOverGRPC() async throws {
        try await withServer { _, client in
            let rooms = Livekit_RoomServiceClient(client)
            let ingest = Egress_Ingest_RoomIngestClient(client)
            var join = Egress_Ingest_JoinRoomRequest()
            join.room = "stage"
            join.identity = "ann"
            join.name = "Ann"
            _ = try await ingest.joinRoom(join)

            var publish = Egress_Ingest_PublishTrackRequest()
            publish.room = "stage"
            publish.identity = "ann"
            publish.type = .audio
            publish.source = .microphone
            publish.codec = .opus
            publish.payloadType = 111
            let track = try #require(try await ingest.publishTrack(publish).track)
            #expect(track.sid.hasPrefix("TR_"))

            var muted = Egress_Ingest_SetTrackMutedRequest()
            muted.room = "stage"
            muted.identity = "ann"
            muted.trackSid = track.sid
            muted.muted = true
            _ = try await ingest.setTrackMuted(muted)
            var alive = Egress_Ingest_KeepAliveRequest()
            alive.room = "stage"
            alive.identity = "ann"
            _ = try await ingest.keepAlive(alive)
            var stats = Egress_Ingest_GetIngestStatsRequest()
            stats.room = "stage"
            #expect(try await ingest.getIngestStats(stats).tracks.map(\.trackSid) == [track.sid])

            #expect(try await rooms.listRooms(Livekit_ListRoomsRequest()).rooms.map(\.name) == ["stage"])
            var participants = Livekit_ListParticipantsRequest()
            participants.room = "stage"
            #expect(try await rooms.listParticipants(participants).participants.map(\.identity) == ["ann"])
            var who = Livekit_RoomParticipantIdentity()
            who.room = "stage"
            who.identity = "ann"
            #expect(try await rooms.getParticipant(who).tracks.first?.muted == true)
            var mute = Livekit_MuteRoomTrackRequest()
            mute.room = "stage"
            mute.identity = "ann"
            mute.trackSid = track.sid
            mute.muted = false
            #expect(try await rooms.mutePublishedTrack(mute).track?.muted == false)

            var unpublish = Egress_Ingest_UnpublishTrackRequest()
            unpublish.room = "stage"
            unpublish.identity = "ann"
            unpublish.trackSid = track.sid
            _ = try await ingest.unpublishTrack(unpublish)
            var leave = Egress_Ingest_LeaveRoomRequest()
            leave.room = "stage"
            leave.identity = "ann"
            _ = try await ingest.leaveRoom(leave)
            #expect(await status { _ = try await rooms.getParticipant(who) } == .notFound)

            _ = try await ingest.joinRoom(join)
            var other = join
            other.identity = "bob"
            _ = try await ingest.joinRoom(other)
            _ = try await rooms.removeParticipant(who)
            #expect(try await rooms.listParticipants(participants).participants.map(\.identity) == ["bob"])
            var delete = Livekit_DeleteRoomRequest()
            delete.room = "stage"
            _ = try await rooms.deleteRoom(delete)
            #expect(await status { _ = try await rooms.listParticipants(participants) } == .notFound)
        }
    }

    @Test func healthIncludingItsStream() async throws {
        try await withServer { _, client in
            let health = Grpc_Health_V1_HealthClient(client)
            #expect(try await health.check(Grpc_Health_V1_HealthCheckRequest()).status == .serving)
            var unknown = Grpc_Health_V1_HealthCheckRequest()
            unknown.service = "nope"
            await #expect(throws: RPCError.notFound("unknown service nope")) { _ = try await health.check(unknown) }
            #expect(try await health.list(Grpc_Health_V1_HealthListRequest()).statuses["livekit.Egress"]?.status == .serving)
            var watch = Grpc_Health_V1_HealthCheckRequest()
            watch.service = "livekit.Egress"
            for try await status in try await health.watch(watch) {
                #expect(status.status == .serving)
                break  // ending the iteration cancels the call
            }
        }
    }

    /// The same stubs over Twirp: the same answers and the same error statuses.
    @Test func theSameCallsOverTwirp() async throws {
        try await withServer { server, _ in
            let twirp = try TwirpClient(url: "http://127.0.0.1:\(server.port)",
                                        tokens: APIKeyTokens(apiKey: RunningServer.key, secret: RunningServer.secret))
            let egress = Livekit_EgressClient(twirp)
            #expect(try await egress.listEgress(Livekit_ListEgressRequest()).items.isEmpty)
            var stop = Livekit_StopEgressRequest()
            stop.egressId = "EG_unknown"
            await #expect(throws: RPCError.notFound("egress EG_unknown not found")) { _ = try await egress.stopEgress(stop) }
            let rooms = Livekit_RoomServiceClient(twirp)
            #expect(try await rooms.listRooms(Livekit_ListRoomsRequest()).rooms.isEmpty)
            let health = Grpc_Health_V1_HealthClient(twirp)
            #expect(await status { for try await _ in try await health.watch(Grpc_Health_V1_HealthCheckRequest()) {} } == .unimplemented)
        }
    }

    /// Without a token source the server refuses the call; with the wrong secret too.
    @Test func callsAreSigned() async throws {
        try await withServer { server, _ in
            let anonymous = try GRPCClient(configuration: GRPCClientConfiguration(host: "127.0.0.1", port: server.port))
            #expect(await status { _ = try await Livekit_EgressClient(anonymous).listEgress(Livekit_ListEgressRequest()) } == .unauthenticated)
            let forged = try GRPCClient(configuration: GRPCClientConfiguration(host: "127.0.0.1", port: server.port),
                                        tokens: APIKeyTokens(apiKey: RunningServer.key, secret: "not-the-secret-not-the-secret-0000"))
            #expect(await status { _ = try await Livekit_EgressClient(forged).listEgress(Livekit_ListEgressRequest()) } == .unauthenticated)
            await anonymous.close()
            await forged.close()
        }
    }
}
