import Testing

@testable import Migrations

/// r -> a -> b -> c
private let chainNodes: [(String, [String])] = [("r", []), ("a", ["r"]), ("b", ["a"]), ("c", ["b"])]
/// r -> a -> m -> x and r -> b -> m: a merge.
private let mergeNodes: [(String, [String])] = [
    ("r", []), ("a", ["r"]), ("b", ["r"]), ("m", ["a", "b"]), ("x", ["m"]),
]
/// r -> a, r -> b: two heads.
private let forkNodes: [(String, [String])] = [("r", []), ("a", ["r"]), ("b", ["r"])]

private func up(_ revisions: [String]) -> Plan { Plan(direction: .up, revisions: revisions) }
private func down(_ revisions: [String]) -> Plan { Plan(direction: .down, revisions: revisions) }

@Suite("Planner.upgrade")
struct UpgradePlannerTests {
    let chain = try! makeGraph(chainNodes)
    let merge = try! makeGraph(mergeNodes)
    let fork = try! makeGraph(forkNodes)

    @Test("to head from nothing, and from part of the way")
    func toHead() throws {
        #expect(try Planner.upgrade(graph: chain, applied: [], to: .head) == up(["r", "a", "b", "c"]))
        #expect(try Planner.upgrade(graph: chain, applied: ["r", "a"], to: .head) == up(["b", "c"]))
        #expect(try Planner.upgrade(graph: merge, applied: ["r", "b"], to: .head) == up(["a", "m", "x"]))
    }

    @Test("to a revision, by id or prefix")
    func toRevision() throws {
        #expect(try Planner.upgrade(graph: chain, applied: ["r"], to: .revision("b")) == up(["a", "b"]))
        #expect(try Planner.upgrade(graph: merge, applied: ["r"], to: Target("a")) == up(["a"]))
        #expect(try Planner.upgrade(graph: merge, applied: [], to: .revision("m")) == up(["r", "a", "b", "m"]))
        let named = try makeGraph([("001_init", []), ("002_users", ["001_init"])])
        #expect(try Planner.upgrade(graph: named, applied: [], to: .revision("001")) == up(["001_init"]))
    }

    @Test("already there, or past the target: empty plan")
    func alreadyThere() throws {
        #expect(try Planner.upgrade(graph: chain, applied: ["r", "a", "b", "c"], to: .head).isEmpty)
        #expect(try Planner.upgrade(graph: chain, applied: ["r", "a", "b"], to: .revision("a")).isEmpty)
        #expect(try Planner.upgrade(graph: chain, applied: ["r", "a"], to: .base) == up([]))
        #expect(try Planner.upgrade(graph: makeGraph([]), applied: [], to: .head).isEmpty)
    }

    @Test("applied revisions unknown to the graph are ignored")
    func orphans() throws {
        #expect(try Planner.upgrade(graph: chain, applied: ["r", "ghost"], to: .head) == up(["a", "b", "c"]))
    }

    @Test("an applied set with a gap is refused")
    func unclosed() {
        #expect(throws: PlanError.notClosed(revision: "b", missingParent: "a")) {
            try Planner.upgrade(graph: chain, applied: ["r", "b"], to: .head)
        }
        #expect(throws: PlanError.notClosed(revision: "m", missingParent: "b")) {
            try Planner.upgrade(graph: merge, applied: ["r", "a", "m"], to: .base)
        }
    }

    @Test("several heads, unknown and ambiguous revisions")
    func graphErrors() {
        #expect(throws: PlanError.graph(.multipleHeads(["a", "b"]))) {
            try Planner.upgrade(graph: fork, applied: [], to: .head)
        }
        #expect(throws: PlanError.graph(.unknownRevision("zz"))) {
            try Planner.upgrade(graph: chain, applied: [], to: .revision("zz"))
        }
        let similar = try! makeGraph([("r", []), ("ab1", ["r"]), ("ab2", ["ab1"])])
        #expect(throws: PlanError.graph(.ambiguousPrefix("ab", candidates: ["ab1", "ab2"]))) {
            try Planner.upgrade(graph: similar, applied: [], to: .revision("ab"))
        }
    }

    @Test("one branch of a forked graph can still be targeted")
    func forkBranch() throws {
        #expect(try Planner.upgrade(graph: fork, applied: ["r"], to: .revision("b")) == up(["b"]))
    }
}

@Suite("Planner.promote")
struct PromotePlannerTests {
    let chain = try! makeGraph(chainNodes)
    let merge = try! makeGraph(mergeNodes)

    @Test("everything the source runs and the target lacks")
    func all() throws {
        #expect(
            try Planner.promote(graph: chain, applied: ["r"], sourceApplied: ["r", "a", "b"], to: .head)
                == up(["a", "b"]))
        #expect(
            try Planner.promote(graph: merge, applied: [], sourceApplied: ["r", "b", "a", "m"], to: .head)
                == up(["r", "a", "b", "m"]))
        #expect(try Planner.promote(graph: chain, applied: ["r", "a"], sourceApplied: ["r", "a"], to: .head).isEmpty)
        #expect(try Planner.promote(graph: chain, applied: ["r", "a", "b"], sourceApplied: ["r"], to: .head).isEmpty)
    }

    @Test("--to takes the revision and its ancestors only")
    func toRevision() throws {
        #expect(
            try Planner.promote(graph: chain, applied: [], sourceApplied: ["r", "a", "b"], to: .revision("a"))
                == up(["r", "a"]))
        #expect(
            try Planner.promote(graph: merge, applied: ["r"], sourceApplied: ["r", "a", "b", "m"], to: .revision("b"))
                == up(["b"]))
        #expect(try Planner.promote(graph: chain, applied: [], sourceApplied: ["r"], to: .base).isEmpty)
    }

    @Test("--to a revision the source does not run")
    func notInSource() {
        #expect(throws: PlanError.notInSource("c")) {
            try Planner.promote(graph: chain, applied: [], sourceApplied: ["r", "a"], to: .revision("c"))
        }
    }

    @Test("the source runs revisions with no file")
    func unknownToFiles() {
        #expect(throws: PlanError.unknownToFiles(["ghost", "zombie"])) {
            try Planner.promote(graph: chain, applied: [], sourceApplied: ["r", "zombie", "ghost"], to: .head)
        }
    }

    @Test("gaps in the target or in the source are refused")
    func unclosed() {
        #expect(throws: PlanError.notClosed(revision: "b", missingParent: "a")) {
            try Planner.promote(graph: chain, applied: ["r", "b"], sourceApplied: ["r", "a", "b"], to: .head)
        }
        #expect(throws: PlanError.notClosed(revision: "b", missingParent: "a")) {
            try Planner.promote(graph: chain, applied: ["r"], sourceApplied: ["r", "b"], to: .head)
        }
    }

    @Test("an unknown --to revision")
    func unknownTarget() {
        #expect(throws: PlanError.graph(.unknownRevision("q"))) {
            try Planner.promote(graph: chain, applied: [], sourceApplied: ["r"], to: .revision("q"))
        }
    }
}

@Suite("Planner.downgrade")
struct DowngradePlannerTests {
    let chain = try! makeGraph(chainNodes)
    let merge = try! makeGraph(mergeNodes)
    let all: Set<String> = ["r", "a", "b", "c"]

    @Test("to a revision reverts its descendants, newest first")
    func toRevision() throws {
        #expect(
            try Planner.downgrade(graph: chain, applied: all, to: .revision("a"), irreversible: []) == down(["c", "b"]))
        #expect(try Planner.downgrade(graph: chain, applied: all, to: .revision("c"), irreversible: []).isEmpty)
        #expect(
            try Planner.downgrade(graph: chain, applied: all, to: Target("b"), irreversible: ["r", "a"]) == down(["c"]))
    }

    @Test("to base reverts everything")
    func toBase() throws {
        #expect(
            try Planner.downgrade(graph: chain, applied: all, to: .base, irreversible: [])
                == down(["c", "b", "a", "r"]))
        #expect(try Planner.downgrade(graph: makeGraph([]), applied: [], to: .base, irreversible: []).isEmpty)
    }

    @Test("by steps")
    func steps() throws {
        #expect(try Planner.downgrade(graph: chain, applied: all, steps: 1, irreversible: []) == down(["c"]))
        #expect(try Planner.downgrade(graph: chain, applied: all, steps: 2, irreversible: []) == down(["c", "b"]))
        #expect(
            try Planner.downgrade(graph: chain, applied: all, steps: 4, irreversible: []) == down(["c", "b", "a", "r"]))
    }

    @Test("invalid steps")
    func invalidSteps() {
        for steps in [0, -1, 5] {
            #expect(throws: PlanError.invalidSteps(steps)) {
                try Planner.downgrade(graph: chain, applied: all, steps: steps, irreversible: [])
            }
        }
    }

    @Test("irreversible revisions are refused before anything runs, listed in plan order")
    func irreversible() {
        #expect(throws: PlanError.irreversible(["b"])) {
            try Planner.downgrade(graph: chain, applied: all, to: .revision("a"), irreversible: ["b"])
        }
        #expect(throws: PlanError.irreversible(["c", "a"])) {
            try Planner.downgrade(graph: chain, applied: all, to: .base, irreversible: ["a", "c"])
        }
        #expect(throws: PlanError.irreversible(["c"])) {
            try Planner.downgrade(graph: chain, applied: all, steps: 1, irreversible: ["c"])
        }
    }

    @Test("a target that is not applied")
    func targetNotApplied() {
        #expect(throws: PlanError.targetNotApplied("zzz")) {
            try Planner.downgrade(graph: chain, applied: all, to: .revision("zzz"), irreversible: [])
        }
        // The graph knows `c`, but the environment does not run it.
        #expect(throws: PlanError.targetNotApplied("c")) {
            try Planner.downgrade(graph: chain, applied: ["r", "a", "b"], to: .revision("c"), irreversible: [])
        }
    }

    @Test("head is not a downgrade target; ambiguous prefixes are graph errors")
    func badTargets() {
        #expect(throws: PlanError.downgradeNeedsTarget) {
            try Planner.downgrade(graph: chain, applied: all, to: .head, irreversible: [])
        }
        let similar = try! makeGraph([("r", []), ("ab1", ["r"]), ("ab2", ["ab1"])])
        #expect(throws: PlanError.graph(.ambiguousPrefix("ab", candidates: ["ab1", "ab2"]))) {
            try Planner.downgrade(graph: similar, applied: ["r", "ab1", "ab2"], to: .revision("ab"), irreversible: [])
        }
    }

    @Test("merge graphs: reverts every revision that is not the target or its ancestor")
    func mergeGraph() throws {
        let applied: Set<String> = ["r", "a", "b", "m", "x"]
        #expect(
            try Planner.downgrade(graph: merge, applied: applied, to: .revision("a"), irreversible: [])
                == down(["x", "m", "b"]))
        #expect(
            try Planner.downgrade(graph: merge, applied: applied, to: .revision("m"), irreversible: []) == down(["x"]))
        #expect(
            try Planner.downgrade(graph: merge, applied: applied, steps: 3, irreversible: []) == down(["x", "m", "b"]))
        #expect(
            try Planner.downgrade(graph: merge, applied: applied, to: .base, irreversible: [])
                == down(["x", "m", "b", "a", "r"]))
    }

    @Test("a ledger graph with a gap in the applied set is refused")
    func unclosed() {
        #expect(throws: PlanError.notClosed(revision: "b", missingParent: "a")) {
            try Planner.downgrade(graph: chain, applied: ["r", "b"], to: .base, irreversible: [])
        }
    }
}

@Suite("Target and PlanError")
struct TargetAndPlanErrorTests {
    @Test("Target parses head, base and revisions")
    func target() {
        #expect(Target("head") == .head)
        #expect(Target("base") == .base)
        #expect(Target("2026") == .revision("2026"))
        #expect(Target("HEAD") == .revision("HEAD"))
    }

    @Test(
        "descriptions say what and what next",
        arguments: [
            (PlanError.irreversible(["a", "b"]), "refusing to revert a, b: they have no '-- migrate:down' section"),
            (.notClosed(revision: "b", missingParent: "a"), "'b' is applied but its parent 'a' is not"),
            (.notInSource("c"), "'c' does not run in the source stage"),
            (.unknownToFiles(["g"]), "the source stage runs g, which has no migration file here"),
            (.targetNotApplied("c"), "'c' is not applied to this environment"),
            (.invalidSteps(0), "invalid --steps 0"),
            (.downgradeNeedsTarget, "--to REV, --to base, or --steps N"),
            (.graph(.multipleHeads(["a", "b"])), "orchestrate merge"),
        ])
    func descriptions(error: PlanError, fragment: String) {
        #expect(error.description.contains(fragment))
    }
}
