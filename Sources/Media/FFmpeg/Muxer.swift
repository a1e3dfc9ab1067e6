import CFFmpeg
import Support

/// A libavformat output, a file or a live stream: streams are added, the header written,
/// packets interleaved in, the trailer written on `finish`. MP4 is written fragmented (one
/// fragment a second at most), so a crash loses at most the last fragment; `finish` then
/// rewrites it as a plain MP4. A stream's blocking I/O gives up when its `IOInterrupter` says so.
public final class Muxer: @unchecked Sendable {
    /// What a stream carries when its packets are copied, not encoded here.
    public enum PassthroughStream: Sendable {
        /// Annex B SPS/PPS as extradata.
        case h264(width: Int32, height: Int32, extradata: [UInt8])
        case vp8(width: Int32, height: Int32)
        case opus(channels: Int32)
    }

    /// The file written; nil for a live stream.
    public let file: ConfinedFile?
    /// What errors name: the file's path, or the stream's URL with its key redacted.
    public let label: String
    /// Keeps the interrupt callback's object alive while libavformat may call it.
    private let interrupter: IOInterrupter?
    /// Where a muxer of its own I/O writes (kept alive while libavformat may call it).
    private let sink: SinkBox?
    private var context: UnsafeMutablePointer<AVFormatContext>?
    private var headerWritten = false
    private var finished = false
    public private(set) var bytesWritten: Int64 = 0

    /// Writes the container `format` (an FFmpeg muxer name: mp4, ogg, webm) into `file`.
    public init(file: ConfinedFile, format: String) throws(MediaError) {
        self.file = file
        label = file.path
        interrupter = nil
        sink = nil
        var context: UnsafeMutablePointer<AVFormatContext>?
        // Named by its /proc/self/fd path too: anything FFmpeg reopens by name is this file.
        try check(avformat_alloc_output_context2(&context, nil, format, file.openablePath), "creating a \(format) file")
        self.context = context
        try check(avio_open(&context!.pointee.pb, file.openablePath, AVIO_FLAG_WRITE), "opening \(file.path)")
    }

    /// Connects to `url` (rtmp://, rtmps://, srt://) and streams the container `format` (flv,
    /// mpegts) to it. Connecting and every write give up when `interrupter` says so. `label`
    /// is what errors call it: never the URL itself, which holds a secret key.
    public init(url: String, label: String, format: String, interrupter: IOInterrupter) throws(MediaError) {
        file = nil
        self.label = label
        self.interrupter = interrupter
        sink = nil
        var context: UnsafeMutablePointer<AVFormatContext>?
        try check(avformat_alloc_output_context2(&context, nil, format, nil), "creating a \(format) stream")
        self.context = context
        let callback = AVIOInterruptCB(callback: ioInterruptCallback, opaque: Unmanaged.passUnretained(interrupter).toOpaque())
        context!.pointee.interrupt_callback = callback
        var options: OpaquePointer?
        defer { av_dict_free(&options) }
        if format == "flv" { av_dict_set(&options, "flvflags", "no_duration_filesize", 0) }
        try check(avio_open2(&context!.pointee.pb, url, AVIO_FLAG_WRITE, &context!.pointee.interrupt_callback, &options),
                  "connecting to \(label)")
    }

    /// Writes the container `format` through `sink`, in the order libavformat makes the bytes.
    /// For fragmented MP4 (`format` mp4): the header is the init segment, and each
    /// `flushFragment()` writes the fragment of what came since the last one, so the sink can
    /// send each part to a file of its own (HLS with fMP4 segments).
    public init(format: String, sink: any MuxerSink, label: String) throws(MediaError) {
        file = nil
        self.label = label
        interrupter = nil
        let box = SinkBox(sink)
        self.sink = box
        var context: UnsafeMutablePointer<AVFormatContext>?
        try check(avformat_alloc_output_context2(&context, nil, format, nil), "creating a \(format) output")
        self.context = context
        let size = 64 * 1024
        guard let buffer = av_malloc(size),
              let io = avio_alloc_context(buffer.assumingMemoryBound(to: UInt8.self), Int32(size), 1,
                                          Unmanaged.passUnretained(box).toOpaque(), nil, sinkWrite, nil) else {
            throw MediaError("allocating the output of \(label)")
        }
        context!.pointee.pb = io
        context!.pointee.flags |= AVFMT_FLAG_CUSTOM_IO
    }

    deinit {
        if !finished { try? finish() }
        if let context {
            closeIO(context)
            avformat_free_context(context)
        }
    }

    private func closeIO(_ context: UnsafeMutablePointer<AVFormatContext>) {
        guard sink != nil else {
            avio_closep(&context.pointee.pb)
            return
        }
        guard context.pointee.pb != nil else { return }
        avio_flush(context.pointee.pb)
        av_freep(&context.pointee.pb.pointee.buffer)
        avio_context_free(&context.pointee.pb)
    }

    /// Writes out, for a fragmented MP4 of its own I/O, the fragment of the packets written
    /// since the last one; the sink has every byte of it when this returns.
    public func flushFragment() throws(MediaError) {
        guard let context, headerWritten else { return }
        try check(av_write_frame(context, nil), "writing a fragment of \(label)")
        avio_flush(context.pointee.pb)
        if context.pointee.pb.pointee.error < 0 { throw MediaError("writing a fragment of \(label): the output failed") }
    }

    /// Whether the format wants codec headers out of band (encoders must be told).
    public var wantsGlobalHeader: Bool {
        (context!.pointee.oformat.pointee.flags & AVFMT_GLOBALHEADER) != 0
    }

    /// Adds a stream for an encoder's output; returns its index.
    public func addStream(from encoder: Encoder) throws(MediaError) -> Int {
        let stream = try newStream()
        try check(avcodec_parameters_from_context(stream.pointee.codecpar, encoder.context), "describing a stream")
        stream.pointee.time_base = AVRational(num: encoder.timeBase.num, den: encoder.timeBase.den)
        return Int(stream.pointee.index)
    }

    /// Adds a stream described by `parameters` (an encoder's, copied); returns its index.
    public func addStream(_ parameters: StreamParameters) throws(MediaError) -> Int {
        let stream = try newStream()
        try check(avcodec_parameters_copy(stream.pointee.codecpar, parameters.pointer), "describing a stream")
        stream.pointee.time_base = parameters.timeBase
        return Int(stream.pointee.index)
    }

    /// Adds a stream whose packets arrive already encoded; returns its index.
    public func addStream(_ kind: PassthroughStream, timeBase: (num: Int32, den: Int32)) throws(MediaError) -> Int {
        let stream = try newStream()
        let parameters = stream.pointee.codecpar!
        switch kind {
        case .h264(let width, let height, let extradata):
            parameters.pointee.codec_type = AVMEDIA_TYPE_VIDEO
            parameters.pointee.codec_id = AV_CODEC_ID_H264
            parameters.pointee.width = width
            parameters.pointee.height = height
            try Self.setExtradata(extradata, on: parameters)
        case .vp8(let width, let height):
            parameters.pointee.codec_type = AVMEDIA_TYPE_VIDEO
            parameters.pointee.codec_id = AV_CODEC_ID_VP8
            parameters.pointee.width = width
            parameters.pointee.height = height
        case .opus(let channels):
            parameters.pointee.codec_type = AVMEDIA_TYPE_AUDIO
            parameters.pointee.codec_id = AV_CODEC_ID_OPUS
            parameters.pointee.sample_rate = 48_000
            av_channel_layout_default(&parameters.pointee.ch_layout, channels)
            try Self.setExtradata(Self.opusHead(channels: UInt8(channels)), on: parameters)
        }
        stream.pointee.time_base = AVRational(num: timeBase.num, den: timeBase.den)
        return Int(stream.pointee.index)
    }

    /// Writes the header. A file is written so that a crash loses at most about a second: MP4
    /// in fragments of at most 1 s, WebM in clusters of at most 1 s, OGG in pages of at most
    /// 0.5 s (each is written out only once complete).
    public func writeHeader() throws(MediaError) {
        var options: OpaquePointer?
        defer { av_dict_free(&options) }
        let name = String(cString: context!.pointee.oformat.pointee.name)
        if name == "mp4" || name == "mov", file != nil {
            av_dict_set(&options, "movflags", "+frag_keyframe+empty_moov+default_base_moof", 0)
            av_dict_set(&options, "frag_duration", "1000000", 0)
        } else if name == "webm" || name == "matroska", file != nil {
            av_dict_set(&options, "cluster_time_limit", "1000", 0)
        } else if name == "ogg", file != nil {
            av_dict_set(&options, "page_duration", "500000", 0)
        } else if name == "mp4", sink != nil {
            // A fragment only when asked (flushFragment), each with its own base time; no index at the end.
            av_dict_set(&options, "movflags", "+frag_custom+empty_moov+default_base_moof+skip_trailer", 0)
        }
        context!.pointee.flush_packets = 1
        try check(avformat_write_header(context, &options), "writing the header of \(label)")
        headerWritten = true
        if sink != nil { avio_flush(context!.pointee.pb) }
    }

    /// Writes a packet of stream `index` (its times are rescaled from the packet's time base).
    public func write(_ packet: Packet, stream index: Int) throws(MediaError) {
        let target = context!.pointee.streams[index]!.pointee.time_base
        av_packet_rescale_ts(packet.pointer, AVRational(num: packet.timeBase.num, den: packet.timeBase.den), target)
        packet.timeBase = (target.num, target.den)
        packet.pointer.pointee.stream_index = Int32(index)
        bytesWritten += Int64(packet.size)
        // A muxer of its own I/O cuts fragments where it is told: every packet given must be in
        // the muxer by then, none held back to interleave.
        if sink != nil {
            try check(av_write_frame(context, packet.pointer), "writing to \(label)")
        } else {
            try check(av_interleaved_write_frame(context, packet.pointer), "writing to \(label)")
        }
    }

    /// Writes the trailer and closes the file. Safe to call once the header was written.
    public func finish() throws(MediaError) {
        guard !finished else { return }
        finished = true
        guard let context else { return }
        if headerWritten { try check(av_write_trailer(context), "finishing \(label)") }
        closeIO(context)
        guard let file else { return }
        // A file without even a header plays nowhere: it is not left behind.
        if !headerWritten { file.remove() }
        let name = String(cString: context.pointee.oformat.pointee.name)
        if headerWritten, name == "mp4" { try FileFinisher.defragment(file) }
    }

    private func newStream() throws(MediaError) -> UnsafeMutablePointer<AVStream> {
        guard let stream = avformat_new_stream(context, nil) else { throw MediaError("adding a stream to \(label)") }
        return stream
    }

    private static func setExtradata(_ bytes: [UInt8], on parameters: UnsafeMutablePointer<AVCodecParameters>) throws(MediaError) {
        guard let buffer = av_mallocz(bytes.count + Int(AV_INPUT_BUFFER_PADDING_SIZE)) else { throw MediaError("allocating extradata") }
        buffer.copyMemory(from: bytes, byteCount: bytes.count)
        parameters.pointee.extradata = buffer.assumingMemoryBound(to: UInt8.self)
        parameters.pointee.extradata_size = Int32(bytes.count)
    }

    /// The `OpusHead` identification header (RFC 7845 §5.1) that OGG, MP4 and WebM carry.
    static func opusHead(channels: UInt8) -> [UInt8] {
        let preSkip: UInt16 = 312
        let rate: UInt32 = 48_000
        return Array("OpusHead".utf8) + [1, channels, UInt8(preSkip & 0xFF), UInt8(preSkip >> 8),
                                          UInt8(rate & 0xFF), UInt8((rate >> 8) & 0xFF), UInt8((rate >> 16) & 0xFF), UInt8(rate >> 24),
                                          0, 0, 0]
    }
}

/// Where a muxer of its own I/O writes its bytes.
public protocol MuxerSink: AnyObject {
    /// Takes bytes in order; false when they could not be written (the muxer then fails).
    func write(_ bytes: UnsafeRawBufferPointer) -> Bool
}

/// A sink as libavformat's opaque pointer holds it.
private final class SinkBox {
    let sink: any MuxerSink
    init(_ sink: any MuxerSink) { self.sink = sink }
}

/// libavformat's write callback for a muxer of its own I/O.
private func sinkWrite(_ opaque: UnsafeMutableRawPointer?, _ buffer: UnsafeMutablePointer<UInt8>?, _ size: Int32) -> Int32 {
    guard let opaque, let buffer, size >= 0 else { return -1 }
    let box = Unmanaged<SinkBox>.fromOpaque(opaque).takeUnretainedValue()
    return box.sink.write(UnsafeRawBufferPointer(start: buffer, count: Int(size))) ? size : -5  // AVERROR(EIO)
}
