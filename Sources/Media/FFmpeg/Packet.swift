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

    public var pts: Int64 { pointer.pointee.pts }
    public var dts: Int64 { pointer.pointee.dts }
    public var size: Int { Int(pointer.pointee.size) }
    public var isKeyframe: Bool { pointer.pointee.flags & AV_PKT_FLAG_KEY != 0 }
}
