/// RFC 7741: strips the VP8 payload descriptor and joins a frame's packets (from the packet with
/// S=1 and partition 0 to the marker bit). A frame that lost a packet is dropped, and so is
/// everything after it until the next key frame.
public struct VP8Depacketizer: Depacketizer {
    private var frame: [UInt8] = []
    private var frameTimestamp: Int64?
    private var damaged = false
    private var gate = KeyframeGate()

    public init() {}

    public mutating func push(_ packet: RTPPacket, timestamp: Int64, afterGap: Bool) -> [EncodedFrame] {
        var out: [EncodedFrame] = []
        if afterGap {
            // The lost packets may be the open frame's tail or whole frames: either way the
            // reference chain is broken until the next key frame.
            damaged = true
            gate.lost()
        }
        guard let (isStart, partition, body) = Self.parseDescriptor(packet.payload) else {
            damaged = true
            return out
        }
        if isStart && partition == 0 {
            if frameTimestamp != nil, let done = finish() { out.append(done) }
            // Bytes of a frame whose first packet was lost and whose marker never came are not
            // this frame's beginning.
            frame.removeAll(keepingCapacity: true)
            frameTimestamp = timestamp
            damaged = false
        } else if frameTimestamp != timestamp {
            damaged = true
        }
        if frame.count + body.count <= EncodedFrame.maxSize {
            frame.append(contentsOf: body)
        } else {
            damaged = true
        }
        if packet.marker, let done = finish() { out.append(done) }
        return out
    }

    /// (S bit, partition index, VP8 payload) or nil for a malformed descriptor.
    static func parseDescriptor(_ payload: ArraySlice<UInt8>) -> (Bool, UInt8, ArraySlice<UInt8>)? {
        var at = payload.startIndex
        guard at < payload.endIndex else { return nil }
        let first = payload[at]
        at += 1
        if first & 0x80 != 0 {  // X: extension byte
            guard at < payload.endIndex else { return nil }
            let ext = payload[at]
            at += 1
            if ext & 0x80 != 0 {  // I: picture id, 7 or 15 bits
                guard at < payload.endIndex else { return nil }
                at += payload[at] & 0x80 != 0 ? 2 : 1
            }
            if ext & 0x40 != 0 { at += 1 }  // L: TL0PICIDX
            if ext & 0x30 != 0 { at += 1 }  // T or K: TID/Y/KEYIDX
        }
        guard at < payload.endIndex else { return nil }
        return (first & 0x10 != 0, first & 0x07, payload[at...])
    }

    private mutating func finish() -> EncodedFrame? {
        defer {
            frame = EncodedFrame.nextBuffer(after: frame)
            frameTimestamp = nil
            damaged = false
        }
        guard let timestamp = frameTimestamp, let first = frame.first, !damaged else {
            if damaged { gate.lost() }
            return nil
        }
        return gate.admit(frame, timestamp: timestamp, isKeyframe: first & 0x01 == 0)  // P bit of the frame tag
    }
}
