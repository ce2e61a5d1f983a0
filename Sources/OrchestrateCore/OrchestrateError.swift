import Postgres

/// A failure the user can act on, with the exit code class it maps to (DESIGN §6).
///
/// `message` says what happened and where; `hint` says what to do next. Neither ever contains a password:
/// connection strings are shown only through `ConnInfo.redacted`.
public struct OrchestrateError: Error, Sendable, CustomStringConvertible {
    /// The exit code class of a failure.
    public enum Category: Int32, Sendable {
        /// A check or policy failed (exit 1).
        case policy = 1
        /// Bad usage, config or migration file (exit 2).
        case usage = 2
        /// A database or git operation failed; nothing was half-applied (exit 3).
        case operation = 3
        /// The environment is locked by another run or frozen (exit 4).
        case locked = 4
        /// Stopped by Ctrl-C or SIGTERM after rolling back (exit 128 + the signal: 130 for Ctrl-C).
        case interrupted = 130
    }

    /// Which exit code this failure maps to.
    public var category: Category
    /// What happened, naming the file, line, key, environment or revision involved.
    public var message: String
    /// What to do next, when there is something to say.
    public var hint: String?
    /// PostgreSQL's DETAIL of the failure, which can quote row data: shown on the terminal with the message, never
    /// written to the event log (which records `message`).
    public var detail: String?
    /// Set on a revision failure caused by PostgreSQL's `lock_timeout` (55P03), which is worth a retry.
    var isLockTimeout = false
    /// The signal that stopped the run, for `.interrupted`.
    public var signalNumber: Int32 = 2
    /// The revision a refusal is about (an edited file on promote), for the event that records it.
    public var revision: String?

    /// Makes an error of the given class.
    public init(_ category: Category, _ message: String, hint: String? = nil) {
        self.category = category
        self.message = message
        self.hint = hint
    }

    /// The process exit code for this failure.
    public var exitCode: Int32 { category == .interrupted ? 128 + signalNumber : category.rawValue }

    public var description: String {
        var text = message
        if let detail { text += "\nDETAIL: \(detail)" }
        if let hint { text += "\nhint: \(hint)" }
        return text
    }

    /// A database operation failed: "`what`: the error" with the error's DETAIL kept apart (see `detail`).
    static func operation(_ what: String, _ error: PostgresError, hint: String? = nil) -> OrchestrateError {
        var result = OrchestrateError(.operation, "\(what): \(error.summary)", hint: hint ?? error.hint)
        result.detail = error.detail
        return result
    }

    /// Bad usage, config or migration file.
    public static func usage(_ message: String, hint: String? = nil) -> OrchestrateError {
        OrchestrateError(.usage, message, hint: hint)
    }

    /// A check or policy failed.
    public static func policy(_ message: String, hint: String? = nil) -> OrchestrateError {
        OrchestrateError(.policy, message, hint: hint)
    }

    /// A database or git operation failed.
    public static func operation(_ message: String, hint: String? = nil) -> OrchestrateError {
        OrchestrateError(.operation, message, hint: hint)
    }

    /// The run was stopped by `signal` (Ctrl-C: SIGINT) after rolling back.
    public static func interrupted(signal: Int32, _ message: String, hint: String? = nil) -> OrchestrateError {
        var error = OrchestrateError(.interrupted, message, hint: hint)
        error.signalNumber = signal
        return error
    }

    /// The environment is locked or frozen.
    public static func locked(_ message: String, hint: String? = nil) -> OrchestrateError {
        OrchestrateError(.locked, message, hint: hint)
    }
}
