import Testing

@testable import OrchestrateCore

/// The fleet aggregate of `status`, from literal targets: no database.
@Suite("fleet status aggregate")
struct FleetStatusTests {
    static func target(
        _ name: String, heads: [String], pending: [String] = [], known: Bool = true, reachable: Bool = true
    ) -> FleetStatus.Target {
        var target = FleetStatus.Target.unreachable(
            FleetTarget(name: name, conninfo: "dbname=\(name)", schema: nil), error: "connection refused")
        guard reachable else { return target }
        target.reachable = true
        target.error = nil
        target.ledgerVersion = 3
        target.headsApplied = heads
        target.appliedCount = heads.count
        target.pending = pending
        target.pendingKnown = known
        return target
    }

    @Test("positions: the most common first, pending counted per position, unreachable targets left out and counted")
    func positions() {
        var targets = (1...998).map { Self.target("t\($0)", heads: ["r2"]) }
        targets.append(Self.target("a", heads: ["r1"], pending: ["r2"]))
        targets.append(Self.target("b", heads: ["r1"], pending: ["r2"]))
        targets.append(Self.target("gone", heads: [], reachable: false))
        targets[5].freeze = Freeze(
            frozenAt: "2026-01-01T00:00:00.000Z", databaseUser: "u", osUser: nil, host: nil, gitCommit: nil,
            reason: "r")
        targets[6].failedRun = FleetStatus.FailedRun(action: "upgrade", outcome: "failed", at: "t", message: "m")
        let status = FleetStatus(size: 1001, selection: nil, targets: targets, drift: [])
        #expect(status.positions.map(\.targets) == [998, 2])
        #expect(status.positions.map(\.pending) == [0, 1])
        #expect(
            status.summaryLine
                == "1,001 targets: 998 at r2, 2 at r1 (1 pending); 1 failed, 0 locked, 1 frozen, 1 unreachable")
        #expect(status.counts.behind == 2)
        #expect(status.counts.pendingUnknown == 1)
    }

    @Test("a selection says how many of the fleet; nothing applied is `base`; unknown pending is said to be unknown")
    func selectionAndUnknown() {
        let targets = [
            Self.target("a", heads: []), Self.target("b", heads: ["x", "y"], known: false),
        ]
        let status = FleetStatus(size: 40, selection: "--shard 0/20", targets: targets, drift: [])
        #expect(
            status.summaryLine
                == "2 targets selected of 40: 1 at base, 1 at x+y (pending unknown); 0 failed, 0 locked, 0 frozen, 0 unreachable"
        )
    }

    @Test("counts are written with thousands separators, whatever the locale")
    func format() {
        #expect(FleetStatus.format(0) == "0")
        #expect(FleetStatus.format(999) == "999")
        #expect(FleetStatus.format(1000) == "1,000")
        #expect(FleetStatus.format(1_234_567) == "1,234,567")
    }
}
