/// RFC 6184, packetization-mode 1: single NAL unit packets, STAP-A aggregates and FU-A
/// fragments, assembled into Annex B access units (one per RTP timestamp, ended by the marker
/// bit or by the next timestamp). An access unit that lost a packet is dropped whole, and so is
/// everything after it until the next IDR, so a decoder never sees a broken reference chain.
public struct H264Depacketizer: Depacketizer {
    private static let startCode: [UInt8] = [0, 0, 0, 1]

    private var unit: [UInt8] = []
    private var unitTimestamp: Int64?
    private var unitHasIDR = false
    private var unitDamaged = false
    /// A fragmented NAL being reassembled.
    private var fragment: [UInt8]?
    private var gate = KeyframeGate()

    public init() {}

    public mutating func push(_ packet: RTPPacket, timestamp: Int64, afterGap: Bool) -> [EncodedFrame] {
        var out: [EncodedFrame] = []
        if afterGap {
            // The lost packets may be the open unit's tail or whole units: either way the
            // reference chain is broken until the next IDR.
            unitDamaged = true
            gate.lost()
        }
        if let current = unitTimestamp, current != timestamp, let frame = finishUnit() { out.append(frame) }
        if unitTimestamp == nil { unitTimestamp = timestamp }
        append(packet.payload)
        if packet.marker, let frame = finishUnit() { out.append(frame) }
        return out
    }

    private mutating func append(_ payload: ArraySlice<UInt8>) {
        guard let header = payload.first else { return }
        switch header & 0x1F {
        case 1...23:
            addNAL(payload)
        case 24:  // STAP-A: 16-bit size, NAL, repeated
            var at = payload.startIndex + 1
            while at + 2 <= payload.endIndex {
                let size = Int(payload[at]) << 8 | Int(payload[at + 1])
                at += 2
                guard size > 0, at + size <= payload.endIndex else {
                    unitDamaged = true
                    return
                }
                addNAL(payload[at..<(at + size)])
                at += size
            }
        case 28:  // FU-A
            guard payload.count >= 2 else { return }
            let fuHeader = payload[payload.startIndex + 1]
            let isStart = fuHeader & 0x80 != 0
            let isEnd = fuHeader & 0x40 != 0
            if isStart {
                if fragment != nil { unitDamaged = true }
                fragment = [(header & 0xE0) | (fuHeader & 0x1F)]
            }
            guard fragment != nil else {
                unitDamaged = true  // the start was lost
                return
            }
            guard var assembled = fragment, assembled.count + payload.count <= EncodedFrame.maxSize else {
                fragment = nil
                unitDamaged = true
                return
            }
            fragment = nil  // uniquely referenced while it grows
            assembled.append(contentsOf: payload.dropFirst(2))
            if isEnd {
                addNAL(assembled[...])
            } else {
                fragment = assembled
            }
        default:  // STAP-B, MTAP, FU-B: not sent in packetization-mode 1
            unitDamaged = true
        }
    }

    private mutating func addNAL(_ nal: ArraySlice<UInt8>) {
        guard let header = nal.first else { return }
        guard unit.count + Self.startCode.count + nal.count <= EncodedFrame.maxSize else {
            unitDamaged = true
            return
        }
        if header & 0x1F == 5 { unitHasIDR = true }
        unit.append(contentsOf: Self.startCode)
        unit.append(contentsOf: nal)
    }

    private mutating func finishUnit() -> EncodedFrame? {
        defer {
            unit = EncodedFrame.nextBuffer(after: unit)
            unitTimestamp = nil
            unitHasIDR = false
            unitDamaged = false
            fragment = nil
        }
        guard let timestamp = unitTimestamp, !unit.isEmpty || unitDamaged else { return nil }
        if unitDamaged || fragment != nil {
            gate.lost()
            return nil
        }
        return gate.admit(unit, timestamp: timestamp, isKeyframe: unitHasIDR)
    }
}
