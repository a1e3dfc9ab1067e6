import Crypto
import CZlib

/// A STUN message (RFC 8489), as an ICE-lite endpoint reads and answers them: a 20-byte header
/// (type, length, magic cookie, transaction id) and TLV attributes, each padded to 4 bytes.
/// Every size is checked against the datagram before it is read; a message that does not hold
/// together is `nil`, never a trap.
public struct STUNMessage: Sendable, Equatable {
    /// The magic cookie every RFC 5389+ message carries at bytes 4–7.
    public static let magicCookie: UInt32 = 0x2112_A442
    /// The largest message read (a datagram on a path of 1500 bytes, with room to spare).
    public static let maxSize = 2048
    /// The most attributes read from one message.
    public static let maxAttributes = 32

    public enum AttributeType {
        public static let mappedAddress: UInt16 = 0x0001
        public static let username: UInt16 = 0x0006
        public static let messageIntegrity: UInt16 = 0x0008
        public static let errorCode: UInt16 = 0x0009
        public static let xorMappedAddress: UInt16 = 0x0020
        public static let priority: UInt16 = 0x0024
        public static let useCandidate: UInt16 = 0x0025
        public static let software: UInt16 = 0x8022
        public static let fingerprint: UInt16 = 0x8028
        public static let iceControlled: UInt16 = 0x8029
        public static let iceControlling: UInt16 = 0x802A
    }

    public struct Attribute: Sendable, Equatable {
        public let type: UInt16
        public let value: [UInt8]
        /// Where its header starts in the message's bytes.
        let offset: Int
    }

    /// Method and class together (0x0001 Binding request, 0x0101 its success response).
    public let type: UInt16
    public let transactionID: [UInt8]
    public let attributes: [Attribute]
    /// The message as received (integrity and fingerprint are computed over it).
    public let bytes: [UInt8]

    public static let bindingRequest: UInt16 = 0x0001
    public static let bindingSuccess: UInt16 = 0x0101
    public static let bindingError: UInt16 = 0x0111

    /// Whether a datagram's first byte says STUN (RFC 7983: 0–3), before anything else is read.
    public static func looksLikeSTUN(_ firstByte: UInt8) -> Bool { firstByte <= 3 }

    /// Reads one message; nil when it is not a whole, well-formed STUN message.
    public init?(_ bytes: [UInt8]) {
        guard bytes.count >= 20, bytes.count <= Self.maxSize, bytes[0] & 0xC0 == 0 else { return nil }
        let length = Int(bytes[2]) << 8 | Int(bytes[3])
        guard length % 4 == 0, length == bytes.count - 20, Self.uint32(bytes, at: 4) == Self.magicCookie else { return nil }
        var attributes: [Attribute] = []
        var offset = 20
        while offset < bytes.count {
            guard attributes.count < Self.maxAttributes, offset + 4 <= bytes.count else { return nil }
            let type = UInt16(bytes[offset]) << 8 | UInt16(bytes[offset + 1])
            let valueLength = Int(bytes[offset + 2]) << 8 | Int(bytes[offset + 3])
            let padded = (valueLength + 3) & ~3
            guard offset + 4 + padded <= bytes.count else { return nil }
            attributes.append(Attribute(type: type, value: Array(bytes[(offset + 4) ..< (offset + 4 + valueLength)]), offset: offset))
            offset += 4 + padded
            // Nothing but FINGERPRINT may follow MESSAGE-INTEGRITY, and nothing FINGERPRINT.
            if type == AttributeType.fingerprint, offset != bytes.count { return nil }
        }
        self.type = UInt16(bytes[0]) << 8 | UInt16(bytes[1])
        transactionID = Array(bytes[8 ..< 20])
        self.attributes = attributes
        self.bytes = bytes
    }

    public func attribute(_ type: UInt16) -> Attribute? { attributes.first { $0.type == type } }

    /// USERNAME as text (ICE: `<receiver's ufrag>:<sender's ufrag>`), if valid UTF-8 of at most 513 bytes.
    public var username: String? {
        guard let value = attribute(AttributeType.username)?.value, value.count <= 513 else { return nil }
        return String(validating: value, as: UTF8.self)
    }

    /// Whether MESSAGE-INTEGRITY is there and is the HMAC-SHA1, keyed with `password` (ICE's
    /// short-term credential), of the message before it with the length counting up to its end.
    /// Compared in constant time.
    public func hasIntegrity(password: [UInt8]) -> Bool {
        guard let integrity = attribute(AttributeType.messageIntegrity), integrity.value.count == 20 else { return false }
        var covered = Array(bytes[..<integrity.offset])
        Self.setLength(&covered, to: integrity.offset + 24 - 20)
        let mac = HMAC<Insecure.SHA1>.authenticationCode(for: covered, using: SymmetricKey(data: password))
        return Array(mac).withUnsafeBufferPointer { computed in
            integrity.value.withUnsafeBufferPointer { given in
                zip(computed, given).reduce(UInt8(0)) { $0 | ($1.0 ^ $1.1) } == 0
            }
        }
    }

    /// Whether FINGERPRINT is there, last, and is the CRC-32 of the message before it XOR 0x5354554E.
    public var hasValidFingerprint: Bool {
        guard let fingerprint = attribute(AttributeType.fingerprint), fingerprint.value.count == 4,
              fingerprint.offset + 8 == bytes.count else { return false }
        return Self.uint32(fingerprint.value, at: 0) == Self.fingerprint(of: Array(bytes[..<fingerprint.offset]))
    }

    /// XOR-MAPPED-ADDRESS (IPv4 or IPv6) as address bytes and port, if there and well formed.
    public var xorMappedAddress: (address: [UInt8], port: UInt16)? {
        guard let value = attribute(AttributeType.xorMappedAddress)?.value, value.count >= 8 else { return nil }
        let port = (UInt16(value[2]) << 8 | UInt16(value[3])) ^ UInt16(Self.magicCookie >> 16)
        let mask = Self.bytes(of: Self.magicCookie) + transactionID
        switch (value[1], value.count) {
        case (0x01, 8): return (zip(value[4 ..< 8], mask).map { $0 ^ $1 }, port)
        case (0x02, 20): return (zip(value[4 ..< 20], mask).map { $0 ^ $1 }, port)
        default: return nil
        }
    }

    // MARK: Writing

    /// A Binding success response to `request`: XOR-MAPPED-ADDRESS (the request's source),
    /// MESSAGE-INTEGRITY keyed with `password`, FINGERPRINT.
    public static func bindingSuccess(to request: STUNMessage, mappedAddress address: [UInt8], port: UInt16,
                                      password: [UInt8]) -> [UInt8] {
        var message = header(type: bindingSuccess, transactionID: request.transactionID)
        let family: UInt8 = address.count == 16 ? 0x02 : 0x01
        let mask = bytes(of: magicCookie) + request.transactionID
        let xorPort = port ^ UInt16(magicCookie >> 16)
        let value = [0, family, UInt8(xorPort >> 8), UInt8(xorPort & 0xFF)] + zip(address, mask).map { $0 ^ $1 }
        append(AttributeType.xorMappedAddress, value, to: &message)
        appendIntegrity(password: password, to: &message)
        appendFingerprint(to: &message)
        return message
    }

    /// A 20-byte header with no attributes yet.
    static func header(type: UInt16, transactionID: [UInt8]) -> [UInt8] {
        [UInt8(type >> 8), UInt8(type & 0xFF), 0, 0] + bytes(of: magicCookie) + transactionID
    }

    /// Adds an attribute, zero-padded to 4 bytes, and updates the header's length.
    static func append(_ type: UInt16, _ value: [UInt8], to message: inout [UInt8]) {
        message += [UInt8(type >> 8), UInt8(type & 0xFF), UInt8(value.count >> 8), UInt8(value.count & 0xFF)] + value
        message += [UInt8](repeating: 0, count: (4 - value.count % 4) % 4)
        setLength(&message, to: message.count - 20)
    }

    static func appendIntegrity(password: [UInt8], to message: inout [UInt8]) {
        var covered = message
        setLength(&covered, to: message.count - 20 + 24)
        append(AttributeType.messageIntegrity,
               Array(HMAC<Insecure.SHA1>.authenticationCode(for: covered, using: SymmetricKey(data: password))), to: &message)
    }

    static func appendFingerprint(to message: inout [UInt8]) {
        append(AttributeType.fingerprint, bytes(of: fingerprint(of: message)), to: &message)
    }

    /// CRC-32 (zlib's) of the message before FINGERPRINT XOR "STUN", its length field counting
    /// FINGERPRINT as the whole message will.
    private static func fingerprint(of covered: [UInt8]) -> UInt32 {
        var bytes = covered
        setLength(&bytes, to: covered.count + 8 - 20)
        let crc = bytes.withUnsafeBufferPointer { UInt32(crc32(0, $0.baseAddress, UInt32($0.count))) }
        return crc ^ 0x5354_554E
    }

    private static func setLength(_ message: inout [UInt8], to length: Int) {
        message[2] = UInt8(truncatingIfNeeded: length >> 8)
        message[3] = UInt8(truncatingIfNeeded: length)
    }

    private static func uint32(_ bytes: [UInt8], at offset: Int) -> UInt32 {
        UInt32(bytes[offset]) << 24 | UInt32(bytes[offset + 1]) << 16 | UInt32(bytes[offset + 2]) << 8 | UInt32(bytes[offset + 3])
    }

    private static func bytes(of value: UInt32) -> [UInt8] {
        [UInt8(value >> 24), UInt8((value >> 16) & 0xFF), UInt8((value >> 8) & 0xFF), UInt8(value & 0xFF)]
    }
}
