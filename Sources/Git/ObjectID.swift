internal import CLibGit2

/// The id of a git object (commit, tree or blob): 20 bytes of SHA-1, shown as 40 hex digits.
///
/// Cheap to copy, hash and compare, so callers can key caches by blob id: a blob id that did not
/// change means bytes that did not change.
public struct ObjectID: Hashable, Sendable, CustomStringConvertible {
    // The 20 bytes, in storage order, as three words.
    private let word0: UInt64
    private let word1: UInt64
    private let word2: UInt32

    /// Parses 40 hexadecimal digits (either case); nil for anything else.
    ///
    /// Use `Repository.resolve(_:)` for short ids and revision expressions.
    public init?(hex: String) {
        let digits = Array(hex.utf8)
        guard digits.count == 40 else { return nil }
        var bytes = [UInt8](repeating: 0, count: 20)
        for index in 0..<20 {
            guard let high = Self.nibble(digits[2 * index]), let low = Self.nibble(digits[2 * index + 1]) else {
                return nil
            }
            bytes[index] = high << 4 | low
        }
        (word0, word1, word2) = bytes.withUnsafeBytes { raw in
            (
                raw.loadUnaligned(fromByteOffset: 0, as: UInt64.self),
                raw.loadUnaligned(fromByteOffset: 8, as: UInt64.self),
                raw.loadUnaligned(fromByteOffset: 16, as: UInt32.self)
            )
        }
    }

    /// The full id: 40 lowercase hex digits.
    public var hex: String {
        let alphabet = Array("0123456789abcdef".utf8)
        var digits = [UInt8]()
        digits.reserveCapacity(40)
        for byte in bytes {
            digits.append(alphabet[Int(byte >> 4)])
            digits.append(alphabet[Int(byte & 0x0f)])
        }
        return String(decoding: digits, as: UTF8.self)
    }

    /// The first 7 hex digits, as `git log --oneline` shows them. For display only: not guaranteed unique.
    public var short: String { String(hex.prefix(7)) }

    /// The full id.
    public var description: String { hex }

    private var bytes: [UInt8] {
        var bytes = [UInt8](repeating: 0, count: 20)
        bytes.withUnsafeMutableBytes { raw in
            raw.storeBytes(of: word0, toByteOffset: 0, as: UInt64.self)
            raw.storeBytes(of: word1, toByteOffset: 8, as: UInt64.self)
            raw.storeBytes(of: word2, toByteOffset: 16, as: UInt32.self)
        }
        return bytes
    }

    private static func nibble(_ digit: UInt8) -> UInt8? {
        switch digit {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): digit - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): digit - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): digit - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}

extension ObjectID {
    /// The id held by a libgit2 `git_oid`.
    init(_ oid: git_oid) {
        (word0, word1, word2) = withUnsafeBytes(of: oid.id) { raw in
            (
                raw.loadUnaligned(fromByteOffset: 0, as: UInt64.self),
                raw.loadUnaligned(fromByteOffset: 8, as: UInt64.self),
                raw.loadUnaligned(fromByteOffset: 16, as: UInt32.self)
            )
        }
    }

    /// The id held by a libgit2 `const git_oid *`.
    init(_ oid: UnsafePointer<git_oid>) {
        self.init(oid.pointee)
    }

    /// A fixed total order on ids (not the hex order), to make results deterministic.
    func precedes(_ other: ObjectID) -> Bool {
        (word0, word1, word2) < (other.word0, other.word1, other.word2)
    }

    /// This id as a libgit2 `git_oid`.
    var oid: git_oid {
        var oid = git_oid()
        withUnsafeMutableBytes(of: &oid.id) { raw in
            raw.storeBytes(of: word0, toByteOffset: 0, as: UInt64.self)
            raw.storeBytes(of: word1, toByteOffset: 8, as: UInt64.self)
            raw.storeBytes(of: word2, toByteOffset: 16, as: UInt32.self)
        }
        return oid
    }
}
