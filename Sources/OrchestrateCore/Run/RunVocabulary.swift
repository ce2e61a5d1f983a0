/// A word of the run vocabulary stored in a ledger text column: its raw value is the text, in the ledger and in
/// `--json` alike (encoded as a plain string).
public protocol LedgerWord: RawRepresentable, Hashable, Sendable, Codable, CustomStringConvertible
where RawValue == String {
    init(rawValue: String)
}

extension LedgerWord {
    public var description: String { rawValue }

    public init(from decoder: any Decoder) throws {
        self.init(rawValue: try decoder.singleValueContainer().decode(String.self))
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }
}

/// What a run does, as the event log's `action` column, `--json` and the terminal spell it.
///
/// A struct with named constants rather than an enum: the event log may hold actions written by another release
/// (`baseline`), and reading them must not fail.
public struct RunAction: LedgerWord {
    public var rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }

    public static let upgrade = RunAction(rawValue: "upgrade")
    public static let promote = RunAction(rawValue: "promote")
    public static let downgrade = RunAction(rawValue: "downgrade")
    /// Freezing an environment (`orchestrate lock`).
    public static let lock = RunAction(rawValue: "lock")
    /// Thawing it (`orchestrate unlock`).
    public static let unlock = RunAction(rawValue: "unlock")
    public static let repair = RunAction(rawValue: "repair")
    public static let verify = RunAction(rawValue: "verify")
    public static let baseline = RunAction(rawValue: "baseline")

    /// The action of a command line: `promote` for `promote staging`.
    init(command: String) {
        self.init(rawValue: command.split(separator: " ").first.map(String.init) ?? command)
    }
}

/// How an event ended, as the event log's `outcome` column spells it. Like `RunAction`, any text read from a
/// ledger is representable.
public struct EventOutcome: LedgerWord {
    public var rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }

    /// A run began (or a non-transactional revision's first statement is about to run).
    public static let started = EventOutcome(rawValue: "started")
    public static let succeeded = EventOutcome(rawValue: "succeeded")
    public static let failed = EventOutcome(rawValue: "failed")
    /// Stopped by a signal after rolling back.
    public static let interrupted = EventOutcome(rawValue: "interrupted")
    /// A policy, usage or freeze refusal before anything ran.
    public static let refused = EventOutcome(rawValue: "refused")
    /// The environment lock could not be had within `lock_timeout`.
    public static let lockedOut = EventOutcome(rawValue: "locked out")
    public static let frozen = EventOutcome(rawValue: "frozen")
    public static let thawed = EventOutcome(rawValue: "thawed")
    /// One revision applied (or settled applied by `repair`).
    public static let applied = EventOutcome(rawValue: "applied")
    /// One revision reverted (or settled reverted by `repair`).
    public static let reverted = EventOutcome(rawValue: "reverted")
    /// `repair` accepted an edited file's checksum.
    public static let accepted = EventOutcome(rawValue: "accepted")
    /// `repair` found nothing to do (never written to the event log).
    public static let unchanged = EventOutcome(rawValue: "unchanged")
}
