import CFFmpeg

/// Still pictures as JPEG files' bytes: a video picture (YUV 4:2:0, video range) scaled to
/// `width`×`height` and converted to full range, then encoded by FFmpeg's mjpeg encoder.
public final class JPEGEncoder: @unchecked Sendable {
    public let width: Int32
    public let height: Int32
    private let encoder: Encoder
    private var scaler: OpaquePointer?
    private var input: (width: Int32, height: Int32) = (0, 0)
    private var encoded: Int64 = 0

    /// Quality scale 3: about what other JPEG writers call quality 85.
    public init(width: Int32, height: Int32) throws(MediaError) {
        self.width = width
        self.height = height
        encoder = try Encoder(.jpeg(width: width, height: height, quality: 3), globalHeader: false)
    }

    deinit { sws_freeContext(scaler) }

    /// One JPEG of `picture` (a YUV 4:2:0 picture of any size).
    public func encode(_ picture: Frame) throws(MediaError) -> [UInt8] {
        let src = picture.pointer.pointee
        guard src.format == AV_PIX_FMT_YUV420P.rawValue else { throw MediaError("a thumbnail of a picture that is not YUV 4:2:0") }
        if input != (src.width, src.height) || scaler == nil {
            sws_freeContext(scaler)
            scaler = sws_getContext(src.width, src.height, AV_PIX_FMT_YUV420P, width, height, AV_PIX_FMT_YUVJ420P,
                                    SWS_BICUBIC, nil, nil, nil)
            input = (src.width, src.height)
        }
        guard let scaler else { throw MediaError("no scaler from \(src.width)x\(src.height) to \(width)x\(height)") }
        let output = Frame()
        output.pointer.pointee.format = AV_PIX_FMT_YUVJ420P.rawValue
        output.pointer.pointee.width = width
        output.pointer.pointee.height = height
        try check(av_frame_get_buffer(output.pointer, 0), "allocating a \(width)x\(height) picture")
        let out = output.pointer.pointee
        var destination: [UnsafeMutablePointer<UInt8>?] = [out.data.0, out.data.1, out.data.2, nil]
        var strides: [Int32] = [out.linesize.0, out.linesize.1, out.linesize.2, 0]
        var planes: [UnsafePointer<UInt8>?] = [UnsafePointer(src.data.0), UnsafePointer(src.data.1), UnsafePointer(src.data.2), nil]
        var sourceStrides: [Int32] = [src.linesize.0, src.linesize.1, src.linesize.2, 0]
        let rows = sws_scale(scaler, &planes, &sourceStrides, 0, src.height, &destination, &strides)
        guard rows > 0 else { throw MediaError("scaling a \(src.width)x\(src.height) picture", code: rows) }
        output.pts = encoded
        encoded += 1
        var bytes: [UInt8] = []
        for packet in try encoder.encode(output) { bytes += packet.bytes }
        guard !bytes.isEmpty else { throw MediaError("the JPEG encoder gave nothing") }
        return bytes
    }
}
