internal import CLibPQ

#if canImport(Glibc)
    internal import Glibc
#elseif canImport(Darwin)
    internal import Darwin
#endif

/// Small conversions shared by the files that call libpq. Nothing here is public.
enum LibPQ {
    /// A Swift string from a C string libpq owns, or nil for a NULL pointer.
    static func string(_ pointer: UnsafePointer<CChar>?) -> String? {
        pointer.map { String(cString: $0) }
    }

    /// The connection's current error message (PQerrorMessage), trimmed; empty when libpq has none.
    static func errorMessage(_ handle: OpaquePointer?) -> String {
        string(PQerrorMessage(handle))?.trimmed ?? ""
    }

    /// One row of a PQconninfoOption array: keyword, value (nil when unset) and whether libpq marks it secret.
    struct Option {
        var keyword: String
        var value: String?
        var isSecret: Bool
    }

    /// Copies a PQconninfoOption array (from PQconninfoParse, PQconninfo or PQconndefaults) into Swift values.
    /// The caller still frees the array with PQconninfoFree.
    static func options(_ array: UnsafeMutablePointer<PQconninfoOption>) -> [Option] {
        var result: [Option] = []
        var cursor = array
        while let keyword = cursor.pointee.keyword {
            let name = String(cString: keyword)
            // libpq's dispchar "*" marks a value to hide (password, sslpassword); the names are a second guard.
            let dispchar = string(cursor.pointee.dispchar) ?? ""
            let isSecret = dispchar.hasPrefix("*") || name == "password" || name == "sslpassword"
            result.append(Option(keyword: name, value: string(cursor.pointee.val), isSecret: isSecret))
            cursor += 1
        }
        return result
    }

    /// Calls `body` with a NULL-terminated array of C strings that stay valid for the duration of the call.
    /// A nil element becomes a NULL pointer (an SQL NULL parameter, for example).
    static func withCStrings<Result>(
        _ strings: [String?], nullTerminated: Bool,
        _ body: ([UnsafePointer<CChar>?]) -> Result
    ) -> Result {
        var storage: [CChar] = []
        var offsets: [Int?] = []
        for string in strings {
            guard let string else {
                offsets.append(nil)
                continue
            }
            offsets.append(storage.count)
            storage.append(contentsOf: string.utf8.map { CChar(bitPattern: $0) })
            storage.append(0)
        }
        return storage.withUnsafeBufferPointer { buffer in
            let base = buffer.baseAddress
            var pointers: [UnsafePointer<CChar>?] = offsets.map { offset in
                guard let offset, let base else { return nil }
                return base + offset
            }
            if nullTerminated { pointers.append(nil) }
            return body(pointers)
        }
    }

    /// Throws a usage error when `text` contains a NUL character, which no libpq string can carry.
    static func requireNoNUL(_ text: String, _ what: @autoclosure () -> String) throws(PostgresError) {
        // memchr on the contiguous UTF-8 of a native String; the generic `contains` walks it byte by byte.
        let hasNUL =
            text.utf8.withContiguousStorageIfAvailable { buffer in
                guard let base = buffer.baseAddress else { return false }
                return memchr(base, 0, buffer.count) != nil
            } ?? text.utf8.contains(0)
        if hasNUL {
            throw PostgresError(
                kind: .usage,
                message: "\(what()) contains a NUL character, which PostgreSQL cannot store; remove it")
        }
    }
}

extension StringProtocol {
    /// The text without leading and trailing whitespace and newlines.
    var trimmed: String {
        let start = firstIndex { !$0.isWhitespace } ?? endIndex
        let end = lastIndex { !$0.isWhitespace }.map { index(after: $0) } ?? start
        return start < end ? String(self[start..<end]) : ""
    }
}
