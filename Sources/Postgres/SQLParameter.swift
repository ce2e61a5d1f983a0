/// A value bound to a `$n` placeholder, sent in PostgreSQL's text format apart from the SQL text.
///
/// Build one from a literal (`"alice"`, `"pg_temp.\(name)"`, `42`, `true`, `nil`) or a case; the server infers the parameter's type, so
/// add a cast (`$1::bigint`) where it cannot. `textValue` is what travels on the wire (`t`/`f` for booleans).
public enum SQLParameter: Sendable, Hashable, ExpressibleByStringInterpolation, ExpressibleByIntegerLiteral,
    ExpressibleByBooleanLiteral, ExpressibleByNilLiteral
{
    /// SQL NULL.
    case null
    /// Text.
    case text(String)
    /// An integer (`integer`, `bigint`).
    case integer(Int)
    /// A boolean.
    case boolean(Bool)
    /// A one-dimensional `text[]`, sent as an array literal (`{"a","b"}`).
    case textArray([String])

    public init(stringLiteral value: String) { self = .text(value) }
    public init(stringInterpolation: DefaultStringInterpolation) {
        self = .text(String(stringInterpolation: stringInterpolation))
    }
    public init(integerLiteral value: Int) { self = .integer(value) }
    public init(booleanLiteral value: Bool) { self = .boolean(value) }
    public init(nilLiteral: ()) { self = .null }

    /// Text, or NULL when `value` is nil.
    public static func text(_ value: String?) -> SQLParameter { value.map { .text($0) } ?? .null }
    /// An integer, or NULL when `value` is nil.
    public static func integer(_ value: Int?) -> SQLParameter { value.map { .integer($0) } ?? .null }
    /// A boolean, or NULL when `value` is nil.
    public static func boolean(_ value: Bool?) -> SQLParameter { value.map { .boolean($0) } ?? .null }

    /// The value in PostgreSQL's text format, nil for NULL.
    public var textValue: String? {
        switch self {
        case .null: return nil
        case .text(let value): return value
        case .integer(let value): return String(value)
        case .boolean(let value): return value ? "true" : "false"
        case .textArray(let values): return Self.arrayLiteral(values)
        }
    }

    /// A PostgreSQL array literal of text values: each one double-quoted, `\` and `"` escaped.
    public static func arrayLiteral(_ values: [String]) -> String {
        var literal = "{"
        for (index, value) in values.enumerated() {
            if index > 0 { literal += "," }
            literal += "\""
            if value.utf8.contains(where: { $0 == UInt8(ascii: "\\") || $0 == UInt8(ascii: "\"") }) {
                for character in value.unicodeScalars {
                    if character == "\\" || character == "\"" { literal += "\\" }
                    literal.unicodeScalars.append(character)
                }
            } else {
                literal += value
            }
            literal += "\""
        }
        return literal + "}"
    }
}
