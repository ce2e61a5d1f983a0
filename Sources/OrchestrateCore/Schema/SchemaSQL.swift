/// The small pieces of SQL text the differ writes: literals, identifiers made from model names, column definitions.
enum SchemaSQL {
    /// A string literal (`standard_conforming_strings` is on: only quotes are doubled).
    static func literal(_ value: String) -> String {
        "'" + value.replacingOccurrences(of: "'", with: "''") + "'"
    }

    /// A name as written (`users`, `"Users"`) back to the name itself (`users`, `Users`).
    static func unquoted(_ name: String) -> String {
        guard name.hasPrefix("\""), name.hasSuffix("\""), name.count >= 2 else { return name }
        return String(name.dropFirst().dropLast()).replacingOccurrences(of: "\"\"", with: "\"")
    }

    /// A name always quoted, for names the differ makes up (`"mood__orchestrate_old"`).
    static func quoted(_ raw: String) -> String {
        "\"" + raw.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    /// `COMMENT ON <target> IS '…';` or `IS NULL`.
    static func comment(on target: String, _ text: String?) -> String {
        "COMMENT ON \(target) IS \(text.map(literal) ?? "NULL");"
    }

    /// A column's definition in `CREATE TABLE` or `ADD COLUMN`.
    static func columnDefinition(_ column: SchemaModel.Column) -> String {
        var parts = [column.name, column.type]
        if let collation = column.collation { parts.append("COLLATE \(collation)") }
        if let generated = column.generated { parts.append("GENERATED ALWAYS AS (\(generated)) STORED") }
        if let identity = column.identity { parts.append("GENERATED \(identity.rawValue) AS IDENTITY") }
        if let value = column.defaultExpression { parts.append("DEFAULT \(value)") }
        if column.notNull { parts.append("NOT NULL") }
        return parts.joined(separator: " ")
    }

    /// The table part of `schema.table.column`.
    static func tableOf(column key: String) -> String {
        let parts = splitQualified(key)
        return parts.dropLast().joined(separator: ".")
    }

    /// A qualified name split at the dots that separate names (not those inside quotes).
    static func splitQualified(_ name: String) -> [String] {
        var parts: [String] = []
        var current = ""
        var quoted = false
        for character in name {
            if character == "\"" { quoted.toggle() }
            if character == ".", !quoted {
                parts.append(current)
                current = ""
            } else {
                current.append(character)
            }
        }
        parts.append(current)
        return parts
    }
}
