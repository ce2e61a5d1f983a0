import Foundation

/// A parser for `.env` files in the dotenv syntax most tools accept.
///
/// Supported: `KEY=value`, `export KEY=value`, blank lines, `#` comments (whole-line, and after an unquoted value
/// when preceded by white space), single quotes (literal), double quotes (with `\n`, `\t`, `\"`, `\\` escapes and
/// values spanning several lines). Values are not expanded: `${VAR}` in `.env` stays as written.
public enum DotEnv {
    /// Parses `text`; `path` names the file in errors, which carry the 1-based line.
    public static func parse(_ text: String, path: String) throws(OrchestrateError) -> [String: String] {
        var result: [String: String] = [:]
        // A UTF-8 byte order mark (Windows editors write one) is not part of the first line.
        let text = text.unicodeScalars.first == "\u{FEFF}" ? String(text.unicodeScalars.dropFirst()) : text
        let lines = text.replacingCRLF().split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        var index = 0
        while index < lines.count {
            let lineNumber = index + 1
            var line = lines[index].trimmingLeadingWhitespace()
            index += 1
            if line.isEmpty || line.hasPrefix("#") { continue }
            if line.hasPrefix("export ") || line.hasPrefix("export\t") {
                line = String(line.dropFirst("export".count)).trimmingLeadingWhitespace()
            }
            guard let equals = line.firstIndex(of: "=") else {
                // The line is not quoted: it could be part of a secret (a URL broken over two lines).
                throw .usage(
                    "\(path):\(lineNumber): expected KEY=value or a # comment",
                    hint: "a value that spans several lines must be in double quotes")
            }
            let key = String(line[..<equals]).trimmingWhitespace()
            guard isValidName(key) else {
                // Nor is the name: on a damaged line, what comes before `=` may be a secret.
                throw .usage(
                    "\(path):\(lineNumber): the name before `=` is not a valid variable name (letters, digits and _, not starting with a digit)"
                )
            }
            var rest = Substring(line[line.index(after: equals)...]).drop(while: { $0 == " " || $0 == "\t" })
            var value = ""
            if rest.first == "'" {
                rest = rest.dropFirst()
                guard let close = rest.firstIndex(of: "'") else {
                    throw .usage("\(path):\(lineNumber): unterminated single-quoted value for \(key)")
                }
                value = String(rest[..<close])
            } else if rest.first == "\"" {
                // A double-quoted value may span lines; escapes are resolved as in shells' dotenv loaders.
                var pending = Array(rest.dropFirst())
                var characters: [Character] = []
                var escaped = false
                var closed = false
                while !closed {
                    for character in pending {
                        if escaped {
                            switch character {
                            case "n": characters.append("\n")
                            case "t": characters.append("\t")
                            case "r": characters.append("\r")
                            default: characters.append(character)
                            }
                            escaped = false
                        } else if character == "\\" {
                            escaped = true
                        } else if character == "\"" {
                            closed = true
                            break
                        } else {
                            characters.append(character)
                        }
                    }
                    if closed { break }
                    guard index < lines.count else {
                        throw .usage("\(path):\(lineNumber): unterminated double-quoted value for \(key)")
                    }
                    characters.append("\n")
                    pending = Array(lines[index])
                    index += 1
                }
                value = String(characters)
            } else {
                var text = String(rest)
                if let hash = text.range(of: " #") ?? text.range(of: "\t#") {
                    text = String(text[..<hash.lowerBound])
                }
                value = text.trimmingWhitespace()
            }
            result[key] = value
        }
        return result
    }

    /// Whether `name` is a valid variable name.
    static func isValidName(_ name: String) -> Bool {
        guard let first = name.unicodeScalars.first, !("0"..."9").contains(first) else { return false }
        return name.unicodeScalars.allSatisfy {
            $0 == "_" || ("a"..."z").contains($0) || ("A"..."Z").contains($0) || ("0"..."9").contains($0)
        }
    }
}

extension String {
    func replacingCRLF() -> String {
        contains("\r\n") ? replacing("\r\n", with: "\n") : self
    }

    func trimmingLeadingWhitespace() -> String {
        String(drop(while: { $0 == " " || $0 == "\t" }))
    }

    func trimmingWhitespace() -> String {
        var s = Substring(self)
        while let last = s.last, last == " " || last == "\t" || last == "\r" || last == "\n" { s = s.dropLast() }
        while let first = s.first, first == " " || first == "\t" || first == "\r" || first == "\n" { s = s.dropFirst() }
        return String(s)
    }
}
