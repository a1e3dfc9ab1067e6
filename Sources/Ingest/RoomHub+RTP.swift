import Rooms
import RTP
import Support

/// The hub's RTP side: datagrams from the ingest port to timed frames for the room's
/// subscribers. Runs on the hub's loop, like the rest of its state.
extension RoomHub {
    /// Handles one datagram from the ingest port, sent from `sender`, that arrived at `arrival`.
    func receive(datagram bytes: [UInt8], from sender: SourceAddress, at arrival: Arrival = .now()) {
        guard bytes.count <= configuration.maxPacketSize, let first = bytes.first else {
            oversizePackets += 1
            return
        }
        // RFC 7983: the first byte says what a datagram is.
        switch first {
        case 0...3:
            receiveSTUN(bytes, from: sender)
            return
        case 20...63:
            receiveDTLS(bytes, from: sender)
            return
        case 128...191:
            if let publisher = webRTCByAddress[sender] {
                receiveSecured(bytes, publisher: publisher, from: sender, at: arrival)
                return
            }
        default:
            malformedPackets += 1
            return
        }
        guard configuration.plainRTP else {
            plainRTPRefused += 1
            return
        }
        if RTPPacket.isRTCP(bytes) {
            for report in RTCPSenderReport.parse(compound: bytes) {
                guard let receiver = receivers[report.ssrc] else { continue }
                guard receiver.webRTCSession == nil else {
                    plainRTPRefused += 1
                    continue
                }
                receiver.apply(report, from: sender)
            }
            return
        }
        guard let packet = RTPPacket(parsing: bytes) else {
            malformedPackets += 1
            return
        }
        guard let receiver = receivers[packet.ssrc] else {
            unknownSSRCPackets += 1
            return
        }
        // A WebRTC track takes SRTP from its session's verified addresses only. Plain RTP with
        // its SSRC is from a wrong source, even from an address the session used: once another
        // session has verified that address and ended, the address is routed to SRTP no more,
        // and the peer's SRTP from there would be read as clear payload.
        guard receiver.webRTCSession == nil else {
            receiver.packetsWrongSource += 1
            return
        }
        let now = arrival.monotonic
        let frames = receiver.receive(packet, from: sender, arrival: arrival.wall, now: now)
        deliver(localized(frames, of: receiver), room: receiver.track.room)
        sendFeedback(for: receiver, now: now)
        if receiver.hasPending { scheduleFlush() }
    }

    /// An SSRC no track has, chosen at random in 1...2³¹-1: tools that take a signed 32-bit
    /// value (ffmpeg's `-ssrc`) take every one.
    func unusedSSRC() -> UInt32 {
        while true {
            let ssrc = UInt32.random(in: 1...UInt32(Int32.max))
            if receivers[ssrc] == nil { return ssrc }
        }
    }

    /// Frames timed by sender reports, moved onto the local clock by their clock's offset;
    /// frames then still far from the local clock are dropped and counted. A track's first
    /// reported frame says which clock it is on: one of its participant's known clocks if its
    /// offset is within `sameClockTolerance` of that clock's, else a clock of its own.
    static let sameClockTolerance: Int64 = 1_000_000_000
    /// Clocks one participant may have (one per sender, at most).
    static let maxClocksPerParticipant = 16

    func localized(_ frames: [MediaFrame], of receiver: TrackReceiver) -> [MediaFrame] {
        guard !frames.isEmpty else { return frames }
        let track = receiver.track
        let key = ParticipantKey(room: track.room, identity: track.participantIdentity)
        let now = WallClock.nanoseconds()
        let skew = configuration.maxClockSkew.nanoseconds
        return frames.compactMap { frame in
            var frame = frame
            if frame.synchronized {
                let offset: Int64
                if let known = receiver.clockOffset {
                    offset = known
                } else {
                    let (learned, overflowed) = now.subtractingReportingOverflow(frame.captureTime)
                    guard !overflowed else {
                        receiver.framesOutOfTime += 1
                        return nil
                    }
                    let clocks = senderClockOffsets[key, default: []]
                    if let shared = clocks.first(where: { $0.subtractingReportingOverflow(learned).partialValue.magnitude <= Self.sameClockTolerance
                        && !$0.subtractingReportingOverflow(learned).overflow }) {
                        offset = shared
                    } else {
                        offset = learned
                        if clocks.count < Self.maxClocksPerParticipant { senderClockOffsets[key, default: []].append(learned) }
                    }
                    receiver.clockOffset = offset
                }
                let (local, overflowed) = frame.captureTime.addingReportingOverflow(offset)
                guard !overflowed else {
                    receiver.framesOutOfTime += 1
                    return nil
                }
                frame.captureTime = local
            }
            let (distance, overflowed) = frame.captureTime.subtractingReportingOverflow(now)
            guard !overflowed, distance.magnitude <= skew.magnitude else {
                receiver.framesOutOfTime += 1
                return nil
            }
            return frame
        }
    }

    func deliver(_ frames: [MediaFrame], room: String) {
        guard !frames.isEmpty, let subscribers = subscribers[room] else { return }
        for frame in frames {
            for subscriber in subscribers.values where subscriber.receivesMedia { subscriber.handle(frame) }
        }
    }

}
