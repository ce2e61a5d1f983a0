/// One step of turning one schema into another: what it changes, and the SQL that does it.
public struct SchemaChange: Sendable, Hashable, Codable, CustomStringConvertible {
    /// What the step does to its object.
    public enum Action: String, Sendable, Hashable, Codable {
        case create
        case drop
        case alter
    }

    /// The object's key, such as `table public.users`, `column public.users.email`,
    /// `constraint public.users.users_pkey`, `index public.users_email`, `function public.f(a integer)`.
    public var object: String
    public var action: Action
    /// Complete statements, each ending in `;`, to run in order. Empty only for an object the differ cannot write
    /// DDL for (see `note`).
    public var sql: [String]
    /// True when running it loses data: a dropped table or column, a narrowing type change, an enum value removed.
    public var destroysData: Bool
    /// What a reader must know, such as "renames are not guessed: a dropped and an added column".
    public var note: String?

    /// Makes a change.
    public init(object: String, action: Action, sql: [String], destroysData: Bool = false, note: String? = nil) {
        self.object = object
        self.action = action
        self.sql = sql
        self.destroysData = destroysData
        self.note = note
    }

    /// `+ table public.users`, `- column public.users.email`, `~ column public.users.name`, with the note if any.
    public var description: String {
        let sign: String
        switch action {
        case .create: sign = "+"
        case .drop: sign = "-"
        case .alter: sign = "~"
        }
        var text = "\(sign) \(object)"
        if destroysData { text += " (destroys data)" }
        if let note { text += ": \(note)" }
        return text
    }
}
