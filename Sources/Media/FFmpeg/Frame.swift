import CFFmpeg

/// One decoded picture or block of samples (an owned `AVFrame`).
public final class Frame: @unchecked Sendable {
    let pointer: UnsafeMutablePointer<AVFrame>

    init() {
        pointer = av_frame_alloc()
    }

    deinit {
        var frame: UnsafeMutablePointer<AVFrame>? = pointer
        av_frame_free(&frame)
    }

    public var pts: Int64 {
        get { pointer.pointee.pts }
        set { pointer.pointee.pts = newValue }
    }

    public var width: Int32 { pointer.pointee.width }
    public var height: Int32 { pointer.pointee.height }
    public var sampleCount: Int32 { pointer.pointee.nb_samples }

    /// A new YUV 4:2:0 picture filled with black.
    public static func black(width: Int32, height: Int32) throws(MediaError) -> Frame {
        let frame = Frame()
        frame.pointer.pointee.format = AV_PIX_FMT_YUV420P.rawValue
        frame.pointer.pointee.width = width
        frame.pointer.pointee.height = height
        try check(av_frame_get_buffer(frame.pointer, 0), "allocating a \(width)x\(height) picture")
        frame.fillBlack()
        return frame
    }

    func fillBlack() {
        let height = Int(pointer.pointee.height)
        for plane in 0..<3 {
            let rows = plane == 0 ? height : (height + 1) / 2
            let stride = Int(withUnsafeBytes(of: pointer.pointee.linesize) { $0.load(fromByteOffset: plane * 4, as: Int32.self) })
            let data = withUnsafeBytes(of: pointer.pointee.data) { $0.load(fromByteOffset: plane * 8, as: UnsafeMutablePointer<UInt8>?.self) }
            data?.update(repeating: plane == 0 ? 16 : 128, count: stride * rows)
        }
    }
}
