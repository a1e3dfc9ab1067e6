import Foundation
import Logging
import NIOCore
import NIOPosix
@testable import Ingest
import Rooms
import RTP
import Synchronization
import Testing

/// The hub on its own event loop, fed datagrams as its UDP port would feed them: who stays in a
/// room (RTP or KeepAlive within the participant timeout), what a removal tells subscribers, and
/// the per-track counters of late, duplicate and reordered packets.
@Suite(.serialized) struct RoomHubTests {
    let sender = SourceAddress.parse("127.0.0.1:40000")!

    /// Records what a subscriber of a room is told.
    final class Events: RoomSubscriber {
        let seen = Mutex<[String]>([])
        func handle(_ event: RoomEvent) {
            let text = switch event {
            case .participantJoined(let p): "joined \(p.identity)"
            case .trackPublished(let t): "published \(t.sid)"
            case .trackMuteChanged(let t): "muted \(t.sid) \(t.muted)"
            case .trackUnpublished(let t): "unpublished \(t.sid)"
            case .participantLeft(let p, let reason): "left \(p.identity): \(reason)"
            case .roomDeleted(let room): "deleted \(room)"
            }
            seen.withLock { $0.append(text) }
        }
        func handle(_ frame: MediaFrame) {}
    }

    func withHub(_ configure: (inout RoomHubConfiguration) -> Void = { _ in }, _ body: (RoomHub) async throws -> Void) async throws {
        let loop = try HubEventLoop(name: "test-hub")
        var configuration = RoomHubConfiguration()
        configure(&configuration)
        let hub = RoomHub(loop: loop, configuration: configuration, logger: Logger(label: "test"))
        hub.startMaintenance(rtpHost: "127.0.0.1", rtpPort: 0)
        try await body(hub)
        hub.stopMaintenance()
        await loop.shutdown()
    }

    /// An Opus RTP packet (one 20 ms frame) of `ssrc`.
    func packet(ssrc: UInt32, sequence: UInt16, payloadType: UInt8 = 111) -> [UInt8] {
        var bytes: [UInt8] = [0x80, payloadType, UInt8(sequence >> 8), UInt8(sequence & 0xFF)]
        let timestamp = UInt32(sequence) &* 960
        bytes += [24, 16, 8, 0].map { UInt8((timestamp >> $0) & 0xFF) }
        bytes += [24, 16, 8, 0].map { UInt8((ssrc >> $0) & 0xFF) }
        return bytes + [0xFC, 0xFF, 0xFE]  // a TOC byte and a little payload
    }

    func send(_ hub: RoomHub, _ datagram: [UInt8]) async throws {
        let sender = self.sender
        try await hub.loop.submit { hub.receive(datagram: datagram, from: sender) }.get()
    }

    func microphone(_ hub: RoomHub, room: String, identity: String) async throws -> HubTrack {
        _ = try await hub.join(room: room, identity: identity, name: "", kind: 0, metadata: "")
        return try await hub.publish(PublishRequest(room: room, identity: identity, kind: .audio, source: .microphone,
                                                    codec: .opus, payloadType: 111)).0
    }

    func identities(_ hub: RoomHub, _ room: String) async -> [String] {
        (try? await hub.room(named: room).participants.map(\.identity).sorted()) ?? []
    }

    /// With a 2 s timeout: a participant whose RTP keeps coming and one that calls KeepAlive stay
    /// past 5 s; one that does neither is gone. Each keeps in touch every 200 ms from the hub's
    /// own loop, as the network and the RPC server would, so that tests busy on the threads Swift's
    /// tasks share cannot delay them past the timeout.
    @Test func rtpOrKeepAliveKeepsAParticipantPastTheTimeout() async throws {
        try await withHub({ $0.participantTimeout = .seconds(2) }) { hub in
            // No timeouts while the participants are set up (the test's own awaits may wait).
            hub.stopMaintenance()
            let sending = try await microphone(hub, room: "r", identity: "sending")
            _ = try await hub.join(room: "r", identity: "calling", name: "", kind: 0, metadata: "")
            _ = try await hub.join(room: "r", identity: "silent", name: "", kind: 0, metadata: "")
            let step = Mutex<UInt16>(0)
            let (sender, ssrc) = (self.sender, sending.ssrc)
            let datagram = { @Sendable (sequence: UInt16) in self.packet(ssrc: ssrc, sequence: sequence) }
            let keepingInTouch = hub.loop.scheduleRepeatedTask(initialDelay: .zero, delay: .milliseconds(200)) { _ in
                let sequence = step.withLock { value in
                    value &+= 1
                    return value
                }
                hub.receive(datagram: datagram(sequence), from: sender)
                hub.touch(room: "r", identity: "calling")
            }
            hub.startMaintenance(rtpHost: "127.0.0.1", rtpPort: 0)
            try await Task.sleep(for: .seconds(5))
            let present = await identities(hub, "r")
            keepingInTouch.cancel()
            #expect(present == ["calling", "sending"])
            // Once nothing comes, they go too.
            try await Task.sleep(for: .milliseconds(4000))
            #expect(await identities(hub, "r") == [])
        }
    }

    @Test func removingAParticipantUnpublishesItsTracksAndSaysWhy() async throws {
        try await withHub { hub in
            let track = try await microphone(hub, room: "r", identity: "alice")
            let events = Events()
            let (subscription, room) = await hub.subscribe(room: "r", events)
            #expect(room?.participants.map(\.identity) == ["alice"])
            try await hub.remove(room: "r", identity: "alice")
            #expect(events.seen.withLock { $0 } == ["unpublished \(track.sid)", "left alice: participant removed"])
            #expect(await hub.track(sid: track.sid) == nil)
            subscription.cancel()
        }
    }

    /// 1, 2, 4, 4 again (a duplicate, while 4 waits for 3), 3 (reordered, within the wait), then 6
    /// and, once the buffer has given up waiting for 5 (lost), 5 (late); a packet of another
    /// payload type is counted apart.
    @Test func lateDuplicateAndReorderedPacketsAreCounted() async throws {
        try await withHub({ $0.maxJitterDelay = .milliseconds(20) }) { hub in
            let track = try await microphone(hub, room: "r", identity: "alice")
            for sequence: UInt16 in [1, 2, 4, 4, 3, 6] { try await send(hub, packet(ssrc: track.ssrc, sequence: sequence)) }
            try await Task.sleep(for: .milliseconds(200))  // past the 20 ms wait: 6 is released without 5
            try await send(hub, packet(ssrc: track.ssrc, sequence: 5))
            try await send(hub, packet(ssrc: track.ssrc, sequence: 7, payloadType: 100))
            let stats = try #require(await hub.statistics().tracks.first { $0.sid == track.sid })
            #expect(stats.packetsDuplicate == 1)
            #expect(stats.packetsReordered == 1)
            #expect(stats.packetsLate == 1)
            #expect(stats.packetsLost == 1)
            #expect(stats.packetsWrongPayloadType == 1)
            #expect(stats.frames == 5)  // 1, 2, 3, 4, 6
        }
    }
}
