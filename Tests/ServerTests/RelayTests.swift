import APIMessages
import Foundation
import Rooms
import RTP
@testable import Server
import Testing

/// The relay between nodes: what the room's node sends comes back as the hub had it, anything
/// malformed is refused naming what, and the sender keeps only the frames asked for, up to its
/// byte limit.
@Suite struct RelayTests {
    func track(_ sid: String, _ identity: String, _ kind: TrackKind = .video, muted: Bool = false) -> HubTrack {
        HubTrack(sid: sid, room: "r", roomSID: "RM_r", participantIdentity: identity, participantSID: "PA_\(identity)", participantKind: 2,
                 name: "cam", kind: kind, source: kind == .video ? .camera : .microphone, codec: kind == .video ? .vp8 : .opus,
                 payloadType: 111, clockRate: kind == .video ? 90_000 : 48_000, ssrc: 0xDEAD_BEEF, stereo: kind == .audio, muted: muted)
    }

    func participant(_ identity: String, tracks: [HubTrack]) -> HubParticipant {
        HubParticipant(sid: "PA_\(identity)", identity: identity, name: "N \(identity)", kind: 2, metadata: "{\"m\":1}",
                       joinedAt: 1_700_000_000_000_000_000, state: .active, tracks: tracks)
    }

    func frame(_ sid: String, bytes: Int = 3) -> MediaFrame {
        MediaFrame(trackSID: sid, codec: .vp8, frame: EncodedFrame(data: [UInt8](repeating: 7, count: bytes), timestamp: 1 << 40, isKeyframe: true,
                                                                  followsLoss: true),
                   captureTime: -5, synchronized: true)
    }

    /// Through the wire and back.
    func relayed(_ message: Egress_Cluster_RelayMessage) throws -> RelayMessages.Item {
        try RelayMessages.item(Egress_Cluster_RelayMessage(wireBytes: message.wireBytes()))
    }

    @Test func aRoomItsEventsAndFramesComeBackAsTheHubHadThem() throws {
        let alice = participant("alice", tracks: [track("TR_v", "alice"), track("TR_a", "alice", .audio, muted: true)])
        let room = HubRoom(sid: "RM_r", name: "r", createdAt: 42, participants: [alice, participant("bob", tracks: [])])
        guard case .room(let back?) = try relayed(RelayMessages.message(room)) else { Issue.record("not a room"); return }
        #expect(back == HubRoom(sid: room.sid, name: room.name, createdAt: room.createdAt, participants: room.participants))
        guard case .room(nil) = try relayed(RelayMessages.message(nil as HubRoom?)) else { Issue.record("an absent room came back"); return }

        let events: [RoomEvent] = [.participantJoined(alice), .trackPublished(track("TR_v", "alice")), .trackMuteChanged(track("TR_a", "alice", .audio)),
                                   .trackUnpublished(track("TR_v", "alice")), .participantLeft(alice, reason: "gone"), .roomDeleted("r")]
        for event in events {
            guard case .event(let back) = try relayed(RelayMessages.message(event)) else { Issue.record("not an event"); continue }
            #expect("\(back)" == "\(event)")
        }
        guard case .frame(let back) = try relayed(RelayMessages.message(frame("TR_v", bytes: 1000))) else { Issue.record("not a frame"); return }
        #expect(back.trackSID == "TR_v" && back.codec == .vp8 && back.frame.data == [UInt8](repeating: 7, count: 1000))
        #expect(back.frame.timestamp == 1 << 40 && back.frame.isKeyframe && back.frame.followsLoss)
        #expect(back.captureTime == -5 && back.synchronized)
    }

    @Test func aMalformedMessageIsRefusedNamingWhatIsWrong() throws {
        func refusal(_ change: (inout Egress_Cluster_RelayTrack) -> Void) -> String {
            var bad = RelayMessages.track(track("TR_v", "alice"))
            change(&bad)
            do {
                _ = try RelayMessages.track(bad)
                return "accepted"
            } catch {
                return error.description
            }
        }
        #expect(refusal { $0.codec = "H265" } == "track TR_v's codec 'H265' is unknown")
        #expect(refusal { $0.codec = "opus" } == "track TR_v is video but its codec is opus")
        #expect(refusal { $0.kind = 7 } == "track TR_v's kind 7 is unknown")
        #expect(refusal { $0.source = -1 } == "track TR_v's source -1 is unknown")
        #expect(refusal { $0.payloadType = 200 } == "track TR_v's payload type 200 is over 127")
        #expect(refusal { $0.clockRate = 0 } == "track TR_v's clock rate 0 is out of range")

        var state = RelayMessages.participant(participant("alice", tracks: []))
        state.state = 9
        #expect(throws: RelayMessages.Invalid.self) { try RelayMessages.participant(state) }
        #expect(throws: RelayMessages.Invalid.self) { try RelayMessages.item(Egress_Cluster_RelayMessage()) }
        var left = Egress_Cluster_RelayEvent()
        left.participantLeft = Egress_Cluster_RelayParticipantLeft()
        #expect(throws: RelayMessages.Invalid.self) { try RelayMessages.event(left) }
        // The hub's limits hold for what a room's node relays: a peer that breaks them is refused.
        let limits = RelayMessages.Limits(maxParticipants: 2, maxTracksPerParticipant: 1, maxNameLength: 16, maxMetadataLength: 8)
        var crowded = RelayMessages.message(HubRoom(sid: "RM_r", name: "r", createdAt: 0, participants: ["a", "b", "c"].map { participant($0, tracks: []) })).room
        #expect(throws: RelayMessages.Invalid.self) { try RelayMessages.room(crowded, limits: limits) }
        crowded.participants.removeLast()
        crowded.participants[0].metadata = ""
        crowded.participants[1].metadata = ""
        #expect(try RelayMessages.room(crowded, limits: limits)?.participants.count == 2)
        var busy = RelayMessages.participant(participant("a", tracks: [track("TR_1", "a"), track("TR_2", "a", .audio)]))
        busy.metadata = ""
        #expect(throws: RelayMessages.Invalid.self) { try RelayMessages.participant(busy, limits: limits) }
        var chatty = RelayMessages.participant(participant("a", tracks: []))
        chatty.metadata = String(repeating: "m", count: 9)
        #expect(throws: RelayMessages.Invalid.self) { try RelayMessages.participant(chatty, limits: limits) }
        var named = RelayMessages.participant(participant("a", tracks: []))
        (named.metadata, named.identity) = ("", String(repeating: "i", count: 17))
        #expect(throws: RelayMessages.Invalid.self) { try RelayMessages.participant(named, limits: limits) }
        var frame = RelayMessages.message(frame("TR_v")).frame
        frame.codec = "mp3"
        #expect(throws: RelayMessages.Invalid.self) { try RelayMessages.frame(frame) }
    }

    /// What the sender hands its writer, in order, until the stream ends or `count` came.
    func drain(_ sender: RelaySender, _ count: Int = .max) async -> [String] {
        var seen: [String] = []
        for await item in sender.items {
            switch item {
            case .event(.trackPublished(let track)): seen.append("published \(track.sid)")
            case .event(.trackUnpublished(let track)): seen.append("unpublished \(track.sid)")
            case .event(let event): seen.append("event \(event)")
            case .frame(let frame): seen.append("frame \(frame.trackSID)")
            case .overflow: seen.append("overflow")
            }
            if seen.count == count { break }
        }
        return seen
    }

    @Test func theSenderKeepsTheFramesOfTheParticipantAskedForAndTheTracksItPublishesLater() async {
        let sender = RelaySender(interest: .participant("alice"), limit: 1 << 20)
        sender.handle(frame("TR_bob"))  // before the snapshot: every frame goes (the follower drops it)
        sender.started(with: HubRoom(sid: "RM_r", name: "r", createdAt: 0, participants: [
            participant("alice", tracks: [track("TR_a1", "alice")]), participant("bob", tracks: [track("TR_bob", "bob")]),
        ]))
        sender.handle(frame("TR_a1"))
        sender.handle(frame("TR_bob"))
        sender.handle(frame("TR_a2"))  // not published yet
        sender.handle(.trackPublished(track("TR_a2", "alice", .audio)))
        sender.handle(frame("TR_a2"))
        sender.handle(.trackUnpublished(track("TR_a1", "alice")))
        sender.handle(frame("TR_a1"))
        sender.handle(.roomDeleted("r"))
        // The limit: frames waiting for the writer past it end the stream.
        let small = RelaySender(interest: .all, limit: 100)
        small.handle(frame("x", bytes: 60))
        small.sent(60)
        small.handle(frame("x", bytes: 60))
        small.handle(frame("x", bytes: 60))  // 120 waiting: over
        small.handle(frame("x", bytes: 1))  // nothing after the end (a fourth item would be there without it)
        let (seen, seenSmall) = (await drain(sender, 6), await drain(small, 4))
        #expect(seen == ["frame TR_bob", "frame TR_a1", "published TR_a2", "frame TR_a2", "unpublished TR_a1",
                         "event roomDeleted(\"r\")"])
        #expect(seenSmall == ["frame x", "frame x", "overflow"])
    }
}
