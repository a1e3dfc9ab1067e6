import CFFmpeg

/// FFmpeg prints to stderr through its own logger. The server keeps it to errors, so the log
/// stays the server's (encoder banners and statistics are not news).
public enum FFmpegLogging {
    public static func errorsOnly() {
        av_log_set_level(AV_LOG_ERROR)
    }
}
