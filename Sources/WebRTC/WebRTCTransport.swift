/// One WebRTC publisher's transport on the server's UDP port, without the socket: it answers
/// ICE connectivity checks (ICE-lite: it only responds), runs the DTLS handshake as server,
/// and then turns SRTP and SRTCP into RTP and RTCP (and RTCP feedback into SRTCP). The caller
/// routes datagrams to it by STUN username and then by source address (RFC 7983's first byte
/// says which of its methods takes one). Used on one event loop.
public final class WebRTCTransport {
    public let local: ICELiteCredentials
    public let remoteUsername: String
    private let dtls: DTLSServerSession
    private var inbound: SRTPContext?
    private var outbound: SRTPContext?

    public enum State: Equatable {
        /// Waiting for ICE checks and the DTLS handshake.
        case connecting
        /// SRTP flows.
        case connected(SRTPProfile)
        case closed(String)
    }

    public private(set) var state: State = .connecting

    public init(local: ICELiteCredentials, offer: WebRTCOffer, context: DTLSContext) throws {
        self.local = local
        self.remoteUsername = offer.iceUsername
        dtls = try DTLSServerSession(context: context, peerFingerprint: offer.fingerprint)
    }

    /// What a connectivity check came to.
    public enum CheckResult: Equatable {
        /// Not for this session, or not authentic: nothing is sent.
        case ignored
        /// A success response to send back; `nominated` when the peer chose this address (USE-CANDIDATE).
        case answered(response: [UInt8], nominated: Bool)
    }

    /// Answers a Binding request from `address` (its IP bytes) and `port`, if it carries this
    /// session's USERNAME, a valid MESSAGE-INTEGRITY keyed by the local password, and a valid FINGERPRINT.
    public func check(_ request: STUNMessage, address: [UInt8], port: UInt16) -> CheckResult {
        guard request.type == STUNMessage.bindingRequest, request.hasValidFingerprint,
              request.username == local.username + ":" + remoteUsername else { return .ignored }
        let password = Array(local.password.utf8)
        guard request.hasIntegrity(password: password) else { return .ignored }
        let response = STUNMessage.bindingSuccess(to: request, mappedAddress: address, port: port, password: password)
        return .answered(response: response, nominated: request.attribute(STUNMessage.AttributeType.useCandidate) != nil)
    }

    /// Takes a DTLS datagram; returns the datagrams to send back. When the handshake completes,
    /// `state` becomes `.connected` and SRTP can be read.
    public func receiveDTLS(_ datagram: [UInt8]) -> [[UInt8]] {
        let replies = dtls.receive(datagram)
        updateState()
        return replies
    }

    /// The handshake's retransmission timer; call it now and then while connecting.
    public func handleTimeout() -> [[UInt8]] {
        let replies = dtls.handleTimeout()
        updateState()
        return replies
    }

    /// Ends the session: a close_notify to send.
    public func close(reason: String) -> [[UInt8]] {
        let replies = dtls.close()
        state = .closed(reason)
        inbound = nil
        outbound = nil
        return replies
    }

    public func unprotectRTP(_ packet: [UInt8]) throws -> [UInt8] {
        guard let inbound else { throw SRTPError(status: -1, operation: "SRTP before the DTLS handshake") }
        return try inbound.unprotectRTP(packet)
    }

    public func unprotectRTCP(_ packet: [UInt8]) throws -> [UInt8] {
        guard let inbound else { throw SRTPError(status: -1, operation: "SRTCP before the DTLS handshake") }
        return try inbound.unprotectRTCP(packet)
    }

    /// RTCP feedback as SRTCP; nil before the handshake.
    public func protectRTCP(_ packet: [UInt8]) -> [UInt8]? {
        try? outbound?.protectRTCP(packet)
    }

    private func updateState() {
        if case .connected = state, case .closed = dtls.state {
            state = .closed("the peer closed DTLS")
            return
        }
        guard case .connecting = state else { return }
        switch dtls.state {
        case .handshaking:
            return
        case .connected(let keys):
            do {
                inbound = try SRTPContext(profile: keys.profile, keyAndSalt: keys.remote, direction: .inbound)
                outbound = try SRTPContext(profile: keys.profile, keyAndSalt: keys.local, direction: .outbound)
                state = .connected(keys.profile)
            } catch {
                state = .closed("SRTP: \(error)")
            }
        case .closed:
            state = .closed("the peer closed DTLS")
        case .failed(let reason):
            state = .closed("DTLS: \(reason)")
        }
    }
}
