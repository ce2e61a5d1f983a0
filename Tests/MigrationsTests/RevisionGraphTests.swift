import TestSupport
import Testing

@testable import Migrations

/// Builds a graph from `(id, parents)` pairs.
func makeGraph(_ nodes: [(String, [String])]) throws(GraphError) -> RevisionGraph {
    try RevisionGraph(nodes.map { RevisionNode(id: $0.0, parents: $0.1) })
}

/// The error building a graph throws, or `nil` when it is valid.
func graphError(_ nodes: [(String, [String])]) -> GraphError? {
    do {
        _ = try makeGraph(nodes)
        return nil
    } catch {
        return error
    }
}

@Suite("RevisionGraph validation")
struct RevisionGraphValidationTests {
    @Test("an empty graph is valid")
    func empty() throws {
        let graph = try makeGraph([])
        #expect(graph.isEmpty)
        #expect(graph.count == 0)
        #expect(graph.heads == [])
        #expect(graph.roots == [])
        #expect(graph.topologicalOrder == [])
    }

    @Test("duplicate ids")
    func duplicates() {
        #expect(graphError([("r", []), ("b", ["r"]), ("b", ["r"])]) == .duplicateRevision("b"))
        #expect(graphError([("r", []), ("r", [])]) == .duplicateRevision("r"))
    }

    @Test("missing parent")
    func missingParent() {
        #expect(graphError([("r", []), ("b", ["r", "x"])]) == .missingParent(revision: "b", parent: "x"))
    }

    @Test("2-cycle, printed parent first from the smallest id")
    func twoCycle() {
        let error = graphError([("r", []), ("b", ["a"]), ("a", ["r", "b"])])
        #expect(error == .cycle(["a", "b", "a"]))
        #expect(error?.description.contains("a -> b -> a") == true)
    }

    @Test("3-cycle")
    func threeCycle() {
        // a is the parent of b, b of c, c of a.
        #expect(
            graphError([("r", []), ("a", ["r", "c"]), ("b", ["a"]), ("c", ["b"])]) == .cycle(["a", "b", "c", "a"]))
        #expect(graphError([("c", ["b"]), ("a", ["c"]), ("b", ["a"])]) == .cycle(["a", "b", "c", "a"]))
    }

    @Test("self-parent")
    func selfParent() {
        #expect(graphError([("r", []), ("a", ["r", "a"])]) == .cycle(["a", "a"]))
        #expect(graphError([("a", ["a"])]) == .cycle(["a", "a"]))
    }

    @Test("a cycle reached from a revision outside it is printed without that revision")
    func cycleBehindAnotherRevision() {
        #expect(graphError([("r", []), ("a", ["r", "c"]), ("c", ["d"]), ("d", ["c"])]) == .cycle(["c", "d", "c"]))
    }

    @Test("several roots are a valid graph: two bases joined by a merge, and two unjoined lines")
    func severalRoots() throws {
        // Alembic's several bases: a project that merged another one's migrations keeps both roots.
        let joined = try makeGraph([
            ("b1", []), ("a1", []), ("a2", ["a1"]), ("b2", ["b1"]), ("m", ["a2", "b2"]), ("n", ["m"]),
        ])
        #expect(joined.roots == ["a1", "b1"])
        #expect(joined.heads == ["n"])
        #expect(joined.topologicalOrder == ["a1", "a2", "b1", "b2", "m", "n"])
        #expect(joined.ancestors(of: "n") == ["a1", "a2", "b1", "b2", "m"])
        #expect(try joined.resolve("head") == "n")
        // Two lines never joined: two roots and two heads; `head` is ambiguous, the order is still total.
        let forest = try makeGraph([("b", []), ("a", []), ("c", ["a"])])
        #expect(forest.roots == ["a", "b"])
        #expect(forest.heads == ["b", "c"])
        #expect(forest.topologicalOrder == ["a", "b", "c"])
        #expect(throws: GraphError.multipleHeads(["b", "c"])) { try forest.resolve("head") }
        // Validation still applies to every component.
        #expect(graphError([("a", []), ("b", []), ("c", ["zz"])]) == .missingParent(revision: "c", parent: "zz"))
        #expect(graphError([("a", []), ("b", ["c"]), ("c", ["b"])]) == .cycle(["b", "c", "b"]))
    }

    @Test("a duplicate parent in one node counts once")
    func duplicateParentInNode() throws {
        let graph = try makeGraph([("r", []), ("a", ["r", "r"])])
        #expect(graph.parents(of: "a") == ["r"])
        #expect(graph.children(of: "r") == ["a"])
    }
}

@Suite("RevisionGraph queries")
struct RevisionGraphQueryTests {
    /// r -> a -> m, r -> b -> m (merge), m -> x, plus a side branch a -> s.
    let nodes: [(String, [String])] = [
        ("x", ["m"]), ("m", ["b", "a"]), ("s", ["a"]), ("b", ["r"]), ("a", ["r"]), ("r", []),
    ]

    @Test("parents in written order, children sorted, roots and heads")
    func adjacency() throws {
        let graph = try makeGraph(nodes)
        #expect(graph.count == 6)
        #expect(graph.contains("m"))
        #expect(!graph.contains("q"))
        #expect(graph.parents(of: "m") == ["b", "a"])
        #expect(graph.parents(of: "r") == [])
        #expect(graph.parents(of: "nope") == [])
        #expect(graph.children(of: "a") == ["m", "s"])
        #expect(graph.children(of: "r") == ["a", "b"])
        #expect(graph.children(of: "x") == [])
        #expect(graph.roots == ["r"])
        #expect(graph.heads == ["s", "x"])
    }

    @Test("topological order is parents first, ties by id")
    func topologicalOrder() throws {
        let graph = try makeGraph(nodes)
        #expect(graph.topologicalOrder == ["r", "a", "b", "m", "s", "x"])

        // After r, both z and b are ready: b first; a only becomes ready after z and y.
        let chain = try makeGraph([("a", ["y"]), ("y", ["z"]), ("z", ["r"]), ("b", ["r"]), ("r", [])])
        #expect(chain.topologicalOrder == ["r", "b", "z", "y", "a"])
    }

    @Test("topological order does not depend on input order")
    func deterministic() throws {
        var generator = SeededGenerator(state: 7)
        let expected = try makeGraph(nodes).topologicalOrder
        for _ in 0..<20 {
            #expect(try makeGraph(nodes.shuffled(using: &generator)).topologicalOrder == expected)
        }
    }

    @Test("ancestors and descendants are strict")
    func ancestry() throws {
        let graph = try makeGraph(nodes)
        #expect(graph.ancestors(of: "x") == ["m", "a", "b", "r"])
        #expect(graph.ancestors(of: "s") == ["a", "r"])
        #expect(graph.ancestors(of: "r") == [])
        #expect(graph.descendants(of: "a") == ["m", "s", "x"])
        #expect(graph.descendants(of: "r") == ["a", "b", "m", "s", "x"])
        #expect(graph.descendants(of: "x") == [])
        #expect(graph.ancestors(of: "nope") == [])
        #expect(graph.descendants(of: "nope") == [])
    }

    @Test("unclosed members name the missing parents in topological order")
    func unclosedMembers() throws {
        let graph = try makeGraph(nodes)
        #expect(graph.unclosedMembers(of: ["r", "a", "b", "m"]).isEmpty)
        #expect(graph.unclosedMembers(of: []).isEmpty)
        #expect(graph.unclosedMembers(of: ["r", "orphan"]).isEmpty)
        let gaps = graph.unclosedMembers(of: ["x", "s", "r"]).map { "\($0.revision)<-\($0.missingParent)" }
        #expect(gaps == ["s<-a", "x<-m"])
        let merge = graph.unclosedMembers(of: ["m"]).map { "\($0.revision)<-\($0.missingParent)" }
        #expect(merge == ["m<-b", "m<-a"])
    }

    @Test("a random DAG's order matches a naive reference and respects every edge")
    func randomDAG() throws {
        var generator = SeededGenerator(state: 42)
        var nodes: [(String, [String])] = [("n0000", [])]
        for index in 1..<400 {
            let parentCount = Int.random(in: 1...3, using: &generator)
            let parents = Set((0..<parentCount).map { _ in Int.random(in: 0..<index, using: &generator) })
            // Ids are shuffled relative to creation order, so ties exercise the id ordering.
            nodes.append((padded4((index * 7_919) % 10_007), parents.sorted().map { nodes[$0].0 }))
        }
        let graph = try makeGraph(nodes.shuffled(using: &generator))
        let order = graph.topologicalOrder
        #expect(order.count == nodes.count)
        let position = Dictionary(uniqueKeysWithValues: order.enumerated().map { ($1, $0) })
        for (id, parents) in nodes {
            for parent in parents {
                #expect(position[parent]! < position[id]!)
            }
        }
        // Naive Kahn: repeatedly take the smallest id whose parents are all placed.
        var placed = Set<String>()
        var reference: [String] = []
        while reference.count < nodes.count {
            let next = nodes.filter { !placed.contains($0.0) && $0.1.allSatisfy(placed.contains) }.map(\.0).min()!
            placed.insert(next)
            reference.append(next)
        }
        #expect(order == reference)
        for (id, _) in nodes.prefix(50) {
            for ancestor in graph.ancestors(of: id) {
                #expect(graph.descendants(of: ancestor).contains(id))
            }
        }
    }

    @Test("a long chain and a wide fan build and sort")
    func largeShapes() throws {
        let chain = (0..<5_000).map { index in
            (padded4(index), index == 0 ? [] : [padded4(index - 1)])
        }
        let chainGraph = try makeGraph(chain.reversed())
        #expect(chainGraph.topologicalOrder == chain.map(\.0))
        #expect(chainGraph.heads == ["4999"])
        #expect(chainGraph.ancestors(of: "4999").count == 4_999)

        let fan = [("root", [String]())] + (0..<5_000).map { (padded4($0), ["root"]) }
        let fanGraph = try makeGraph(fan)
        #expect(fanGraph.heads.count == 5_000)
        #expect(fanGraph.topologicalOrder.first == "root")
        #expect(Array(fanGraph.topologicalOrder.dropFirst()) == (0..<5_000).map { padded4($0) })
    }
}

@Suite("RevisionGraph.resolve")
struct RevisionGraphResolveTests {
    let graph: RevisionGraph

    init() throws {
        graph = try makeGraph([
            ("20261120120000_create_users", []),
            ("20261121090000_add_last_login", ["20261120120000_create_users"]),
            ("20261121093000_add_email", ["20261121090000_add_last_login"]),
            ("abc", ["20261121093000_add_email"]),
            ("abcd", ["abc"]),
        ])
    }

    @Test("exact id, even when it prefixes another")
    func exact() throws {
        #expect(try graph.resolve("abc") == "abc")
        #expect(try graph.resolve("20261121090000_add_last_login") == "20261121090000_add_last_login")
    }

    @Test("head with one head")
    func head() throws {
        #expect(try graph.resolve("head") == "abcd")
    }

    @Test("a unique prefix")
    func prefix() throws {
        #expect(try graph.resolve("202611201") == "20261120120000_create_users")
        #expect(try graph.resolve("20261121093") == "20261121093000_add_email")
        #expect(try graph.resolve("abcd") == "abcd")
    }

    @Test("an ambiguous prefix lists the candidates, sorted")
    func ambiguous() {
        #expect(
            throws: GraphError.ambiguousPrefix(
                "2026112109",
                candidates: [
                    "20261121090000_add_last_login", "20261121093000_add_email",
                ])
        ) {
            try graph.resolve("2026112109")
        }
        #expect(throws: GraphError.ambiguousPrefix("ab", candidates: ["abc", "abcd"])) {
            try graph.resolve("ab")
        }
    }

    @Test("unknown revisions")
    func unknown() throws {
        #expect(throws: GraphError.unknownRevision("zzz")) { try graph.resolve("zzz") }
        #expect(throws: GraphError.unknownRevision("abcde")) { try graph.resolve("abcde") }
        #expect(throws: GraphError.unknownRevision("")) { try graph.resolve("") }
        #expect(throws: GraphError.unknownRevision("0")) { try graph.resolve("0") }
        let empty = try makeGraph([])
        #expect(throws: GraphError.unknownRevision("head")) { try empty.resolve("head") }
    }

    @Test("head with several heads names them and the way out")
    func severalHeads() throws {
        let forked = try makeGraph([("r", []), ("b", ["r"]), ("a", ["r"])])
        #expect(throws: GraphError.multipleHeads(["a", "b"])) { try forked.resolve("head") }
        let description = GraphError.multipleHeads(["a", "b"]).description
        #expect(description.contains("2 heads (a, b)"))
        #expect(description.contains("`orchestrate merge` joins them with a merge revision"))
        #expect(description.contains("`orchestrate rebase REV --onto OTHER` moves one that no environment has applied"))
    }
}

@Suite("GraphError descriptions")
struct GraphErrorDescriptionTests {
    @Test(
        "every case says what and what to do",
        arguments: [
            (GraphError.duplicateRevision("a"), "'a' is defined twice"),
            (.missingParent(revision: "b", parent: "a"), "migrations/b.sql: parent `a` does not exist"),
            (.cycle(["a", "b", "c", "a"]), "cycle: a -> b -> c -> a"),
            (.unknownRevision("q"), "unknown revision 'q'"),
            (.ambiguousPrefix("a", candidates: ["ab", "ac"]), "'a' is ambiguous: it starts 2 revisions (ab, ac)"),
        ])
    func descriptions(error: GraphError, fragment: String) {
        #expect(error.description.contains(fragment))
    }

    @Test("long lists are cut")
    func longList() {
        let heads = (0..<15).map { "h\($0)" }
        #expect(GraphError.multipleHeads(heads).description.contains("and 5 more"))
    }
}

/// `index` zero-padded to four digits.
func padded4(_ index: Int) -> String {
    let digits = String(index)
    return String(repeating: "0", count: max(0, 4 - digits.count)) + digits
}
