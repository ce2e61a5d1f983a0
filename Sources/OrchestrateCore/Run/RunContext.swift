import Foundation

/// Who runs orchestrate: the OS user and host, recorded in the ledger next to the database user.
public struct Actor: Sendable, Hashable, Codable {
    /// The OS user name.
    public var osUser: String
    /// The host name.
    public var host: String

    /// Makes an actor from explicit values.
    public init(osUser: String, host: String) {
        self.osUser = osUser
        self.host = host
    }

    /// The current process's user and host.
    public static func current() -> Actor {
        var user = ProcessInfo.processInfo.environment["USER"] ?? ""
        if user.isEmpty, let entry = getpwuid(geteuid()), let name = entry.pointee.pw_name {
            user = String(cString: name)
        }
        return Actor(osUser: user.isEmpty ? "uid \(geteuid())" : user, host: ProcessInfo.processInfo.hostName)
    }
}

/// Everything a writing run records with each event: its id, command, actor and git provenance.
struct RunContext {
    var id: String
    var environment: String
    var command: String
    var actor: Actor
    var git: Provenance?
    var lockPID: Int32?
}

/// The git state a run was started from.
public struct Provenance: Sendable, Hashable, Codable {
    /// The full HEAD commit id.
    public var commit: String
    /// The current branch, nil when HEAD is detached.
    public var branch: String?
    /// Uncommitted changes under `migrations/` or `environments/`, as paths relative to the repository.
    public var dirtyPaths: [String]

    /// Whether the work tree had uncommitted changes under `migrations/` or `environments/`.
    public var isDirty: Bool { !dirtyPaths.isEmpty }

    /// Makes a provenance record.
    public init(commit: String, branch: String?, dirtyPaths: [String]) {
        self.commit = commit
        self.branch = branch
        self.dirtyPaths = dirtyPaths
    }
}
