/// What a video depacketizer does after a loss: whole frames are held back until the next key
/// frame, so a decoder never sees a broken reference chain; that key frame is marked as
/// following a loss.
struct KeyframeGate: Sendable {
    private var awaitingKeyframe = false
    private var lossPending = false

    /// Packets were lost: frames stop until a key frame.
    mutating func lost() {
        awaitingKeyframe = true
        lossPending = true
    }

    /// The frame to emit for a complete one, or nil while waiting for a key frame.
    mutating func admit(_ data: [UInt8], timestamp: Int64, isKeyframe: Bool) -> EncodedFrame? {
        if awaitingKeyframe {
            guard isKeyframe else { return nil }
            awaitingKeyframe = false
        }
        defer { lossPending = false }
        return EncodedFrame(data: data, timestamp: timestamp, isKeyframe: isKeyframe, followsLoss: lossPending)
    }
}
