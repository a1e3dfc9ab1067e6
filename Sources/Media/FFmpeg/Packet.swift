import CFFmpeg

/// One compressed packet (an owned `AVPacket`), with times in `timeBase`.
public final class Packet: @unchecked Sendable {
    let pointer: UnsafeMutablePointer<AVPacket>
    /// The time base of `pts`/`dts`/`duration`.
    public internal(set) var timeBase: (num: Int32, den: Int32)

    init(timeBase: (num: Int32, den: Int32)) {
        pointer = av_packet_alloc()
        self.timeBase = timeBase
    }

    /// A packet holding a copy of `data`.
    public convenience init(data: [UInt8], pts: Int64, dts: Int64? = nil, isKeyframe: Bool, timeBase: (num: Int32, den: Int32)) throws(MediaError) {
        self.init(timeBase: timeBase)
        try check(av_new_packet(pointer, Int32(data.count)), "allocating a packet")
        data.withUnsafeBufferPointer { source in
            pointer.pointee.data.update(from: source.baseAddress!, count: data.count)
        }
        pointer.pointee.pts = pts
        pointer.pointee.dts = dts ?? pts
        if isKeyframe { pointer.pointee.flags |= AV_PKT_FLAG_KEY }
    }

    deinit {
        var packet: UnsafeMutablePointer<AVPacket>? = pointer
        av_packet_free(&packet)
    }

    /// Another packet on the same data (FFmpeg counts the references; nothing is copied), for
    /// a second output: each output rescales its packet's times to its own streams.
    public func reference() throws(MediaError) -> Packet {
        let copy = Packet(timeBase: timeBase)
        try check(av_packet_ref(copy.pointer, pointer), "referencing a packet")
        return copy
    }

    /// Seconds from the start of the stream, as a Double (for cutting segments).
    public var seconds: Double {
        Double(pointer.pointee.pts) * Double(timeBase.num) / Double(max(1, timeBase.den))
    }

    /// The packet's duration in seconds (0 when the encoder gave none).
    public var durationSeconds: Double {
        Double(pointer.pointee.duration) * Double(timeBase.num) / Double(max(1, timeBase.den))
    }

    public var pts: Int64 { pointer.pointee.pts }
    public var dts: Int64 { pointer.pointee.dts }
    public var size: Int { Int(pointer.pointee.size) }
    public var isKeyframe: Bool { pointer.pointee.flags & AV_PKT_FLAG_KEY != 0 }

    /// The packet's data, copied (a JPEG picture to write as a file).
    public var bytes: [UInt8] {
        guard let data = pointer.pointee.data, size > 0 else { return [] }
        return Array(UnsafeBufferPointer(start: data, count: size))
    }
}
