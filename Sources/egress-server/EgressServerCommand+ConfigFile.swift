import ArgumentParser
import ConfigFile
import HTTP
import Logging
import Server
import Webhooks
#if canImport(Glibc)
import Glibc
#endif

extension EgressServerCommand {
    /// The config file: --config, else EGRESS_CONFIG_FILE, else the YAML in EGRESS_CONFIG_BODY;
    /// an empty one when none is given. A file holding secrets must be readable by its owner only,
    /// like --key-file.
    func loadConfigFile() throws -> ConfigReader {
        let path = try Environment.value(config, "EGRESS_CONFIG_FILE", flag: "--config")
        let body = try Environment.value(nil as String?, "EGRESS_CONFIG_BODY", flag: "EGRESS_CONFIG_BODY")
        if config == nil, path != nil, body != nil {
            throw ValidationError("EGRESS_CONFIG_FILE and EGRESS_CONFIG_BODY are both set: give the config once")
        }
        guard let path else {
            return ConfigReader(try document(body ?? "", source: body == nil ? "(none)" : "EGRESS_CONFIG_BODY"))
        }
        var info = stat()
        guard stat(path, &info) == 0 else {
            throw ValidationError("cannot read the config file \(path): \(String(cString: strerror(errno)))")
        }
        guard info.st_size <= ConfigDocument.maxBytes else {
            throw ValidationError("the config file \(path) is over \(ConfigDocument.maxBytes) bytes")
        }
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw ValidationError("cannot read the config file \(path) as UTF-8 text")
        }
        let reader = ConfigReader(try document(text, source: path))
        let secrets = try ["api_secret", "keys", "storage.s3.secret", "redis.password", "cluster_secret"].filter { try reader.value($0) != nil }
        if let secret = secrets.first, info.st_mode & 0o077 != 0 {
            throw ValidationError("the config file \(path) holds a secret (\(secret)) and is readable by others "
                + "(mode \(String(info.st_mode & 0o777, radix: 8))); chmod 600 it")
        }
        return reader
    }

    private func document(_ text: String, source: String) throws -> ConfigDocument {
        do {
            return try ConfigDocument(text: text, source: source)
        } catch {
            throw ValidationError(error.description)
        }
    }

    /// --log-level, else EGRESS_LOG_LEVEL, else the config's `logging.level` (or `log_level`),
    /// else info. LiveKit's `warn` is swift-log's warning.
    func logLevel(_ config: ConfigReader) throws -> Logger.Level {
        let configured = try [config.value("logging.level"), config.value("log_level")].compactMap { $0 }
        if let flagged = try Environment.value(logLevel, "EGRESS_LOG_LEVEL", as: Logger.Level.self, flag: "--log-level") { return flagged }
        guard let value = configured.first else { return .info }
        guard configured.count == 1 else { throw ValidationError("\(configured[1].origin): the level is already set by logging.level") }
        let text = try value.text().lowercased()
        guard let level = text == "warn" ? .warning : Logger.Level(rawValue: text) else {
            throw ValidationError(value.error("\(text.debugDescription) is not trace, debug, info, notice, warning, error or critical").description)
        }
        return level
    }

    /// --log-format, else EGRESS_LOG_FORMAT, else the config's `logging.json` (LiveKit's key).
    func logFormat(_ config: ConfigReader) throws -> LogFormat {
        let json = try config.value("logging.json")?.bool()
        return try Environment.value(logFormat, "EGRESS_LOG_FORMAT", flag: "--log-format") ?? (json == true ? .json : .text)
    }

    /// Endpoints every event goes to: --webhook-url (repeatable), else EGRESS_WEBHOOK_URLS
    /// (comma-separated), else the config's `webhook.urls`; the signing key likewise.
    func loadWebhooks(_ config: ConfigReader) throws -> WebhookConfiguration {
        var webhooks = WebhookConfiguration()
        let configured = try config.value("webhook.urls")?.texts()
        if !webhookUrl.isEmpty {
            webhooks.urls = webhookUrl
        } else if let listed = try Environment.value(nil as String?, "EGRESS_WEBHOOK_URLS", flag: "--webhook-url") {
            webhooks.urls = listed.split(separator: ",").map(String.init)
        } else {
            webhooks.urls = configured ?? []
        }
        webhooks.apiKey = try Sourced.value(webhookKey, flag: "--webhook-key", environment: "EGRESS_WEBHOOK_KEY", config, "webhook.api_key")?.value
        return webhooks
    }

    /// TLS on the API port: --tls-cert and --tls-key (or EGRESS_TLS_*, or the config's `tls.cert`
    /// and `tls.key`), both or neither.
    func loadTLS(_ config: ConfigReader) throws -> TLSSettings? {
        let cert = try Sourced.value(tlsCert, flag: "--tls-cert", environment: "EGRESS_TLS_CERT", config, "tls.cert")
        let key = try Sourced.value(tlsKey, flag: "--tls-key", environment: "EGRESS_TLS_KEY", config, "tls.key")
        switch (cert, key) {
        case let (cert?, key?): return TLSSettings(certificatePath: cert.value, privateKeyPath: key.value)
        case (nil, nil): return nil
        case let (given?, nil), let (nil, given?): throw ValidationError("\(given.origin) needs the other of --tls-cert and --tls-key (tls.cert, tls.key)")
        }
    }

    /// The settings in effect as a config file (`--check-config`): every setting, secrets left out.
    func effectiveConfig(_ configuration: ServerConfiguration, logLevel: Logger.Level, logFormat: LogFormat) -> String {
        var entries: [(key: String, value: String)] = []
        entries.append(("logging.level", logLevel.rawValue))
        entries.append(("logging.json", logFormat == .json ? "true" : "false"))
        for setting in ServerSettings.all { entries.append((setting.key, setting.yaml(of: configuration))) }
        entries.append(("webhook.urls", "[" + configuration.webhooks.urls.map(YAMLText.quoted).joined(separator: ", ") + "]"))
        if let key = configuration.webhooks.apiKey { entries.append(("webhook.api_key", YAMLText.quoted(key))) }
        if let storage = configuration.defaultStorage {
            entries += [("storage.s3.bucket", YAMLText.quoted(storage.bucket)), ("storage.s3.region", YAMLText.quoted(storage.region)),
                        ("storage.s3.endpoint", YAMLText.quoted(storage.endpoint)), ("storage.s3.access_key", YAMLText.quoted(storage.accessKey)),
                        ("storage.s3.force_path_style", storage.forcePathStyle ? "true" : "false")]
        }
        if let redis = configuration.redis {
            let host = redis.host.contains(":") ? "[\(redis.host)]" : redis.host
            entries += [("redis.address", YAMLText.quoted("\(host):\(redis.port)")), ("redis.db", "\(redis.database)")]
            if let username = redis.username { entries.append(("redis.username", YAMLText.quoted(username))) }
        }
        if let tls = configuration.tls {
            entries += [("tls.cert", YAMLText.quoted(tls.certificatePath)), ("tls.key", YAMLText.quoted(tls.privateKeyPath))]
        }
        let keys = configuration.keys?.keys.joined(separator: ", ") ?? "none"
        return "# egress-server: the settings in effect. API keys: \(keys) (secrets are not shown).\n" + YAMLText.document(entries)
    }
}
