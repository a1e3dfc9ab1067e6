import NIOCore
import Rooms
import RTP
import Support
import WebRTC

/// The hub's WebRTC side: WHIP sessions opened and closed, and the datagrams of the UDP port
/// that are theirs (RFC 7983: STUN 0–3, DTLS 20–63, SRTP/SRTCP 128–191 from a verified address),
/// turned into the same frames and events as plain RTP. RTCP feedback goes back to them.
extension RoomHub {
    /// Opens a WHIP session: the participant joins, the answer is made. Throws `SDPError` for an
    /// offer that cannot be answered and `HubError` for a join the room refuses; neither leaves
    /// anything behind.
    public func publishWebRTC(_ request: WebRTCPublishRequest) async throws -> WebRTCPublication {
        let offer = try WebRTCOffer(SessionDescription(parsing: request.offer))
        try validate(room: request.room, identity: request.identity, name: request.name, metadata: request.metadata)
        return try await loop.submit {
            guard let context = self.dtlsContext else { throw HubError.unavailable("the UDP port is not bound yet") }
            let local = ICELiteCredentials.random()
            let answer = try WebRTCAnswer(offer: offer, iceUsername: local.username, icePassword: local.password,
                                          fingerprint: context.certificate.fingerprint,
                                          candidates: self.candidateHosts.map { .init(host: $0, port: self.rtpAddress.port) },
                                          maxTracks: self.configuration.maxTracksPerParticipant)
            guard self.webRTCSessions.count < self.configuration.maxWebRTCSessions else {
                throw HubError.roomFull("the hub already has \(self.configuration.maxWebRTCSessions) WebRTC sessions")
            }
            let transport = try WebRTCTransport(local: local, offer: offer, context: context)
            let (participant, _) = try self.addParticipant(room: request.room, identity: request.identity, name: request.name,
                                                           kind: 0, metadata: request.metadata)
            let publisher = WebRTCPublisher(id: RandomID.make(prefix: "WH_"), room: request.room, identity: request.identity,
                                            transport: transport, negotiated: answer.tracks, screenShare: request.screenShare,
                                            createdAt: MonotonicClock.nanoseconds())
            self.webRTCSessions[publisher.id] = publisher
            self.webRTCByUsername[local.username] = publisher
            self.updateFeedbackTimer()
            self.logger.info("WebRTC session opened", metadata: [
                "room": "\(request.room)", "participant": "\(request.identity)", "session": "\(publisher.id)",
                "tracks": "\(answer.tracks.map { "\($0.mid):\($0.codec.rawValue)" }.joined(separator: ","))",
            ])
            return WebRTCPublication(sessionID: publisher.id, answer: answer.sdp, participantSID: participant.sid)
        }.get()
    }

    /// Ends a WHIP session (its DELETE): its participant leaves. Only the participant that
    /// opened it may: another's session is "not found", as if it did not exist.
    public func closeWebRTC(sessionID: String, room: String, identity: String) async throws {
        try await loop.submit {
            guard let publisher = self.webRTCSessions[sessionID], publisher.room == room, publisher.identity == identity else {
                throw HubError.notFound("WHIP session \(sessionID) not found")
            }
            try self.removeParticipant(room: room, identity: identity, reason: "participant left")
        }.get()
    }

    /// The addresses host candidates name: the configured ones, else the bound address (a
    /// wildcard bind announces the loopback address only).
    var candidateHosts: [String] {
        if !configuration.webRTCHosts.isEmpty { return configuration.webRTCHosts }
        let host = rtpAddress.host
        return [host == "0.0.0.0" || host == "::" ? "127.0.0.1" : host]
    }

    // MARK: Datagrams (on the loop)

    /// A STUN message: a connectivity check of the session its USERNAME names is answered, and
    /// its source address becomes one of the session's.
    func receiveSTUN(_ bytes: [UInt8], from sender: SourceAddress) {
        guard let message = STUNMessage(bytes), message.type == STUNMessage.bindingRequest,
              let username = ICELiteCredentials.localUsername(of: message),
              let publisher = webRTCByUsername[String(username)] else {
            stunIgnored += 1
            return
        }
        guard case .answered(let response, let nominated) = publisher.transport.check(message, address: sender.addressBytes, port: sender.port),
              publisher.verified(sender, nominated: nominated) else {
            stunIgnored += 1
            return
        }
        if let other = webRTCByAddress[sender], other !== publisher {
            // An address moves to the session that verified it last (a port reused by the OS).
            other.forget(sender)
        }
        webRTCByAddress[sender] = publisher
        touch(room: publisher.room, identity: publisher.identity)
        send(response, to: sender)
    }

    /// A DTLS record from an address a session verified.
    func receiveDTLS(_ bytes: [UInt8], from sender: SourceAddress) {
        guard let publisher = webRTCByAddress[sender] else {
            unroutedSecured += 1
            return
        }
        let wasConnecting = publisher.transport.state == .connecting
        for datagram in publisher.transport.receiveDTLS(bytes) { send(datagram, to: sender) }
        switch publisher.transport.state {
        case .connected(let profile) where wasConnecting:
            logger.info("WebRTC session connected", metadata: [
                "room": "\(publisher.room)", "participant": "\(publisher.identity)", "session": "\(publisher.id)", "srtp": "\(profile)",
            ])
        case .closed(let reason):
            try? removeParticipant(room: publisher.room, identity: publisher.identity, reason: reason)
        default:
            break
        }
    }

    /// SRTP or SRTCP from a verified address: authenticated and decrypted, then handled as RTP
    /// of the session's own tracks (a track appears with its first packet).
    func receiveSecured(_ bytes: [UInt8], publisher: WebRTCPublisher, from sender: SourceAddress, at arrival: Arrival) {
        guard case .connected = publisher.transport.state else {
            publisher.packetsRejected += 1
            return
        }
        if RTPPacket.isRTCP(bytes) {
            guard let plain = try? publisher.transport.unprotectRTCP(bytes) else {
                publisher.packetsRejected += 1
                return
            }
            for report in RTCPSenderReport.parse(compound: plain) {
                guard let receiver = receivers[report.ssrc], receiver.webRTCSession == publisher.id else { continue }
                receiver.apply(report, from: receiver.source ?? sender)
            }
            return
        }
        guard let plain = try? publisher.transport.unprotectRTP(bytes) else {
            publisher.packetsRejected += 1
            return
        }
        guard let packet = RTPPacket(parsing: plain) else {
            malformedPackets += 1
            return
        }
        let now = arrival.monotonic
        if let id = publisher.transportCCExtension, let value = RTPHeaderExtension.value(of: id, in: plain), value.count == 2,
           let high = value.first, let low = value.last {
            publisher.transportFeedback.arrived(UInt16(high) << 8 | UInt16(low), at: now)
        }
        let receiver: TrackReceiver
        if let known = receivers[packet.ssrc] {
            guard known.webRTCSession == publisher.id else {
                publisher.packetsUnknownSSRC += 1
                return
            }
            receiver = known
        } else {
            guard let started = startTrack(of: publisher, ssrc: packet.ssrc, payloadType: packet.payloadType) else {
                publisher.packetsUnknownSSRC += 1
                return
            }
            receiver = started
        }
        if receiver.mutedBySilence { setSilenceMute(receiver, false) }
        // Authenticated by SRTP: the track's source is whichever verified address it came from.
        let frames = receiver.receive(packet, from: receiver.source ?? sender, arrival: arrival.wall, now: now)
        deliver(localized(frames, of: receiver), room: receiver.track.room)
        sendFeedback(for: receiver, now: now)
        if receiver.hasPending { scheduleFlush() }
    }

    /// Publishes the track of the section a new SSRC belongs to.
    private func startTrack(of publisher: WebRTCPublisher, ssrc: UInt32, payloadType: UInt8) -> TrackReceiver? {
        guard let section = publisher.section(for: ssrc, payloadType: payloadType) else { return nil }
        let request = PublishRequest(room: publisher.room, identity: publisher.identity, name: section.isVideo ? "video" : "audio",
                                     kind: section.isVideo ? .video : .audio, source: publisher.source(of: section), codec: section.codec,
                                     payloadType: UInt32(section.payloadType), ssrc: ssrc, stereo: section.stereo)
        do {
            _ = try addTrack(request, clockRate: section.clockRate, webRTCSession: publisher.id)
        } catch {
            logger.warning("WebRTC track refused", metadata: ["session": "\(publisher.id)", "error": "\(error)"])
            return nil
        }
        publisher.ssrcByMid[section.mid] = ssrc
        return receivers[ssrc]
    }

    // MARK: Mute

    /// A browser's track that stops sending (a sender whose track was replaced by none, a
    /// stopped camera) is muted after `webRTCSilenceMute`, as LiveKit mutes it, and unmuted by
    /// its next packet; a recording shows black or silence meanwhile, not a frozen picture.
    private func muteSilentTracks(of publisher: WebRTCPublisher, now: Int64) {
        let limit = configuration.webRTCSilenceMute.nanoseconds
        for ssrc in publisher.ssrcByMid.values {
            guard let receiver = receivers[ssrc], !receiver.track.muted, receiver.lastPacketAt > 0, now - receiver.lastPacketAt > limit else { continue }
            setSilenceMute(receiver, true)
        }
    }

    private func setSilenceMute(_ receiver: TrackReceiver, _ muted: Bool) {
        receiver.mutedBySilence = muted
        var track = receiver.track
        guard track.muted != muted else { return }
        track.muted = muted
        replace(track)
        logger.info(muted ? "track muted: no packets" : "track unmuted", metadata: ["room": "\(track.room)", "track": "\(track.sid)"])
        emit(.trackMuteChanged(track), room: track.room)
    }

    /// Every half second: handshake retransmissions, sessions that never connected closed,
    /// and once a second a receiver report (and REMB) per connected session.
    func maintainWebRTCSessions() {
        let now = MonotonicClock.nanoseconds()
        for publisher in webRTCSessions.values {
            switch publisher.transport.state {
            case .connecting:
                if let address = publisher.selected {
                    for datagram in publisher.transport.handleTimeout() { send(datagram, to: address) }
                }
                if now - publisher.createdAt > configuration.webRTCConnectTimeout.nanoseconds {
                    try? removeParticipant(room: publisher.room, identity: publisher.identity, reason: "WebRTC connection timed out")
                }
            case .connected:
                muteSilentTracks(of: publisher, now: now)
                guard now - publisher.lastReportAt >= 1_000_000_000 else { continue }
                publisher.lastReportAt = now
                sendReports(to: publisher, now: now)
            case .closed(let reason):
                try? removeParticipant(room: publisher.room, identity: publisher.identity, reason: reason)
            }
        }
    }

    /// How often transport-wide feedback goes out (libwebrtc's receivers send it every 100 ms too).
    static let transportFeedbackInterval: TimeAmount = .milliseconds(100)

    /// Runs the transport-wide feedback timer while there are WHIP sessions, and only then.
    func updateFeedbackTimer() {
        if webRTCSessions.isEmpty {
            feedbackTimer?.cancel()
            feedbackTimer = nil
        } else if feedbackTimer == nil {
            feedbackTimer = loop.scheduleRepeatedTask(initialDelay: Self.transportFeedbackInterval, delay: Self.transportFeedbackInterval) { _ in
                self.sendTransportFeedback()
            }
        }
    }

    /// Every 100 ms: transport-wide congestion control feedback to the sessions that take it.
    func sendTransportFeedback() {
        for publisher in webRTCSessions.values where publisher.transportCCExtension != nil {
            guard case .connected = publisher.transport.state else { continue }
            let media = publisher.ssrcByMid.values.first ?? 0
            if let feedback = publisher.transportFeedback.feedback(sender: publisher.feedbackSSRC, mediaSource: media) {
                sendRTCP(feedback, to: publisher)
            }
        }
    }

    func sendRTCP(_ packet: [UInt8], to publisher: WebRTCPublisher) {
        guard let address = publisher.selected, let protected = publisher.transport.protectRTCP(packet) else { return }
        send(protected, to: address)
    }

    func send(_ datagram: [UInt8], to address: SourceAddress) {
        outbound?(datagram, address)
    }

    /// Closes the WHIP session of a participant that leaves, if it has one (on the loop).
    func closeWebRTCSession(room: String, identity: String, reason: String) {
        guard let publisher = webRTCSessions.values.first(where: { $0.room == room && $0.identity == identity }) else { return }
        let goodbye = publisher.transport.close(reason: reason)
        if let address = publisher.selected { for datagram in goodbye { send(datagram, to: address) } }
        webRTCSessions[publisher.id] = nil
        updateFeedbackTimer()
        closedSessionsRejected += publisher.packetsRejected
        webRTCByUsername[publisher.transport.local.username] = nil
        for address in publisher.addresses where webRTCByAddress[address] === publisher { webRTCByAddress[address] = nil }
        logger.info("WebRTC session closed", metadata: [
            "room": "\(room)", "participant": "\(identity)", "session": "\(publisher.id)", "reason": "\(reason)",
            "rejected": "\(publisher.packetsRejected)", "unknown_ssrc": "\(publisher.packetsUnknownSSRC)",
        ])
    }
}
