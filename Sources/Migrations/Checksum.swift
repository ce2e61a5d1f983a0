import Crypto

/// The checksum of a migration file, as recorded in each environment's ledger.
///
/// The checksum is the lowercase hex SHA-256 of the file's bytes after `normalize(_:)`: a leading UTF-8
/// byte order mark is dropped and every CRLF becomes LF, so a checkout with `core.autocrlf` does not look
/// like an edit. Everything else counts, including trailing whitespace and the final newline.
public enum Checksum {
    /// Returns `bytes` without a leading UTF-8 BOM (`EF BB BF`) and with every `CR LF` pair turned into `LF`.
    ///
    /// A lone `CR` (not followed by `LF`) is kept. The result is what the parser reads and what is hashed.
    public static func normalize(_ bytes: [UInt8]) -> [UInt8] {
        let hasBOM = bytes.count >= 3 && bytes[0] == 0xEF && bytes[1] == 0xBB && bytes[2] == 0xBF
        let hasCR = bytes.withUnsafeBufferPointer { $0.firstIndex(of: 0x0D, in: $0.indices) != nil }
        if !hasBOM, !hasCR {
            return bytes  // Nothing to change (the common case): no copy.
        }
        let start = hasBOM ? 3 : 0
        var result: [UInt8] = []
        result.reserveCapacity(bytes.count - start)
        var index = start
        while index < bytes.count {
            let byte = bytes[index]
            if byte == 0x0D, index + 1 < bytes.count, bytes[index + 1] == 0x0A {
                // Drop the CR; the LF is appended on the next iteration.
                index += 1
                continue
            }
            result.append(byte)
            index += 1
        }
        return result
    }

    /// Returns the lowercase hex SHA-256 of `normalize(bytes)`: the checksum of a migration file.
    public static func sha256Hex(normalizing bytes: [UInt8]) -> String {
        sha256Hex(ofNormalized: normalize(bytes))
    }

    /// Lowercase hex SHA-256 of bytes that are already normalised.
    static func sha256Hex(ofNormalized bytes: [UInt8]) -> String {
        let digest = SHA256.hash(data: bytes)
        let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)
        var hex: [UInt8] = []
        hex.reserveCapacity(64)
        for byte in digest {
            hex.append(hexDigits[Int(byte >> 4)])
            hex.append(hexDigits[Int(byte & 0x0F)])
        }
        return String(decoding: hex, as: UTF8.self)
    }
}
