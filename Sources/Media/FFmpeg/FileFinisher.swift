import CFFmpeg
import Support

/// Rewrites a recorded file into a finished one of the same format, copying its packets (no
/// re-encoding); the file is replaced only once the new one is complete.
///
/// - `defragment`: what recording does with its fragmented MP4 (written so that a crash loses
///   at most the last fragment) when it ends: a plain MP4 with its index in front, as players
///   and editors expect of a finished file.
/// - `close`: what start-up does with a file a killed process left without its trailer (an
///   MP4 cut in the middle of a fragment, an OGG or WebM without its end): every complete packet
///   into a properly closed file, with its duration and index.
public enum FileFinisher {
    public static func defragment(_ file: ConfinedFile) throws(MediaError) {
        try rewrite(file, format: "mp4", options: ["movflags": "+faststart"])
    }

    /// Closes the file, written as `format` ("mp4", "ogg", "webm"); returns the packets kept.
    @discardableResult
    public static func close(_ file: ConfinedFile, format: String) throws(MediaError) -> Int {
        try rewrite(file, format: format, options: format == "mp4" ? ["movflags": "+faststart"] : [:])
    }

    /// The file's duration in nanoseconds as its container gives it (0 when it does not).
    public static func duration(of file: ConfinedFile) -> Int64 {
        var input: UnsafeMutablePointer<AVFormatContext>?
        guard avformat_open_input(&input, file.openablePath, nil, nil) >= 0 else { return 0 }
        defer { avformat_close_input(&input) }
        guard avformat_find_stream_info(input, nil) >= 0 else { return 0 }
        let duration = input!.pointee.duration
        return duration > 0 && duration < Int64.max / 1000 ? duration * 1000 : 0
    }

    @discardableResult
    private static func rewrite(_ file: ConfinedFile, format: String, options given: [String: String]) throws(MediaError) -> Int {
        let path = file.path
        let part: ConfinedFile
        do { part = try file.sibling(named: file.name + ".part") } catch { throw MediaError("\(error)") }
        let temporary = part.path
        var input: UnsafeMutablePointer<AVFormatContext>?
        try check(avformat_open_input(&input, file.openablePath, nil, nil), "reading \(path)")
        defer { avformat_close_input(&input) }
        try check(avformat_find_stream_info(input, nil), "reading the streams of \(path)")

        var output: UnsafeMutablePointer<AVFormatContext>?
        // The file's /proc/self/fd path as its name too: +faststart reopens the file by name to
        // move the index to the front, and must reopen this one, not whatever is at its path now.
        try check(avformat_alloc_output_context2(&output, nil, format, part.openablePath), "creating \(temporary)")
        defer {
            avio_closep(&output!.pointee.pb)
            avformat_free_context(output)
        }
        let count = Int(input!.pointee.nb_streams)
        for index in 0..<count {
            let source = input!.pointee.streams[index]!
            guard let stream = avformat_new_stream(output, nil) else { throw MediaError("adding a stream to \(temporary)") }
            try check(avcodec_parameters_copy(stream.pointee.codecpar, source.pointee.codecpar), "copying stream parameters")
            stream.pointee.codecpar.pointee.codec_tag = 0
            stream.pointee.time_base = source.pointee.time_base
        }
        try check(avio_open(&output!.pointee.pb, part.openablePath, AVIO_FLAG_WRITE), "opening \(temporary)")
        var options: OpaquePointer?
        for (key, value) in given { av_dict_set(&options, key, value, 0) }
        defer { av_dict_free(&options) }
        try check(avformat_write_header(output, &options), "writing the header of \(temporary)")

        var packet: UnsafeMutablePointer<AVPacket>? = av_packet_alloc()
        defer { av_packet_free(&packet) }
        var copied = 0
        // Until the end, or the first packet that cannot be read whole (where a killed writer stopped).
        while av_read_frame(input, packet) >= 0 {
            let index = Int(packet!.pointee.stream_index)
            guard index >= 0, index < count else {
                av_packet_unref(packet)
                continue
            }
            av_packet_rescale_ts(packet, input!.pointee.streams[index]!.pointee.time_base,
                                 output!.pointee.streams[index]!.pointee.time_base)
            packet!.pointee.pos = -1
            try check(av_interleaved_write_frame(output, packet), "writing \(temporary)")
            copied += 1
        }
        try check(av_write_trailer(output), "finishing \(temporary)")
        do { try part.rename(over: file) } catch { throw MediaError("\(error)") }
        return copied
    }
}
