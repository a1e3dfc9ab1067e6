import CFFmpeg

/// Scales decoded pictures into the output size, keeping their aspect ratio: the picture is
/// fitted and centred, the rest is black (as LiveKit's recordings letterbox). A picture that
/// already has the output's size and format passes through untouched.
public final class VideoScaler: @unchecked Sendable {
    public let width: Int32
    public let height: Int32
    private var context: OpaquePointer?
    private var input: (width: Int32, height: Int32, format: Int32) = (0, 0, -1)

    public init(width: Int32, height: Int32) {
        self.width = width
        self.height = height
    }

    deinit { sws_freeContext(context) }

    public func scale(_ source: Frame) throws(MediaError) -> Frame {
        let src = source.pointer.pointee
        // Already what the encoder takes: used as it is.
        if src.width == width, src.height == height, src.format == AV_PIX_FMT_YUV420P.rawValue { return source }
        let output = try Frame.black(width: width, height: height)
        // The fitted rectangle, with even offsets and sizes so chroma planes line up.
        let fit = min(Double(width) / Double(src.width), Double(height) / Double(src.height))
        let w = max(2, Int32(Double(src.width) * fit) & ~1), h = max(2, Int32(Double(src.height) * fit) & ~1)
        let x = ((width - w) / 2) & ~1, y = ((height - h) / 2) & ~1
        if input != (src.width, src.height, src.format) || context == nil {
            sws_freeContext(context)
            context = sws_getContext(src.width, src.height, AVPixelFormat(src.format), w, h, AV_PIX_FMT_YUV420P,
                                     SWS_BILINEAR, nil, nil, nil)
            input = (src.width, src.height, src.format)
        }
        guard let context else { throw MediaError("no scaler from \(src.width)x\(src.height) to \(w)x\(h)") }
        let out = output.pointer.pointee
        let offsets = [Int(y) * Int(out.linesize.0) + Int(x), Int(y / 2) * Int(out.linesize.1) + Int(x / 2),
                       Int(y / 2) * Int(out.linesize.2) + Int(x / 2)]
        var destination: [UnsafeMutablePointer<UInt8>?] = [out.data.0! + offsets[0], out.data.1! + offsets[1], out.data.2! + offsets[2], nil]
        var strides: [Int32] = [out.linesize.0, out.linesize.1, out.linesize.2, 0]
        var sourcePlanes: [UnsafePointer<UInt8>?] = [UnsafePointer(src.data.0), UnsafePointer(src.data.1), UnsafePointer(src.data.2), nil]
        var sourceStrides: [Int32] = [src.linesize.0, src.linesize.1, src.linesize.2, 0]
        let rows = sws_scale(context, &sourcePlanes, &sourceStrides, 0, src.height, &destination, &strides)
        guard rows > 0 else { throw MediaError("scaling a \(src.width)x\(src.height) picture", code: rows) }
        output.pts = source.pts
        return output
    }
}
