/// Finding a header line on a file's raw bytes, without parsing it: for `orchestrate rebase`, which rewrites the
/// `-- parent:` line in place, and for `check`, which names that line even in a file that does not parse.
extension MigrationFile {
    /// The header line `-- KEY: value` before `-- migrate:up`: its 1-based number and the byte range of its value
    /// (after the colon and blanks, before trailing blanks and CR), or nil when there is none.
    ///
    /// A line counts when, after leading blanks, it is `--`, blanks, then KEY immediately followed by `:`, as the
    /// parser reads a header key. The search stops at the first line whose comment starts with `migrate:up`. A UTF-8
    /// BOM is skipped; only LF ends a line.
    public static func headerLine(ofKey key: String, in bytes: [UInt8]) -> (number: Int, value: Range<Int>)? {
        var key = key
        return key.withUTF8 { key in
            bytes.withUnsafeBufferPointer { bytes in
                let isBlank = { (byte: UInt8) in byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") }
                var start = bytes.count >= 3 && bytes[0] == 0xEF && bytes[1] == 0xBB && bytes[2] == 0xBF ? 3 : 0
                var number = 1
                while start < bytes.count {
                    let end = bytes.firstIndex(of: UInt8(ascii: "\n"), in: start..<bytes.count) ?? bytes.count
                    var text = bytes[start..<end].drop(while: isBlank)
                    if text.starts(with: "--".utf8) {
                        text = text.dropFirst(2).drop(while: isBlank)
                        if text.starts(with: "migrate:up".utf8) {
                            return nil
                        }
                        if text.starts(with: key), text.dropFirst(key.count).first == UInt8(ascii: ":") {
                            let valueStart = text.dropFirst(key.count + 1).drop(while: isBlank).startIndex
                            var valueEnd = end
                            while valueEnd > valueStart,
                                isBlank(bytes[valueEnd - 1]) || bytes[valueEnd - 1] == UInt8(ascii: "\r")
                            {
                                valueEnd -= 1
                            }
                            return (number, valueStart..<valueEnd)
                        }
                    }
                    start = end + 1
                    number += 1
                }
                return nil
            }
        }
    }

    /// Returns `bytes` (a whole file, raw) with the value of its `-- parent:` header line replaced by `parents`;
    /// every other byte is kept, including a UTF-8 BOM, CRLF line ends, the spacing around the key and any trailing
    /// whitespace on the line.
    ///
    /// The parent line is the one `headerLine(ofKey: "parent", in:)` finds. Returns nil when the file has no such
    /// line (a root revision) or `parents` is empty. The result is re-parsed by the caller; it parses whenever `bytes`
    /// did and `parents` are valid ids.
    public static func replacingParents(in bytes: [UInt8], with parents: [String]) -> [UInt8]? {
        guard !parents.isEmpty, let line = headerLine(ofKey: "parent", in: bytes) else { return nil }
        return Array(bytes[..<line.value.lowerBound]) + Array(parents.joined(separator: ", ").utf8)
            + Array(bytes[line.value.upperBound...])
    }
}
