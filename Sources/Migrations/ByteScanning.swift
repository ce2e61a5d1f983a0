#if canImport(Glibc)
    internal import Glibc
#elseif canImport(Musl)
    internal import Musl
#elseif canImport(Darwin)
    internal import Darwin
#endif

/// The byte-level searches the parser and `Checksum` run over whole files, written to read many bytes per step.
extension UnsafeBufferPointer<UInt8> {
    /// The offset of the first `byte` in `range`, or `nil`: C's `memchr`, which compares a vector of bytes per step.
    func firstIndex(of byte: UInt8, in range: Range<Int>) -> Int? {
        guard let base = baseAddress, !range.isEmpty else {
            return nil
        }
        guard let found = memchr(base + range.lowerBound, Int32(byte), range.count) else {
            return nil
        }
        return UnsafeRawPointer(base).distance(to: UnsafeRawPointer(found))
    }

    /// Whether every byte in `range` is ASCII: one pass without branches, which the compiler vectorises.
    func isASCII(_ range: Range<Int>) -> Bool {
        var union: UInt8 = 0
        for offset in range {
            union |= self[offset]
        }
        return union < 0x80
    }

    /// Whether the bytes in `range` are those of `literal`.
    func bytes(in range: Range<Int>, equal literal: StaticString) -> Bool {
        literal.withUTF8Buffer { UnsafeBufferPointer(rebasing: self[range]).hasSameBytes(as: $0) }
    }

    /// Whether the bytes in `range` start with `prefix`, its letters in any ASCII case; `prefix` is lowercase ASCII.
    func bytes(in range: Range<Int>, startWithLettersOf prefix: StaticString) -> Bool {
        prefix.withUTF8Buffer { prefix in
            // `byte | 0x20` is the lowercase of an ASCII letter, and no other byte turns into a lowercase letter.
            range.count >= prefix.count
                && zip(self[range], prefix).allSatisfy {
                    $1 >= UInt8(ascii: "a") && $1 <= UInt8(ascii: "z") ? $0 | 0x20 == $1 : $0 == $1
                }
        }
    }

    /// Whether these bytes are the same as `other`'s.
    func hasSameBytes(as other: UnsafeBufferPointer<UInt8>) -> Bool {
        guard count == other.count else {
            return false
        }
        guard let base = baseAddress, let otherBase = other.baseAddress else {
            return true  // Both empty.
        }
        return memcmp(base, otherBase, count) == 0
    }
}
