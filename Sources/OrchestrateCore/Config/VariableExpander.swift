import Foundation

/// Expands `${VAR}` and `${VAR:-default}` in config values.
///
/// Variables come from the process environment first, then from the project's `.env`. `$$` is a literal `$`.
/// A variable that is unset (or, for `:-`, empty) without a default is an error naming the variable, the file and
/// the key, and the two ways to provide it.
public struct VariableExpander: Sendable {
    /// The process environment.
    public var environment: [String: String]
    /// The values read from `.env`, if any.
    public var dotEnv: [String: String]
    /// Where `dotEnv` came from, for messages.
    public var dotEnvPath: String

    /// Makes an expander over the two sources.
    public init(environment: [String: String], dotEnv: [String: String], dotEnvPath: String = ".env") {
        self.environment = environment
        self.dotEnv = dotEnv
        self.dotEnvPath = dotEnvPath
    }

    /// The value of `name`: the process environment wins over `.env`.
    public func value(of name: String) -> String? {
        environment[name] ?? dotEnv[name]
    }

    /// Expands every reference in `text`; `file` and `key` name the place in errors.
    public func expand(_ text: String, file: String, key: String) throws(OrchestrateError) -> String {
        guard text.contains("$") else { return text }
        var output = ""
        var index = text.startIndex
        while index < text.endIndex {
            let character = text[index]
            guard character == "$" else {
                output.append(character)
                index = text.index(after: index)
                continue
            }
            let next = text.index(after: index)
            if next < text.endIndex, text[next] == "$" {
                output.append("$")
                index = text.index(after: next)
                continue
            }
            guard next < text.endIndex, text[next] == "{" else {
                output.append("$")
                index = next
                continue
            }
            guard let close = text[next...].firstIndex(of: "}") else {
                throw .usage(
                    "\(file): key `\(key)`: unterminated `${` in the value",
                    hint: "write `${NAME}` or `${NAME:-default}`; `$$` is a literal `$`")
            }
            let body = text[text.index(after: next)..<close]
            let name: Substring
            var fallback: Substring?
            if let separator = body.range(of: ":-") {
                name = body[..<separator.lowerBound]
                fallback = body[separator.upperBound...]
            } else {
                name = body
            }
            guard DotEnv.isValidName(String(name)) else {
                // The reference is not quoted: its default, or the whole of a damaged value, may hold a password.
                throw .usage(
                    "\(file): key `\(key)`: a `${…}` in the value does not start with a variable name "
                        + "(letters, digits and _, not starting with a digit)",
                    hint: "write `${NAME}` or `${NAME:-default}`; `$$` is a literal `$`")
            }
            let resolved = value(of: String(name))
            if let resolved, !(fallback != nil && resolved.isEmpty) {
                output += resolved
            } else if let fallback {
                output += try expand(String(fallback), file: file, key: key)
            } else {
                throw .usage(
                    "\(file): key `\(key)` uses ${\(name)}, which is not set",
                    hint: "export \(name)=… or add it to \(dotEnvPath), or give a default: ${\(name):-value}")
            }
            index = text.index(after: close)
        }
        return output
    }
}
