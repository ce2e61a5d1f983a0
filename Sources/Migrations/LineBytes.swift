/// Reading a line's ASCII syntax (dashes, colons, commas, white space) on its UTF-8 bytes, as Swift's Characters read
/// it.
///
/// Markers, header keys and file names are ASCII, so the parser reads bytes, and in ASCII text a byte is a Character.
/// Next to other text an ASCII byte can be part of a larger Character: a combining mark after it (`:\u{301}` is no
/// colon, `-\u{301}` no dash) or a prepended sign before it (`\u{600}/` is no slash). The parser has always read such
/// lines as Characters, so wherever one byte decides (`isLoneCharacter(at:)`), it asks whether the byte is a Character
/// of its own. Only a non-ASCII neighbour makes it ask the standard library; ASCII text never does.
extension UnsafeBufferPointer<UInt8> {
    /// Whether the ASCII byte at `offset` is a Character of its own: neither a combining mark (or another extender)
    /// after it nor a prepended sign before it joins it to its neighbour.
    ///
    /// The bytes must be well-formed UTF-8 around `offset`. Between ASCII neighbours the answer is yes at once.
    @inline(__always)
    func isLoneCharacter(at offset: Int) -> Bool {
        let nextIsASCII = offset + 1 == count || self[offset + 1] < 0x80
        let previousIsASCII = offset == 0 || self[offset - 1] < 0x80
        return (nextIsASCII && previousIsASCII) || isLoneCharacterBesideNonASCII(at: offset)
    }

    /// `isLoneCharacter(at:)` next to a non-ASCII scalar. Grapheme breaks next to an ASCII byte depend only on the
    /// scalar on that side, so the answer is the standard library's on the byte and that one scalar.
    private func isLoneCharacterBesideNonASCII(at offset: Int) -> Bool {
        let next = offset + 1
        if next < count, self[next] >= 0x80 {
            let lead = self[next]
            let width = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : 2
            if isOneCharacter(offset..<Swift.min(next + width, count)) {
                return false
            }
        }
        if offset > 0, self[offset - 1] >= 0x80 {
            var start = offset - 1
            while start > 0, self[start] & 0xC0 == 0x80 {
                start -= 1
            }
            if isOneCharacter(start..<next) {
                return false
            }
        }
        return true
    }

    /// Whether the bytes in `range` (two scalars, so a small string: no allocation) make a single Character.
    private func isOneCharacter(_ range: Range<Int>) -> Bool {
        String(decoding: UnsafeBufferPointer(rebasing: self[range]), as: UTF8.self).count == 1
    }

    /// Whether the byte at `offset` is `byte` and a Character of its own (see `isLoneCharacter(at:)`).
    func isLone(_ byte: UInt8, at offset: Int) -> Bool {
        self[offset] == byte && isLoneCharacter(at: offset)
    }

    /// The text of the bytes in `range`.
    func text(_ range: Range<Int>) -> String {
        String(decoding: UnsafeBufferPointer(rebasing: self[range]), as: UTF8.self)
    }

    /// `range` without leading and trailing white space: the Characters space, tab, CR, vertical tab and form feed.
    func trimming(_ range: Range<Int>) -> Range<Int> {
        var start = range.lowerBound
        var end = range.upperBound
        while start < end, isASCIISpace(self[start]), isLoneCharacter(at: start) {
            start += 1
        }
        while end > start, isASCIISpace(self[end - 1]), isLoneCharacter(at: end - 1) {
            end -= 1
        }
        return start..<end
    }

    /// `range` without its leading spaces and tabs.
    ///
    /// Byte by byte: a blank joined to a mark is skipped too, which changes no answer, since what follows it (the
    /// mark) is then never the ASCII byte the caller looks for.
    func skippingBlanks(_ range: Range<Int>) -> Range<Int> {
        var start = range.lowerBound
        while start < range.upperBound, self[start] == UInt8(ascii: " ") || self[start] == UInt8(ascii: "\t") {
            start += 1
        }
        return start..<range.upperBound
    }
}

/// Whether `byte` is one of the spaces `trimming(_:)` removes: space, tab, CR, vertical tab, form feed.
func isASCIISpace(_ byte: UInt8) -> Bool {
    byte == 0x20 || byte == 0x09 || byte == 0x0D || byte == 0x0B || byte == 0x0C
}
