import Rooms
import RTP
import Support

/// RTCP back to the senders: NACKs for lost packets, PLIs for key frames (a recording starts, a
/// loss could not be repaired), receiver reports every second. WebRTC tracks get it as SRTCP
/// through their session (with REMB when negotiated); plain RTP tracks as RTCP to the address
/// their sender reports come from — a sender that sends none is not listening, and gets none.
extension RoomHub {
    /// Where a track's feedback goes and from which SSRC.
    private enum FeedbackRoute {
        case webRTC(WebRTCPublisher, nack: Bool)
        case plain(SourceAddress)

        func sender(_ hub: RoomHub) -> UInt32 {
            switch self {
            case .webRTC(let publisher, _): publisher.feedbackSSRC
            case .plain: hub.plainFeedbackSSRC
            }
        }
    }

    private func route(of receiver: TrackReceiver) -> FeedbackRoute? {
        if let session = receiver.webRTCSession {
            guard let publisher = webRTCSessions[session],
                  let section = publisher.negotiated.first(where: { publisher.ssrcByMid[$0.mid] == receiver.track.ssrc }) else { return nil }
            return .webRTC(publisher, nack: section.nack)
        }
        return receiver.controlSource.map { .plain($0) }
    }

    private func send(_ packet: [UInt8], on route: FeedbackRoute) {
        switch route {
        case .webRTC(let publisher, _): sendRTCP(packet, to: publisher)
        case .plain(let address): send(packet, to: address)
        }
    }

    /// NACKs for what a track misses, and a PLI when its picture broke.
    func sendFeedback(for receiver: TrackReceiver, now: Int64) {
        // Most packets come in order with nothing missing: nothing to work out then.
        guard receiver.hasPending || receiver.feedback.needsKeyFrame, let route = route(of: receiver) else { return }
        let nacks: Bool = if case .webRTC(_, let nack) = route { nack } else { true }
        if nacks, let nack = RTCPFeedback.nack(from: route.sender(self), media: receiver.track.ssrc,
                                                sequences: receiver.sequencesToRequest(now: now)) {
            send(nack, on: route)
        }
        if receiver.feedback.needsKeyFrame { requestKeyFrame(receiver, now: now) }
    }

    /// Asks every video track of a room for a key frame (a recording of it starts).
    func requestKeyFrames(room: String) {
        let now = MonotonicClock.nanoseconds()
        // Within the interval of the last request its key frame is on its way: a storm of
        // subscriptions asks no more often than that.
        for receiver in receivers.values where receiver.track.room == room && receiver.track.kind == .video {
            requestKeyFrame(receiver, now: now)
        }
    }

    /// Key frames are asked for at most every 300 ms per track.
    static let keyFrameRequestInterval: Int64 = 300_000_000

    private func requestKeyFrame(_ receiver: TrackReceiver, now: Int64) {
        guard let route = route(of: receiver),
              receiver.feedback.lastKeyFrameRequest == .min || now - receiver.feedback.lastKeyFrameRequest >= Self.keyFrameRequestInterval
        else { return }
        receiver.feedback.needsKeyFrame = false
        receiver.feedback.lastKeyFrameRequest = now
        receiver.keyFrameRequests += 1
        send(RTCPFeedback.pli(from: route.sender(self), media: receiver.track.ssrc), on: route)
    }

    /// A receiver report (and REMB, where negotiated) for a WebRTC session's tracks.
    func sendReports(to publisher: WebRTCPublisher, now: Int64) {
        let tracks = publisher.ssrcByMid.values.compactMap { receivers[$0] }
        guard !tracks.isEmpty else { return }
        var compound = RTCPFeedback.receiverReport(from: publisher.feedbackSSRC, blocks: tracks.map { $0.reportBlock(now: now) })
        let estimated = tracks.filter { receiver in publisher.negotiated.contains { $0.remb && publisher.ssrcByMid[$0.mid] == receiver.track.ssrc } }
        if !estimated.isEmpty {
            compound += RTCPFeedback.remb(from: publisher.feedbackSSRC, bitrate: configuration.webRTCMaxBitrate,
                                          ssrcs: estimated.map(\.track.ssrc))
        }
        sendRTCP(compound, to: publisher)
    }

    /// Once a second: a receiver report to each plain RTP sender that listens.
    func sendPlainReports() {
        let now = MonotonicClock.nanoseconds()
        for receiver in receivers.values where receiver.webRTCSession == nil {
            guard let address = receiver.controlSource else { continue }
            send(RTCPFeedback.receiverReport(from: plainFeedbackSSRC, blocks: [receiver.reportBlock(now: now)]), to: address)
        }
    }
}
