/// The reader behind `MigrationFile.parse(path:bytes:)` and `parseNode(path:bytes:)`: one pass over the lines of the
/// normalised bytes.
///
/// A line is a byte range without its newline; a file ending in a newline has an empty last line. Most lines are SQL,
/// which their first bytes tell: only lines starting with `--` after white space (markers and comments, `Markers`)
/// and header lines (`HeaderKeys`) get a closer look. Strings are made only for what the result holds and for error
/// messages. Lines holding non-ASCII bytes are read on bytes too, as Characters read them (`LineBytes`).
struct MigrationParser {
    /// What the header says, and where the sections lie.
    struct Layout {
        var header = MigrationHeader()
        /// The bytes of the up section: from the line after `-- migrate:up` to `-- migrate:down` or the end.
        var up = 0..<0
        /// The 1-based file line of the first line of `up`.
        var upStartLine = 1
        /// The bytes of the down section (after `-- migrate:down`), when there is one.
        var down: Range<Int>?
        /// The 1-based file line of the first line of `down`.
        var downStartLine: Int?
    }

    /// The first problem before the up marker (0-based lines). It is thrown when the up marker comes; a file without
    /// an up marker gets an error about that instead.
    enum EarlyProblem {
        case malformedMarker(index: Int, line: Range<Int>)
        case downMarker(index: Int)
        case header(MigrationError)
    }

    let path: String
    /// The normalised file contents; the parser lives inside the closure that provides them.
    let bytes: UnsafeBufferPointer<UInt8>

    init(path: String, bytes: UnsafeBufferPointer<UInt8>) {
        self.path = path
        self.bytes = bytes
    }

    /// Reads the file: where its sections lie and what its header says, or the first error (a NUL byte or invalid
    /// UTF-8 first).
    func parse() throws(MigrationError) -> Layout {
        try checkBytes()
        var layout = Layout()
        var upIndex: Int?
        var downIndex: Int?
        // Header lines are read until the up marker or the first problem before it, which is the one thrown.
        var readingHeader = true
        var early: EarlyProblem?
        var firstMalformed: (index: Int, line: Range<Int>)?
        var firstDown: Int?
        var index = 0
        var start = 0
        while true {
            let end = bytes.firstIndex(of: UInt8(ascii: "\n"), in: start..<bytes.count) ?? bytes.count
            let line = start..<end
            let nextLine = min(end + 1, bytes.count)
            switch kind(of: line) {
            case .other where readingHeader:
                // A blank line, or SQL before the up marker.
                if !bytes.trimming(line).isEmpty {
                    early = .header(sqlInHeaderError(line: index))
                    readingHeader = false
                }
            case .comment(let body) where readingHeader:
                do {
                    try readHeaderComment(body, line: line, index: index, into: &layout.header)
                } catch {
                    early = .header(error)
                    readingHeader = false
                }
            case .other, .comment:
                break
            case .malformedMarker:
                if upIndex != nil {
                    throw malformedMarkerError(line: index, line)
                }
                firstMalformed = firstMalformed ?? (index, line)
                early = early ?? .malformedMarker(index: index, line: line)
                readingHeader = false
            case .upMarker:
                if let upIndex {
                    throw secondUpMarkerError(line: index, first: upIndex)
                }
                if let early {
                    throw error(early, upIndex: index)
                }
                upIndex = index
                readingHeader = false
                layout.up = nextLine..<bytes.count
                layout.upStartLine = index + 2
            case .downMarker:
                guard upIndex != nil else {
                    firstDown = firstDown ?? index
                    early = early ?? .downMarker(index: index)
                    readingHeader = false
                    break
                }
                if let downIndex {
                    throw secondDownMarkerError(line: index, first: downIndex)
                }
                downIndex = index
                layout.up = layout.up.lowerBound..<start
                layout.down = nextLine..<bytes.count
                layout.downStartLine = index + 2
            }
            guard end < bytes.count else {
                break
            }
            start = end + 1
            index += 1
        }
        guard upIndex != nil else {
            if let malformed = firstMalformed {
                throw malformedMarkerError(line: malformed.index, malformed.line)
            }
            if let down = firstDown {
                throw downWithoutUpError(line: down)
            }
            throw missingUpMarkerError()
        }
        // An up section without statements parses (a file fresh from `orchestrate new` must not break every
        // command); applying it is refused (see `hasEmptyUp`).
        return layout
    }

    // MARK: - Bytes PostgreSQL cannot run

    /// Throws at the first byte PostgreSQL could never run: a NUL byte (PostgreSQL refuses it in a query) or a byte
    /// that is not part of well-formed UTF-8, naming its line and offset.
    func checkBytes() throws(MigrationError) {
        let nul = bytes.firstIndex(of: 0, in: bytes.indices)
        if let invalid = firstInvalidUTF8OffsetIfAny(), nul.map({ invalid < $0 }) ?? true {
            throw MigrationError(
                path: path, line: lineNumber(ofOffset: invalid),
                message: "the file is not valid UTF-8 (byte \(invalid + 1) of the file); save it with UTF-8 encoding")
        }
        if let nul {
            throw MigrationError(
                path: path, line: lineNumber(ofOffset: nul),
                message: "the file holds a NUL byte (byte \(nul + 1) of the file), which PostgreSQL cannot run; "
                    + "remove it (a file saved as UTF-16 is full of them: save it as UTF-8)")
        }
    }

    /// The 1-based line of the byte at `offset`.
    private func lineNumber(ofOffset offset: Int) -> Int {
        1 + UnsafeBufferPointer(rebasing: bytes[..<offset]).count(where: { $0 == UInt8(ascii: "\n") })
    }

    /// The offset of the first byte that is not part of well-formed UTF-8, or nil when all of it is.
    private func firstInvalidUTF8OffsetIfAny() -> Int? {
        // ASCII, the usual case, is valid. Decoding replaces ill-formed sequences, so other text is valid exactly
        // when the standard library's decoding gives back the same bytes.
        if bytes.isASCII(bytes.indices) {
            return nil
        }
        var decoded = String(decoding: bytes, as: UTF8.self)
        if decoded.withUTF8({ $0.hasSameBytes(as: bytes) }) {
            return nil
        }
        return firstInvalidUTF8Offset()
    }

    /// The offset of the first byte that is not part of well-formed UTF-8 (the end when all of it is).
    private func firstInvalidUTF8Offset() -> Int {
        var iterator = bytes.makeIterator()
        var decoder = UTF8()
        var offset = 0
        while case .scalarValue(let scalar) = decoder.decode(&iterator) {
            offset += UTF8.width(scalar)
        }
        return offset
    }

    // MARK: - Errors

    /// An error on the 0-based line `index`.
    func error(line index: Int, _ message: String) -> MigrationError {
        MigrationError(path: path, line: index + 1, message: message)
    }

    /// The error for `problem`, found before the up marker on 0-based line `upIndex`.
    private func error(_ problem: EarlyProblem, upIndex: Int) -> MigrationError {
        switch problem {
        case .malformedMarker(let index, let line):
            malformedMarkerError(line: index, line)
        case .downMarker(let index):
            downBeforeUpError(line: index, up: upIndex)
        case .header(let error):
            error
        }
    }
}
