/// Rewriting the `-- parent:` line of a migration file in place, for `orchestrate rebase`.
extension MigrationFile {
    /// Returns `bytes` (a whole file, raw) with the value of its `-- parent:` header line replaced by `parents`;
    /// every other byte is kept, including a UTF-8 BOM, CRLF line ends, the spacing around the key and any trailing
    /// whitespace on the line.
    ///
    /// The parent line is the header line (before `-- migrate:up`) whose comment body is `parent:`, exactly as the
    /// parser reads it. Returns nil when the file has no such line (a root revision) or `parents` is empty. The
    /// result is re-parsed by the caller; it parses whenever `bytes` did and `parents` are valid ids.
    public static func replacingParents(in bytes: [UInt8], with parents: [String]) -> [UInt8]? {
        guard !parents.isEmpty else { return nil }
        let space = UInt8(ascii: " "), tab = UInt8(ascii: "\t"), cr = UInt8(ascii: "\r"), lf = UInt8(ascii: "\n")
        let dash = UInt8(ascii: "-"), colon = UInt8(ascii: ":")
        var lineStart = 0
        if bytes.count >= 3, bytes[0] == 0xEF, bytes[1] == 0xBB, bytes[2] == 0xBF { lineStart = 3 }
        while lineStart < bytes.count {
            var lineEnd = lineStart
            while lineEnd < bytes.count, bytes[lineEnd] != lf { lineEnd += 1 }
            // [lineStart, contentEnd) is the line without CR/LF and trailing blanks.
            var contentEnd = lineEnd
            while contentEnd > lineStart, [space, tab, cr].contains(bytes[contentEnd - 1]) { contentEnd -= 1 }
            var cursor = lineStart
            while cursor < contentEnd, bytes[cursor] == space || bytes[cursor] == tab { cursor += 1 }
            if cursor + 1 < contentEnd, bytes[cursor] == dash, bytes[cursor + 1] == dash {
                var body = cursor + 2
                while body < contentEnd, bytes[body] == space || bytes[body] == tab { body += 1 }
                let rest = bytes[body..<contentEnd]
                if rest.elementsEqual("migrate:up".utf8) { return nil }
                if rest.starts(with: "parent".utf8), body + 6 < contentEnd, bytes[body + 6] == colon {
                    var valueStart = body + 7
                    while valueStart < contentEnd, bytes[valueStart] == space || bytes[valueStart] == tab { valueStart += 1 }
                    return Array(bytes[..<valueStart]) + Array(parents.joined(separator: ", ").utf8) + Array(bytes[contentEnd...])
                }
            }
            lineStart = lineEnd + 1
        }
        return nil
    }
}
