import Foundation
import Postgres

/// One fleet worker's connection, kept from one target to the next when both are in the same database (the schema
/// targets of one `database_url`): a new server process per tenant was most of a no-op fleet run's cost.
///
/// A session takes the connection when it opens (`take`) and gives it back when it closes (`keep`), after
/// releasing its lock and `DISCARD ALL`: what a target's revisions set for the session (a role, a setting, a
/// temporary table) never reaches the next target. A connection for another database is closed before a new one is
/// opened, so a worker holds one connection at most: a fleet run stays within `parallel` + 1.
final class ConnectionSlot: @unchecked Sendable {
    private let lock = NSLock()
    private var kept: (conninfo: String, connection: Connection)?
    /// The `database_url`s more than one target of the run shares: a connection to any other database is closed
    /// after its target (discarding a session no target will use would cost a round trip for nothing).
    private let shared: Set<String>

    /// A slot for a run over `targets`.
    init(targets: [FleetTarget]) {
        var seen = Set<String>(), shared = Set<String>()
        for target in targets where !seen.insert(target.conninfo).inserted { shared.insert(target.conninfo) }
        self.shared = shared
    }

    /// Whether a connection to `databaseURL` (a target's, as `EnvironmentConfig.forTarget` sets it) may serve
    /// another target of the run.
    func mayReuse(_ databaseURL: String) -> Bool { shared.contains(databaseURL) }

    /// The kept connection when it reaches `conninfo`'s database; any other kept connection is closed.
    func take(_ conninfo: String) -> Connection? {
        lock.lock()
        let found = kept
        kept = nil
        lock.unlock()
        guard let found else { return nil }
        guard found.conninfo == conninfo, found.connection.isOpen else {
            found.connection.close()
            return nil
        }
        return found.connection
    }

    /// Keeps `connection` (idle, its lock released and its session discarded) for the worker's next target.
    func keep(_ connection: Connection, conninfo: String) {
        lock.lock()
        let previous = kept
        kept = (conninfo, connection)
        lock.unlock()
        previous?.connection.close()
    }

    /// Closes the kept connection: the worker has no more targets.
    func close() {
        lock.lock()
        let previous = kept
        kept = nil
        lock.unlock()
        previous?.connection.close()
    }
}
