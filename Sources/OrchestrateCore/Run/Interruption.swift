import Dispatch
import Foundation
import Postgres

/// Ctrl-C (SIGINT) and SIGTERM during a writing run.
///
/// `install` replaces the default "die at once" with a graceful stop: the first signal cancels the statement running
/// on every registered work connection (PQcancel, from a signal-watching dispatch source, never from a raw C
/// handler) and marks the process as interrupted; the run then rolls back, records an `interrupted` event, releases
/// the lock and exits 128 + the signal number (130 for Ctrl-C). Code that waits (for the environment lock, between
/// connection attempts, between revisions) polls `signal`. A second signal is left to `onSignal`, which may exit at
/// once: the lock dies with the connection anyway.
public enum Interruption {
    private static let state = InterruptionState()

    /// Watches SIGINT and SIGTERM from now on; `onSignal(signal, count)` runs on a background queue after the
    /// statements were cancelled (count is 1 for the first signal).
    public static func install(onSignal: @escaping @Sendable (Int32, Int) -> Void) {
        state.install(onSignal: onSignal)
    }

    /// The first signal received since `install`, if any.
    public static var signal: Int32? { state.received }

    /// Registers `connection` so that a signal cancels the statement running on it; call `unregister` with the
    /// returned token when the connection closes.
    static func register(_ connection: Connection) -> Int? {
        guard let canceller = connection.makeCanceller() else { return nil }
        return state.register(canceller)
    }

    /// Forgets a connection registered with `register`.
    static func unregister(_ token: Int?) {
        if let token { state.unregister(token) }
    }

    /// Throws `.interrupted` when a signal was received; `doing` names what was about to happen.
    static func check(_ doing: @autoclosure () -> String) throws(OrchestrateError) {
        if let signal = state.received {
            throw .interrupted(signal: signal, "interrupted by \(signalName(signal)) \(doing())")
        }
    }

    /// `error` as the interruption it is when it is a database failure that followed a signal: a statement
    /// cancelled on the lock connection (reading the ledger, for example) fails with query_canceled, which the
    /// code that ran it reports as an operation failure. Other errors are returned as they are.
    public static func classify(_ error: OrchestrateError) -> OrchestrateError {
        guard error.category == .operation, let signal = state.received else { return error }
        return .interrupted(signal: signal, "interrupted by \(signalName(signal)): \(error.message)", hint: error.hint)
    }

    /// "Ctrl-C (SIGINT)" or "SIGTERM".
    static func signalName(_ signal: Int32) -> String {
        signal == SIGINT ? "Ctrl-C (SIGINT)" : signal == SIGTERM ? "SIGTERM" : "signal \(signal)"
    }
}

/// Where the core learns about Ctrl-C and SIGTERM. The command line hands `.process` (the signals `Interruption`
/// watches) to `Orchestrator` and `Inspector`, which pass it down to every wait and connection; no core code reads the
/// process-wide state itself, so a test or a library caller can run the core with `.never`.
public struct Interruptions: Sendable {
    private let received: @Sendable () -> Int32?
    private let registering: @Sendable (Connection) -> Int?
    private let unregistering: @Sendable (Int?) -> Void

    /// The process's SIGINT and SIGTERM, as `Interruption.install` watches them.
    public static let process = Interruptions(
        received: { Interruption.signal }, registering: { Interruption.register($0) },
        unregistering: { Interruption.unregister($0) })
    /// Never interrupted: nothing is watched and nothing is cancelled.
    public static let never = Interruptions(received: { nil }, registering: { _ in nil }, unregistering: { _ in })

    /// The first signal received, if any.
    var signal: Int32? { received() }

    /// Throws `.interrupted` when a signal was received; `doing` names what was about to happen.
    func check(_ doing: @autoclosure () -> String) throws(OrchestrateError) {
        if let signal = received() {
            throw .interrupted(signal: signal, "interrupted by \(Interruption.signalName(signal)) \(doing())")
        }
    }

    /// Registers `connection` so that a signal cancels the statement running on it.
    func register(_ connection: Connection) -> Int? { registering(connection) }

    /// Forgets a connection registered with `register`.
    func unregister(_ token: Int?) { unregistering(token) }
}

/// The shared state behind `Interruption`, guarded by a lock.
private final class InterruptionState: @unchecked Sendable {
    private let lock = NSLock()
    private var sources: [DispatchSourceSignal] = []
    private var cancellers: [Int: Canceller] = [:]
    private var nextToken = 0
    private var signal: Int32?
    private var count = 0

    var received: Int32? {
        lock.lock()
        defer { lock.unlock() }
        return signal
    }

    func install(onSignal: @escaping @Sendable (Int32, Int) -> Void) {
        lock.lock()
        defer { lock.unlock() }
        guard sources.isEmpty else { return }
        for number in [SIGINT, SIGTERM] {
            // A dispatch source only sees a signal whose default action is disabled.
            Foundation.signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global(qos: .userInitiated))
            source.setEventHandler { [weak self] in
                guard let self else { return }
                let count = self.received(number)
                onSignal(number, count)
            }
            source.resume()
            sources.append(source)
        }
    }

    /// Records a signal and cancels every registered statement; returns how many signals arrived so far.
    private func received(_ number: Int32) -> Int {
        lock.lock()
        if signal == nil { signal = number }
        count += 1
        let current = count
        let targets = Array(cancellers.values)
        lock.unlock()
        for canceller in targets { canceller.cancel() }
        return current
    }

    func register(_ canceller: Canceller) -> Int {
        lock.lock()
        defer { lock.unlock() }
        nextToken += 1
        cancellers[nextToken] = canceller
        return nextToken
    }

    func unregister(_ token: Int) {
        lock.lock()
        defer { lock.unlock() }
        cancellers[token] = nil
    }
}
