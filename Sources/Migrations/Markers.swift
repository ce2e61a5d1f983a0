/// The section markers, `-- migrate:up` and `-- migrate:down`, and the lines that look like one but are not.
///
/// A marker is a line holding `--`, optional blanks, then exactly `migrate:up` or `migrate:down`, with any white space
/// around it. A comment starting with `migrate`, in any case, then optional blanks and a colon (`-- migrate: down`,
/// `-- MIGRATE:up`, `-- migrate:up transaction:false`) is a malformed marker: an error wherever it is, rather than a
/// comment that would silently merge two sections.
enum LineKind {
    case upMarker
    case downMarker
    /// Looks like a marker but is not one.
    case malformedMarker
    /// Any other comment (maybe a header line): `body` is the bytes after `--` and blanks, up to trailing white space.
    case comment(body: Range<Int>)
    /// SQL or a blank line.
    case other
}

extension MigrationParser {
    /// The kind of `line`.
    ///
    /// Most lines (SQL) do not start with `--` after white space, which their first bytes tell. A line with non-ASCII
    /// bytes is never a marker, since markers are ASCII, but can be a malformed one.
    @inline(__always)
    func kind(of line: Range<Int>) -> LineKind {
        var start = line.lowerBound
        while start < line.upperBound, isASCIISpace(bytes[start]) {
            start += 1
        }
        guard line.upperBound - start >= 2, bytes[start] == UInt8(ascii: "-"), bytes[start + 1] == UInt8(ascii: "-")
        else {
            return .other
        }
        // The white space before the dashes is all ASCII, so that only a mark after the second dash can join it.
        guard bytes.isLoneCharacter(at: start + 1) else {
            return .other
        }
        let body = bytes.skippingBlanks(start + 2..<bytes.trimming(start..<line.upperBound).upperBound)
        if bytes.bytes(in: body, equal: "migrate:up") {
            return .upMarker
        }
        if bytes.bytes(in: body, equal: "migrate:down") {
            return .downMarker
        }
        // `migrate` then optional blanks then `:`, in any case: a marker with a typo or with options.
        guard bytes.bytes(in: body, startWithLettersOf: "migrate"),
            let colon = bytes.skippingBlanks(body.lowerBound + 7..<body.upperBound).first,
            bytes.isLone(UInt8(ascii: ":"), at: colon)
        else {
            return .comment(body: body)
        }
        return .malformedMarker
    }

    // MARK: - Errors

    func malformedMarkerError(line index: Int, _ line: Range<Int>) -> MigrationError {
        error(
            line: index,
            "malformed marker '\(bytes.text(bytes.trimming(line)))': expected '-- migrate:up' or '-- migrate:down' "
                + "alone on the line (options such as 'transaction:false' go in the header as '-- transaction: false')")
    }

    func secondUpMarkerError(line index: Int, first: Int) -> MigrationError {
        error(
            line: index,
            "a second '-- migrate:up' line (the first is on line \(first + 1)): a migration has "
                + "exactly one up section; remove this line or move this SQL into another revision")
    }

    func secondDownMarkerError(line index: Int, first: Int) -> MigrationError {
        error(
            line: index,
            "a second '-- migrate:down' line (the first is on line \(first + 1)): a migration has at "
                + "most one down section; remove one of them")
    }

    func downBeforeUpError(line index: Int, up: Int) -> MigrationError {
        error(
            line: index,
            "'-- migrate:down' comes before '-- migrate:up' (line \(up + 1)): expected the up "
                + "section first; move the down section after the up section")
    }

    func downWithoutUpError(line index: Int) -> MigrationError {
        error(
            line: index,
            "found '-- migrate:down' but no '-- migrate:up' line: expected a '-- migrate:up' line "
                + "before the up SQL, and '-- migrate:down' after it")
    }

    func missingUpMarkerError() -> MigrationError {
        error(
            line: 0,
            "expected a '-- migrate:up' line: put the header ('-- parent: ...') first, then a line "
                + "'-- migrate:up', the up SQL, and optionally '-- migrate:down' with the down SQL")
    }
}
