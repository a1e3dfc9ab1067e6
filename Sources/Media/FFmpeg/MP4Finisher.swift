import CFFmpeg
import Support

/// Turns a finished fragmented MP4 (what recording writes, so that a crash loses at most the
/// last fragment) into a plain MP4 with its index in front, as players and editors expect of a
/// finished file. The packets are copied, not re-encoded; the file is replaced only once the
/// new one is complete.
public enum MP4Finisher {
    public static func defragment(_ file: ConfinedFile) throws(MediaError) {
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
        try check(avformat_alloc_output_context2(&output, nil, "mp4", part.openablePath), "creating \(temporary)")
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
        av_dict_set(&options, "movflags", "+faststart", 0)
        defer { av_dict_free(&options) }
        try check(avformat_write_header(output, &options), "writing the header of \(temporary)")

        var packet: UnsafeMutablePointer<AVPacket>? = av_packet_alloc()
        defer { av_packet_free(&packet) }
        while av_read_frame(input, packet) >= 0 {
            let index = Int(packet!.pointee.stream_index)
            av_packet_rescale_ts(packet, input!.pointee.streams[index]!.pointee.time_base,
                                 output!.pointee.streams[index]!.pointee.time_base)
            packet!.pointee.pos = -1
            try check(av_interleaved_write_frame(output, packet), "writing \(temporary)")
        }
        try check(av_write_trailer(output), "finishing \(temporary)")
        do { try part.rename(over: file) } catch { throw MediaError("\(error)") }
    }
}
