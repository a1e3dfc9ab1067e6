import ArgumentParser
import Auth
import ConfigFile
import Redis
import HTTP
import SessionManager
#if canImport(Glibc)
import Glibc
#endif

extension EgressServerCommand {
    /// The API keys: --key-file, else --keys, else LIVEKIT_KEYS (LIVEKIT_KEY_FILE before it), else
    /// the config file's `api_key` + `api_secret`, `keys` or `key_file` (one of them), else devkey
    /// with --dev.
    func loadKeys(_ config: ConfigReader) throws -> APIKeys? {
        let apiKey = try config.value("api_key"), apiSecret = try config.value("api_secret")
        let keyMap = try config.value("keys"), keyPath = try config.value("key_file")
        do {
            if let path = try Environment.value(keyFile, "LIVEKIT_KEY_FILE", flag: "--key-file") {
                return try readKeyFile(path)
            }
            if let text = try Environment.value(keys, "LIVEKIT_KEYS", flag: "--keys") {
                return try APIKeys.parse(text)
            }
            let given = [apiKey ?? apiSecret, keyMap, keyPath].compactMap { $0 }
            guard given.count <= 1 else {
                throw ValidationError("\(given[1].origin): the config file gives its API keys once, as api_key and api_secret, keys, or key_file")
            }
            if let keyPath {
                return try readKeyFile(keyPath.text())
            }
            if let keyMap {
                var secrets: [String: String] = [:]
                for (key, secret) in try keyMap.pairs() { secrets[key] = secret }
                return try APIKeys.parse(secrets.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }.joined(separator: "\n"))
            }
            switch (apiKey, apiSecret) {
            case let (key?, secret?): return try APIKeys.parse("\(try key.text()): \(try secret.text())")
            case let (key?, nil): throw ValidationError("\(key.origin) has no api_secret beside it")
            case let (nil, secret?): throw ValidationError("\(secret.origin) has no api_key beside it")
            case (nil, nil): break
            }
        } catch let error as AuthError {
            throw ValidationError("API keys: \(error)")
        }
        return dev ? .development : nil
    }

    /// A file of `key: secret` lines that only its owner may read.
    private func readKeyFile(_ path: String) throws -> APIKeys {
        var info = stat()
        guard stat(path, &info) == 0 else {
            throw ValidationError("cannot read the key file \(path): \(String(cString: strerror(errno)))")
        }
        guard info.st_mode & 0o077 == 0 else {
            throw ValidationError("the key file \(path) is readable by others (mode \(String(info.st_mode & 0o777, radix: 8))); chmod 600 it")
        }
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw ValidationError("cannot read the key file \(path)")
        }
        return try APIKeys.parse(text)
    }
}

extension EgressServerCommand {
    /// The default storage: --s3-bucket (or EGRESS_S3_BUCKET, or the config file's
    /// `storage.s3.bucket`) and its credentials. The secret comes from the environment
    /// (EGRESS_S3_SECRET), the config file (`storage.s3.secret`) or AWS_SECRET_ACCESS_KEY, never
    /// from a flag other users could see in the process list.
    func loadStorage(_ config: ConfigReader) throws -> S3Upload? {
        let bucket = try Sourced.value(s3Bucket, flag: "--s3-bucket", environment: "EGRESS_S3_BUCKET", config, "storage.s3.bucket")
        let accessKeyGiven = try Sourced.value(s3AccessKey, flag: "--s3-access-key", environment: "EGRESS_S3_ACCESS_KEY", config, "storage.s3.access_key")
        let secretGiven = try Sourced.value(nil as String?, flag: "EGRESS_S3_SECRET", environment: "EGRESS_S3_SECRET", config, "storage.s3.secret")
        let regionGiven = try Sourced.value(s3Region, flag: "--s3-region", environment: "EGRESS_S3_REGION", config, "storage.s3.region")
        let endpointGiven = try Sourced.value(s3Endpoint, flag: "--s3-endpoint", environment: "EGRESS_S3_ENDPOINT", config, "storage.s3.endpoint")
        let pathStyleGiven = try Sourced.value(s3ForcePathStyle ? true : nil, flag: "--s3-force-path-style",
                                               environment: "EGRESS_S3_FORCE_PATH_STYLE", config, "storage.s3.force_path_style")
        guard let bucket else {
            for given in [accessKeyGiven, secretGiven, regionGiven, endpointGiven].compactMap({ $0 }) where !given.origin.hasPrefix("EGRESS_S3_SECRET") {
                throw ValidationError("\(given.origin) without --s3-bucket (storage.s3.bucket): there is no default storage to use it for")
            }
            return nil
        }
        let accessKey = try accessKeyGiven ?? Sourced.value(nil as String?, flag: "AWS_ACCESS_KEY_ID", environment: "AWS_ACCESS_KEY_ID", nil, "")
        let secret = try secretGiven ?? Sourced.value(nil as String?, flag: "AWS_SECRET_ACCESS_KEY", environment: "AWS_SECRET_ACCESS_KEY", nil, "")
        guard let accessKey, let secret, !accessKey.value.isEmpty, !secret.value.isEmpty else {
            throw ValidationError("\(bucket.origin) needs an access key (--s3-access-key, EGRESS_S3_ACCESS_KEY, storage.s3.access_key) "
                + "and a secret (EGRESS_S3_SECRET, storage.s3.secret)")
        }
        let region = regionGiven ?? Sourced(value: "", origin: "--s3-region")
        let endpoint = endpointGiven ?? Sourced(value: "", origin: "--s3-endpoint")
        // Letters, digits, "-", "_" and ".": it becomes part of a host name or a path.
        let bucketBytes = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.".utf8)
        guard !bucket.value.isEmpty, bucket.value.utf8.count <= S3Upload.maxBucketLength, bucket.value.utf8.allSatisfy(bucketBytes.contains) else {
            throw ValidationError("\(bucket.origin) \(bucket.value.debugDescription) is not a bucket name (letters, digits, -_. and at most "
                + "\(S3Upload.maxBucketLength) of them)")
        }
        for field in [accessKey, secret, region, endpoint]
        where field.value.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) || field.value.utf8.count > S3Upload.maxFieldLength {
            throw ValidationError("\(field.origin) has a control character or is over \(S3Upload.maxFieldLength) bytes")
        }
        let url = endpoint.value.lowercased()
        if !url.isEmpty, HTTPURL(endpoint.value) == nil || !(url.hasPrefix("http://") || url.hasPrefix("https://")) {
            // Not repeated: it may hold a password.
            throw ValidationError("\(endpoint.origin) is not an http:// or https:// URL with a host (and no user or password)")
        }
        if let problem = S3Upload.problem(accessKey: accessKey.value, region: region.value) { throw ValidationError(problem) }
        return S3Upload(accessKey: accessKey.value, secret: secret.value, region: region.value, endpoint: endpoint.value, bucket: bucket.value,
                        forcePathStyle: pathStyleGiven?.value ?? false)
    }
}

extension EgressServerCommand {
    /// The cluster's Redis: `--redis` (a URL without a password: flags show in the process
    /// list), EGRESS_REDIS_URL, or the config file's `redis` block with LiveKit's keys
    /// (`address`, `username`, `password`, `db`); the password may also come from
    /// EGRESS_REDIS_PASSWORD. `use_tls` is refused: Debian 12's hiredis has no TLS.
    func loadRedis(_ config: ConfigReader) throws -> RedisEndpoint? {
        let address = try Sourced.value(nil as String?, flag: "redis.address", environment: "", config, "redis.address")
        let username = try Sourced.value(nil as String?, flag: "redis.username", environment: "", config, "redis.username")
        let password = try Sourced.value(nil as String?, flag: "EGRESS_REDIS_PASSWORD", environment: "EGRESS_REDIS_PASSWORD", config, "redis.password")
        let database = try Sourced.value(nil as Int?, flag: "redis.db", environment: "", config, "redis.db")
        let tls = try Sourced.value(nil as Bool?, flag: "redis.use_tls", environment: "", config, "redis.use_tls")
        let url = try Sourced.value(redis, flag: "--redis", environment: "EGRESS_REDIS_URL", nil, "")
        var endpoint: RedisEndpoint
        do {
            if let url {
                endpoint = try RedisEndpoint(url: url.value)
                if url.origin == "--redis", endpoint.password != nil {
                    throw ValidationError("--redis carries a password, which the process list would show: give it in EGRESS_REDIS_PASSWORD or redis.password")
                }
            } else if let address {
                endpoint = try RedisEndpoint(url: "redis://" + address.value)
                guard endpoint.password == nil, endpoint.database == 0, !address.value.contains("/") else {
                    throw ValidationError("\(address.origin) is not host:port (user, password and db have keys of their own)")
                }
            } else {
                if let given = [username?.origin, password?.origin, tls?.origin, database?.origin].compactMap({ $0 }).first,
                   !given.hasPrefix("EGRESS_REDIS_PASSWORD") {
                    throw ValidationError("\(given) without redis.address (or --redis): there is no Redis to use it for")
                }
                return nil
            }
        } catch let error as RedisEndpointError {
            throw ValidationError("\(url?.origin ?? address?.origin ?? "redis"): \(error)")
        }
        if let tls, tls.value { throw ValidationError("\(tls.origin): TLS to Redis is not supported by this build's hiredis (0.14, Debian 12)") }
        if let username { endpoint.username = username.value }
        if let password { endpoint.password = password.value }
        if let database {
            guard (0...100_000).contains(database.value) else { throw ValidationError("\(database.origin) \(database.value) is not from 0 to 100000") }
            endpoint.database = database.value
        }
        for field in [endpoint.username, endpoint.password].compactMap({ $0 })
        where field.utf8.count > 1024 || field.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) {
            throw ValidationError("the Redis user name or password has a control character or is over 1024 bytes")
        }
        return endpoint
    }
}

extension EgressServerCommand {
    /// The secret that signs the calls between a cluster's nodes: EGRESS_CLUSTER_SECRET or the
    /// config file's `cluster_secret` (never a flag), the same on every node. Required with Redis,
    /// at least 32 characters: whoever holds it can act as a node.
    func loadClusterSecret(_ config: ConfigReader, redis: Bool) throws -> String? {
        let secret = try Sourced.value(nil as String?, flag: "EGRESS_CLUSTER_SECRET", environment: "EGRESS_CLUSTER_SECRET", config, "cluster_secret")
        guard redis else {
            if let secret { throw ValidationError("\(secret.origin) without --redis: there is no cluster to use it for") }
            return nil
        }
        guard let secret else {
            throw ValidationError("a cluster (--redis) needs a secret its nodes sign their calls to each other with: set EGRESS_CLUSTER_SECRET or the config file's cluster_secret (the same on every node, at least 32 characters)")
        }
        guard secret.value.utf8.count >= 32, secret.value.utf8.count <= 1024,
              !secret.value.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) else {
            throw ValidationError("\(secret.origin) must be 32 to 1024 characters without control characters")
        }
        return secret.value
    }
}

/// A value and where it came from (a flag, an environment variable, a config file's key and line),
/// for error messages.
struct Sourced<Value> {
    let value: Value
    let origin: String
}

extension Sourced where Value: LosslessStringConvertible {
    /// The flag's value, else the environment variable's, else the config file's.
    /// The config file's key is read even when a flag wins, so that it is not reported unknown.
    static func value(_ flagValue: Value?, flag: String, environment: String, _ config: ConfigReader?, _ key: String) throws -> Sourced? {
        let configured = try config?.value(key)
        if let flagValue { return Sourced(value: flagValue, origin: flag) }
        if let value = try Environment.value(nil as Value?, environment, flag: flag) { return Sourced(value: value, origin: environment) }
        guard let value = configured else { return nil }
        if Value.self == Bool.self, let bool = try value.bool() as? Value { return Sourced(value: bool, origin: value.origin) }
        return Sourced(value: try value.decode(Value.self), origin: value.origin)
    }
}
