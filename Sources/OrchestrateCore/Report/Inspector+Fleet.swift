import Foundation
import Migrations
import Postgres

/// `status`, `audit` and `doctor` on a fleet (DESIGN §7): every selected target is read on one connection of its own,
/// `parallel` at a time, in about one round trip (`Ledger.summary`); the rows themselves are read once per distinct
/// ledger (targets that record the same revisions share one read), so the cost per target does not grow with the
/// history, and the aggregate is decided by the same `describe` as a single database's status.
extension Inspector {
    /// What was read from one target.
    enum TargetRead: Sendable {
        /// The target could not be read: why.
        case unreachable(String)
        /// The usual case: the summary, and the lock holder when a run holds the lock.
        case summary(LedgerSummary, lock: LockHolder?)
        /// No ledger yet, or one whose version is lost: read in full, as a single database.
        case full(Snapshot)
    }

    /// A fleet's targets as read.
    struct FleetRead: Sendable {
        /// Every target of the fleet.
        var all: [FleetTarget]
        /// The selected ones, and what was read from each.
        var selected: [FleetTarget]
        var reads: [TargetRead]
        /// The rows of each distinct ledger (by `LedgerSummary.digest`), read from its first target.
        var rows: [String: Result<[AppliedRevision], OrchestrateError>]
    }

    /// Reads the `selection` of fleet `environment`; with `verify` (`doctor`), each target's derived ledger columns
    /// are checked against its rows (`LedgerSummary.derivedProblem`).
    func readFleet(
        _ environment: EnvironmentConfig, selection: TargetSelection, verify: Bool = false
    ) throws(OrchestrateError) -> FleetRead {
        let all = try FleetTargets.resolve(
            environment, projectRoot: project.root, interruptions: interruptions, progress: progress)
        let selected = try selection.select(all, environment: environment.name)
        let claims = DigestClaims()
        let configs = selected.map { environment.forTarget($0) }
        let units = Self.readingUnits(configs, width: environment.fleet?.parallel ?? 4)
        let unitReads = Self.concurrentMap(units, width: environment.fleet?.parallel ?? 4) { unit in
            self.readTargets(unit.map { configs[$0] }, claims: claims, verify: verify)
        }
        var reads = [TargetRead](repeating: .unreachable("not read"), count: selected.count)
        for (unit, found) in zip(units, unitReads) {
            for (index, read) in zip(unit, found) { reads[index] = read }
        }
        return FleetRead(all: all, selected: selected, reads: reads, rows: claims.rows())
    }

    /// The targets read on one connection each time: a database target alone; the schema targets of one database
    /// shared among `width` connections (reading a ledger needs no `search_path`, and a connection costs the server
    /// far more than a query).
    static func readingUnits(_ configs: [EnvironmentConfig], width: Int) -> [[Int]] {
        var byDatabase: [String: [Int]] = [:]
        var order: [String] = []
        var units: [[Int]] = []
        for (index, config) in configs.enumerated() {
            guard config.sessionSettings.contains(where: { $0.name == "search_path" }) else {
                units.append([index])
                continue
            }
            if byDatabase[config.databaseURL] == nil { order.append(config.databaseURL) }
            byDatabase[config.databaseURL, default: []].append(index)
        }
        for database in order {
            let members = byDatabase[database] ?? []
            let size = max(1, (members.count + width - 1) / max(1, width))
            units += stride(from: 0, to: members.count, by: size).map {
                Array(members[$0..<min($0 + size, members.count)])
            }
        }
        return units.sorted { ($0.first ?? 0) < ($1.first ?? 0) }
    }

    /// `body` over `items`, `width` at a time on their own threads (libpq is blocking), results in order.
    static func concurrentMap<Item: Sendable, T: Sendable>(
        _ items: [Item], width: Int, _ body: @escaping @Sendable (Item) -> T
    ) -> [T] {
        let results = ResultBox<T>(count: items.count)
        let next = ResultBox<Int>(count: 1)
        next.set(0, 0)
        let lock = NSLock()
        let group = DispatchGroup()
        for _ in 0..<max(1, min(width, items.count)) {
            DispatchQueue.global().async(group: group) {
                while true {
                    let index: Int = lock.withLock {
                        let value = next.get(0) ?? 0
                        next.set(0, value + 1)
                        return value
                    }
                    guard index < items.count else { return }
                    results.set(index, body(items[index]))
                }
            }
        }
        group.wait()
        return (0..<items.count).map { results.get($0)! }
    }

    /// Targets of one database on one connection, in order; when it cannot be opened, each is unreachable.
    private func readTargets(_ configs: [EnvironmentConfig], claims: DigestClaims, verify: Bool) -> [TargetRead] {
        guard let first = configs.first else { return [] }
        let connection: Connection
        do {
            connection = try EnvironmentDatabase.openLedgerForReading(
                first, projectRoot: project.root, applicationName: "orchestrate status", retries: 0,
                interruptions: interruptions, progress: progress
            ).connection
        } catch {
            // The error names the first target; each target of the unit gets it under its own name.
            return configs.map { config in
                .unreachable(error.description.replacingOccurrences(of: first.displayName, with: config.displayName))
            }
        }
        defer { connection.close() }
        return configs.map { config in
            do throws(PostgresError) {
                return readTarget(
                    config, ledger: try Ledger(connection: connection, schema: config.ledgerSchema), claims: claims,
                    verify: verify)
            } catch {
                return .unreachable(OrchestrateError.operation("\(config.displayName)", error).description)
            }
        }
    }

    /// One target on an open connection: the summary (one round trip), the rows when its digest is new, the lock
    /// holder when the lock is held; no ledger (or a damaged one) is read in full.
    private func readTarget(
        _ config: EnvironmentConfig, ledger: Ledger, claims: DigestClaims, verify: Bool
    ) -> TargetRead {
        let connection = ledger.connection
        let key = EnvironmentLock.key(schema: config.ledgerSchema)
        do throws(OrchestrateError) {
            let summary: LedgerSummary
            do throws(PostgresError) {
                summary = try ledger.summary(lockKey: key, verify: verify)
            } catch  where error.sqlState == .undefinedTable || error.sqlState == .undefinedColumn {
                // No ledger yet, a damaged one, or one of an older layout (which a reading command leaves as it is).
                return .full(try snapshot(of: ledger, environment: config))
            } catch {
                throw ledger.failure(error, environment: config)
            }
            guard summary.version != nil else { return .full(try snapshot(of: ledger, environment: config)) }
            do throws(PostgresError) {
                if claims.claim(summary.digest) {
                    claims.store(
                        summary.digest,
                        Result { () throws(PostgresError) in
                            try ledger.appliedRevisions(knownVersion: summary.version)
                        })
                }
                let lock =
                    summary.lockHeld
                    ? try EnvironmentLock.findHolder(on: connection, key: key, ledgerSchema: config.ledgerSchema) : nil
                return .summary(summary, lock: lock)
            } catch {
                throw ledger.failure(error, environment: config)
            }
        } catch {
            return .unreachable(error.description)
        }
    }

    /// The status of fleet `environment`: each selected target described from its ledger's digest group (or its own
    /// rows), with `source` as the source stage's state (for a later stage).
    func fleetStatus(
        _ environment: EnvironmentConfig, selection: TargetSelection, source: Result<Snapshot, SourceUnknown>?,
        sourceName: String?, migrations: MigrationSet, git: GitView
    ) throws(OrchestrateError) -> EnvironmentStatus {
        let read: FleetRead
        do {
            read = try readFleet(environment, selection: selection)
        } catch {
            // A bad --target or --shard is the command line's mistake: exit 2, as in the writing commands.
            if !selection.isAll, error.category == .usage { throw error }
            return .unreachable(
                environment, name: environment.name, promotesFrom: sourceName, placeKnown: true,
                error: error.description)
        }
        // One description per distinct ledger, keyed by digest; a damaged one is described per target (its way out
        // names the target's own ledger schema).
        var groups: [String: EnvironmentStatus] = [:]
        var driftTargets: [String: (drift: EnvironmentStatus.Drift, targets: Int)] = [:]
        var driftOrder: [String] = []
        var targets: [FleetStatus.Target] = []
        targets.reserveCapacity(read.selected.count)
        for (target, targetRead) in zip(read.selected, read.reads) {
            let config = environment.forTarget(target)
            let described: EnvironmentStatus
            var summary: LedgerSummary?
            var lock: LockHolder?
            switch targetRead {
            case .unreachable(let error):
                targets.append(.unreachable(target, error: error))
                continue
            case .full(let snapshot):
                described = describe(
                    config, snapshot, source: source, sourceName: sourceName, migrations: migrations, git: git)
            case .summary(let found, let holder):
                summary = found
                lock = holder
                if let group = groups[found.digest] {
                    described = group
                } else {
                    switch read.rows[found.digest] {
                    case .success(let rows)?:
                        let snapshot = Snapshot(
                            serverVersion: "", ledgerVersion: found.version, applied: rows, freeze: nil, lock: nil,
                            damage: health(rows, versionRow: .present, schema: config.ledgerSchema))
                        let group = describe(
                            config, snapshot, source: source, sourceName: sourceName, migrations: migrations,
                            git: git)
                        if snapshot.damage.isEmpty { groups[found.digest] = group }
                        described = group
                    case .failure(let error)?:
                        targets.append(.unreachable(target, error: error.description))
                        continue
                    case nil:
                        targets.append(.unreachable(target, error: "its ledger's rows were not read"))
                        continue
                    }
                }
                for drift in described.drift {
                    if driftTargets[drift.revision] == nil {
                        driftOrder.append(drift.revision)
                        driftTargets[drift.revision] = (drift, 0)
                    }
                    driftTargets[drift.revision]?.targets += 1
                }
            }
            targets.append(FleetStatus.Target(target, described: described, summary: summary, lock: lock))
        }
        let selectionText =
            selection.isAll
            ? nil : selection.shard.map { "--shard \($0)" } ?? "--target " + selection.names.joined(separator: ", ")
        let fleet = FleetStatus(
            size: read.all.count, selection: selectionText, targets: targets,
            drift: driftOrder.compactMap { driftTargets[$0] }.map {
                FleetStatus.DriftedRevision(drift: $0.drift, targets: $0.targets)
            })
        var status = EnvironmentStatus.unreachable(
            environment, name: environment.name, promotesFrom: sourceName, placeKnown: true, error: "")
        status.reachable = true
        status.error = nil
        status.database = "fleet of \(FleetStatus.format(read.all.count)) targets"
        status.fleet = fleet
        status.pendingKnown = fleet.counts.pendingUnknown == 0
        status.sourceError = {
            if case .failure(let unknown)? = source { return unknown.reason }
            return nil
        }()
        let pendingAnywhere = Set(targets.flatMap(\.pending))
        status.pending = migrations.graph.topologicalOrder.filter { pendingAnywhere.contains($0) }
        status.pending += pendingAnywhere.subtracting(status.pending).sorted()
        if sourceName == nil, migrations.graph.heads.count > 1 { status.multipleHeads = migrations.graph.heads }
        return status
    }

    /// What a source fleet runs: the applied rows every target records with the same checksum, as a snapshot (the
    /// rule of `FleetSourceState`, over each distinct ledger once). A target that cannot be read, or whose ledger
    /// is damaged, makes it unknown.
    func fleetRunning(_ source: EnvironmentConfig) -> Result<Snapshot, OrchestrateError> {
        let read: FleetRead
        do { read = try readFleet(source, selection: .all) } catch { return .failure(error) }
        var keys: [String] = []
        var rows: [[AppliedRevision]] = []
        var unreadable: [(String, String)] = []
        var seen = Set<String>()
        for (target, targetRead) in zip(read.selected, read.reads) {
            switch targetRead {
            case .unreachable(let error): unreadable.append((target.name, error))
            case .full(let snapshot):
                if !snapshot.damage.isEmpty {
                    unreadable.append((target.name, "its ledger is damaged"))
                } else {
                    keys.append(target.name)
                    rows.append(snapshot.applied.filter { $0.state == .applied })
                }
            case .summary(let summary, _):
                switch read.rows[summary.digest] {
                case .success(let found)?:
                    guard seen.insert(summary.digest).inserted else { continue }
                    keys.append(summary.digest)
                    rows.append(found.filter { $0.state == .applied })
                case .failure(let error)?: unreadable.append((target.name, error.description))
                case nil: unreadable.append((target.name, "its ledger's rows were not read"))
                }
            }
        }
        if let (first, error) = unreadable.first {
            let others = unreadable.count > 1 ? " (and \(unreadable.count - 1) more)" : ""
            return .failure(
                .operation(
                    "target `\(first)`\(others) of `\(source.name)` cannot be read, so what every target of `\(source.name)` runs is unknown: \(error)"
                ))
        }
        let state = FleetSourceState(targets: keys, rows: rows, warn: { _ in })
        return .success(Snapshot(serverVersion: "", ledgerVersion: nil, applied: state.running, freeze: nil, lock: nil))
    }
}

/// Which ledger digests a target already claimed for reading their rows, and the rows read.
private final class DigestClaims: @unchecked Sendable {
    private let lock = NSLock()
    private var claimed = Set<String>()
    private var read: [String: Result<[AppliedRevision], OrchestrateError>] = [:]

    /// True for the first caller with `digest`: that one reads the rows.
    func claim(_ digest: String) -> Bool { lock.withLock { claimed.insert(digest).inserted } }

    func store(_ digest: String, _ rows: Result<[AppliedRevision], PostgresError>) {
        lock.withLock {
            read[digest] = rows.mapError { .operation("cannot read the ledger's revisions", $0) }
        }
    }

    func rows() -> [String: Result<[AppliedRevision], OrchestrateError>] { lock.withLock { read } }
}

// MARK: - audit

/// An event of one target of a fleet.
public struct TargetEvent: Sendable, Codable {
    /// The target that recorded it.
    public var target: String
    /// The event.
    public var event: LedgerEvent

    private enum CodingKeys: String, CodingKey { case target }

    /// The event's fields, with `target` next to them.
    public func encode(to encoder: Encoder) throws {
        try event.encode(to: encoder)
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(target, forKey: .target)
    }

    public init(from decoder: Decoder) throws {
        target = try decoder.container(keyedBy: CodingKeys.self).decode(String.self, forKey: .target)
        event = try LedgerEvent(from: decoder)
    }

    init(target: String, event: LedgerEvent) {
        self.target = target
        self.event = event
    }
}

/// `audit` of a fleet: the newest events over the selected targets, and the targets that could not be read.
public struct FleetAudit: Sendable, Codable {
    /// A target whose event log could not be read.
    public struct Unreadable: Sendable, Codable {
        public var target: String
        public var error: String
    }

    /// The fleet.
    public var environment: String
    /// How many targets were read (the selection).
    public var targets: Int
    /// The newest events over them, newest first (ties: by target name), at most the limit asked for.
    public var events: [TargetEvent]
    /// The targets that could not be read, in the fleet's order: their events are missing above.
    public var unreadable: [Unreadable]
}

extension Inspector {
    /// The newest `limit` events over the selected targets of fleet `name`, newest first, each naming its target;
    /// each target's newest `limit` are read (one query), `parallel` targets at a time, and only the newest `limit`
    /// overall are kept.
    public func auditFleet(
        _ name: String, limit: Int, selection: TargetSelection = .all
    ) throws(OrchestrateError) -> FleetAudit {
        let environment = try project.environment(name)
        let all = try FleetTargets.resolve(
            environment, projectRoot: project.root, interruptions: interruptions, progress: progress)
        let selected = try selection.select(all, environment: name)
        let newest = NewestEvents(limit: limit)
        let errors = FleetRunner.concurrentMap(selected, width: environment.fleet?.parallel ?? 4) {
            (target) -> String? in
            let config = environment.forTarget(target)
            do throws(OrchestrateError) {
                newest.add(target.name, try self.audit(config, limit: limit))
                return nil
            } catch {
                return error.description
            }
        }
        let unreadable = zip(selected, errors).compactMap { target, error in
            error.map { FleetAudit.Unreadable(target: target.name, error: $0) }
        }
        return FleetAudit(
            environment: name, targets: selected.count, events: newest.events(), unreadable: unreadable)
    }
}

/// The newest `limit` events seen so far, over every target.
private final class NewestEvents: @unchecked Sendable {
    private let lock = NSLock()
    private let limit: Int
    private var kept: [TargetEvent] = []

    init(limit: Int) { self.limit = limit }

    func add(_ target: String, _ events: [LedgerEvent]) {
        lock.withLock {
            kept += events.map { TargetEvent(target: target, event: $0) }
            kept.sort(by: Self.newerFirst)
            if kept.count > limit { kept.removeLast(kept.count - limit) }
        }
    }

    func events() -> [TargetEvent] { lock.withLock { kept } }

    static func newerFirst(_ left: TargetEvent, _ right: TargetEvent) -> Bool {
        if left.event.at != right.event.at { return left.event.at > right.event.at }
        if left.target != right.target { return left.target < right.target }
        return left.event.id > right.event.id
    }
}
