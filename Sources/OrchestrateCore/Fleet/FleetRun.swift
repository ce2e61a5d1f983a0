import Foundation

/// What a fleet run did on each target, in the fleet's order.
public struct FleetReport: Sendable, Codable {
    /// What happened on one target.
    public struct TargetResult: Sendable, Codable {
        /// How a target ended.
        public enum Status: String, Sendable, Codable, CaseIterable {
            /// Revisions were applied or reverted (or the freeze, thaw or repair was written).
            case done
            /// Nothing to do: the target already was where the run would take it.
            case unchanged
            /// The target failed; `error` says why. Its own revisions are rolled back as in a single run.
            case failed
            /// The target was locked by another run or frozen (exit 4 when nothing else failed).
            case locked
            /// The target was not started: a canary or, with `on_error = "stop"`, another target failed, or Ctrl-C.
            case skipped
        }

        /// The target's name.
        public var target: String
        /// How it ended.
        public var status: Status
        /// The revisions applied or reverted on it, in order.
        public var revisions: [String]
        /// The first error, for a failed or locked target (never a password: errors never hold one).
        public var error: String?
        /// What to do about it.
        public var hint: String?
        /// How long the target took.
        public var milliseconds: Int
        /// The exit code class of the error, when there is one.
        var category: OrchestrateError.Category?

        enum CodingKeys: String, CodingKey {
            case target, status, revisions, error, hint, milliseconds
        }
    }

    /// The fleet environment.
    public var environment: String
    /// The command: upgrade, promote, downgrade, lock, unlock, repair.
    public var action: String
    /// How many targets the environment has (the selection may run fewer).
    public var fleetSize: Int
    /// Every selected target, in the fleet's order.
    public var targets: [TargetResult]
    /// Why targets were skipped, when some were.
    public var stopReason: String?

    /// How many targets ended with `status`.
    public func count(_ status: TargetResult.Status) -> Int { targets.filter { $0.status == status }.count }

    /// The error the command exits with after printing the summary, nil when every target is done or unchanged:
    /// interrupted (130) after Ctrl-C; exit 3 when any target failed; exit 4 when the only problems are locked or
    /// frozen targets (another run holds them: a rerun later does what they lack).
    public var failure: OrchestrateError? {
        let failed = count(.failed), locked = count(.locked), skipped = count(.skipped)
        let summary =
            "\(environment): \(failed + locked) of \(targets.count) target(s) failed or were locked, \(skipped) skipped"
        let rerun = "fix the cause and rerun the same command: each target does only what it lacks"
        if targets.contains(where: { $0.category == .interrupted }) || stopReason?.hasPrefix("interrupted") == true {
            return .interrupted(signal: 2, "\(summary); stopped by a signal", hint: rerun)
        }
        if failed > 0 { return .operation(summary, hint: rerun) }
        if locked > 0 {
            return OrchestrateError(
                .locked, summary, hint: "the locked targets are held by another run or frozen; rerun once it is done")
        }
        return nil
    }
}

/// The counts of a fleet run so far, for progress.
public struct FleetProgress: Sendable {
    /// The fleet environment.
    public var environment: String
    /// The target that just finished.
    public var target: String
    /// How it ended.
    public var status: FleetReport.TargetResult.Status
    /// Its revisions, or its first error's first line.
    public var detail: String
    /// How many targets ended each way so far.
    public var done: Int, unchanged: Int, failed: Int, locked: Int
    /// How many are selected in all.
    public var total: Int
}

/// Runs one piece of work on every selected target of a fleet: the canaries first (a failure there skips every
/// other target), then the rest, `parallel` at a time on their own threads (libpq is blocking), each on one
/// connection. With `on_error = "stop"` no target starts after a failure; Ctrl-C starts none either, and the running
/// ones roll back through their connections' cancellation (`Interruptions`).
struct FleetRunner: Sendable {
    let environment: EnvironmentConfig
    let fleet: FleetConfig
    let interruptions: Interruptions
    let progress: ProgressHandler

    /// What a target's work returns: done or unchanged, and the revisions it ran.
    struct Outcome: Sendable {
        var changed: Bool
        var revisions: [String]
    }

    /// When a phase starts no more targets. A locked or frozen target says nothing about the revisions: with
    /// `on_error = "stop"` the others go on; a locked canary, though, tested nothing, so the run stops.
    enum StopRule: Sendable {
        case never, onFailed, onFailedOrLocked
    }

    /// Runs `work` on `targets` and reports each.
    func run(
        _ targets: [FleetTarget], action: String, fleetSize: Int,
        work: @escaping @Sendable (FleetTarget, ConnectionSlot) throws(OrchestrateError) -> Outcome
    ) -> FleetReport {
        let state = RunState(count: targets.count)
        let canaries = min(fleet.canary, targets.count)
        if canaries > 0 {
            // A canary that fails, or that is locked or frozen (it tested nothing), starts no other target.
            runPhase(targets, range: 0..<canaries, stop: .onFailedOrLocked, state: state, work: work)
            if state.failedCount > 0 {
                state.stopReason =
                    "a canary failed: the \(targets.count - canaries) other target(s) were not started"
            }
        }
        if state.stopReason == nil {
            runPhase(
                targets, range: canaries..<targets.count, stop: fleet.onError == .stop ? .onFailed : .never,
                state: state, work: work)
        }
        if state.stopReason == nil, interruptions.signal != nil, state.results.contains(where: { $0 == nil }) {
            state.stopReason = "interrupted: no new target was started"
        }
        let results = targets.indices.map { index in
            state.results[index]
                ?? FleetReport.TargetResult(
                    target: targets[index].name, status: .skipped, revisions: [], error: nil, hint: nil,
                    milliseconds: 0, category: nil)
        }
        return FleetReport(
            environment: environment.name, action: action, fleetSize: fleetSize, targets: results,
            stopReason: state.stopReason)
    }

    private func runPhase(
        _ targets: [FleetTarget], range: Range<Int>, stop: StopRule, state: RunState,
        work: @escaping @Sendable (FleetTarget, ConnectionSlot) throws(OrchestrateError) -> Outcome
    ) {
        guard !range.isEmpty else { return }
        state.next = range.lowerBound
        let group = DispatchGroup()
        let workers = min(fleet.parallel, range.count)
        for _ in 0..<workers {
            DispatchQueue.global().async(group: group) {
                // The worker's one connection, kept between its targets in the same database.
                let slot = ConnectionSlot(targets: targets)
                defer { slot.close() }
                while let index = state.take(before: range.upperBound, interrupted: interruptions.signal != nil) {
                    let result = runOne(targets[index], slot: slot, work: work)
                    let counts = state.finish(index, result, stop: stop)
                    progress(
                        .targetFinished(
                            FleetProgress(
                                environment: environment.name, target: result.target, status: result.status,
                                detail: result.error.map { String($0.split(separator: "\n").first ?? "") }
                                    ?? result.revisions.joined(separator: ", "),
                                done: counts.done, unchanged: counts.unchanged, failed: counts.failed,
                                locked: counts.locked, total: targets.count)))
                }
            }
        }
        group.wait()
        if state.stopped, state.stopReason == nil, state.results.contains(where: { $0 == nil }) {
            state.stopReason =
                interruptions.signal != nil
                ? "interrupted: no new target was started"
                : "on_error = \"stop\": no target was started after the first failure"
        }
    }

    private func runOne(
        _ target: FleetTarget, slot: ConnectionSlot,
        work: @Sendable (FleetTarget, ConnectionSlot) throws(OrchestrateError) -> Outcome
    ) -> FleetReport.TargetResult {
        let started = DispatchTime.now()
        do {
            let outcome = try work(target, slot)
            return FleetReport.TargetResult(
                target: target.name, status: outcome.changed ? .done : .unchanged, revisions: outcome.revisions,
                error: nil, hint: nil, milliseconds: elapsed(since: started), category: nil)
        } catch {
            return FleetReport.TargetResult(
                target: target.name, status: error.category == .locked ? .locked : .failed, revisions: [],
                error: error.message, hint: error.hint, milliseconds: elapsed(since: started),
                category: error.category)
        }
    }
}

/// The shared state of a fleet run's workers, behind a lock.
private final class RunState: @unchecked Sendable {
    private let lock = NSLock()
    var next = 0
    private(set) var results: [FleetReport.TargetResult?]
    private var _stopped = false
    var stopped: Bool { lock.withLock { _stopped } }
    private var _stopReason: String?
    private var counts = (done: 0, unchanged: 0, failed: 0, locked: 0)

    init(count: Int) { results = Array(repeating: nil, count: count) }

    var stopReason: String? {
        get { lock.withLock { _stopReason } }
        set { lock.withLock { _stopReason = newValue } }
    }

    var failedCount: Int { lock.withLock { counts.failed + counts.locked } }

    /// The next target to start, nil once the phase is over, stopped or interrupted.
    func take(before end: Int, interrupted: Bool) -> Int? {
        lock.withLock {
            guard !_stopped, !interrupted, next < end else { return nil }
            defer { next += 1 }
            return next
        }
    }

    func finish(
        _ index: Int, _ result: FleetReport.TargetResult, stop: FleetRunner.StopRule
    ) -> (done: Int, unchanged: Int, failed: Int, locked: Int) {
        lock.withLock {
            results[index] = result
            switch result.status {
            case .done: counts.done += 1
            case .unchanged: counts.unchanged += 1
            case .failed: counts.failed += 1
            case .locked: counts.locked += 1
            case .skipped: break
            }
            switch (stop, result.status) {
            case (.onFailed, .failed), (.onFailedOrLocked, .failed), (.onFailedOrLocked, .locked): _stopped = true
            default: break
            }
            if result.category == .interrupted { _stopped = true }
            return counts
        }
    }
}
