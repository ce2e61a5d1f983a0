import Foundation
import Migrations
import Testing

@testable import OrchestrateCore

/// The `graph` drawing, from literal graphs.
@Suite("graph drawing")
struct GraphDrawingTests {
    func graph(_ nodes: [(String, [String])]) throws -> RevisionGraph {
        try RevisionGraph(nodes.map { RevisionNode(id: $0.0, parents: $0.1) })
    }

    @Test("a line of history is a column of stars, newest first, with markers after ◀")
    func linear() throws {
        let lines = GraphDrawing.render(
            try graph([("a", []), ("b", ["a"]), ("c", ["b"])]),
            markers: ["c": ["dev"], "a": ["staging", "production"]])
        #expect(lines == ["* c  ◀ dev", "* b", "* a  ◀ staging, production"])
    }

    @Test("two heads on one parent meet at the branch point")
    func twoHeads() throws {
        let lines = GraphDrawing.render(try graph([("a", []), ("b", ["a"]), ("c", ["a"])]))
        #expect(lines == ["* c", "| * b", "|/", "* a"])
    }

    @Test("a merge splits into its parents' lines, which meet again at the fork")
    func forkAndMerge() throws {
        let lines = GraphDrawing.render(
            try graph([("a", []), ("b", ["a"]), ("c", ["a"]), ("m", ["b", "c"]), ("n", ["m"])]),
            markers: ["b": ["staging"], "n": ["dev"]])
        #expect(
            lines == [
                "* n  ◀ dev",
                "*  m",
                "|\\",
                "* | b  ◀ staging",
                "| * c",
                "|/",
                "* a",
            ])
    }

    @Test("a merge of three heads opens a lane per extra parent")
    func octopus() throws {
        let lines = GraphDrawing.render(
            try graph([("a", []), ("b", ["a"]), ("c", ["a"]), ("d", ["a"]), ("m", ["b", "c", "d"])]))
        #expect(
            lines == [
                "*    m",
                "|\\",
                "| |\\",
                "* | | b",
                "| * | c",
                "|/ /",
                "| * d",
                "|/",
                "* a",
            ])
    }

    @Test("a lane that joins one further left passes under the lanes in between")
    func crossing() throws {
        let lines = GraphDrawing.render(
            try graph([("a", []), ("p", ["a"]), ("x", ["a"]), ("h1", ["p"]), ("h2", ["x"]), ("h3", ["p"])]))
        #expect(
            lines == [
                "* h3",
                "| * h2",
                "| * x",
                "| | * h1",
                "|_|/",
                "* | p",
                "|/",
                "* a",
            ])
    }

    @Test("a root ends its lane; lanes to its right move left")
    func twoRoots() throws {
        let lines = GraphDrawing.render(try graph([("r1", []), ("r2", []), ("h", ["r1", "r2"])]))
        #expect(lines == ["*  h", "|\\", "* | r1", " /", "* r2"])
    }

    @Test("two lines never joined (two roots, two heads) are drawn one after the other, apart")
    func unjoinedRoots() throws {
        let lines = GraphDrawing.render(try graph([("a1", []), ("a2", ["a1"]), ("b1", []), ("b2", ["b1"])]))
        #expect(lines == ["* b2", "* b1", "", "* a2", "* a1"])
    }

    @Test("the order puts every revision before its parents, each once, on a large generated graph")
    func orderIsReverseTopological() throws {
        var nodes: [(String, [String])] = [("r0000", [])]
        var generator = LinearCongruential(state: 42)
        for index in 1..<3000 {
            let id = String(format: "r%04d", index)
            let first = nodes[Int.random(in: max(0, nodes.count - 20)..<nodes.count, using: &generator)].0
            var parents = [first]
            if index % 7 == 0 {
                let second = nodes[Int.random(in: 0..<nodes.count, using: &generator)].0
                if second != first { parents.append(second) }
            }
            nodes.append((id, parents))
        }
        let graph = try graph(nodes)
        let order = GraphDrawing.order(graph)
        #expect(order.count == nodes.count)
        #expect(Set(order).count == nodes.count)
        var position: [String: Int] = [:]
        for (index, id) in order.enumerated() { position[id] = index }
        for (id, parents) in nodes {
            for parent in parents { #expect(position[id]! < position[parent]!) }
        }
        let started = Date()
        let lines = GraphDrawing.render(graph)
        #expect(Date().timeIntervalSince(started) < 2)
        let rows = GraphDrawing.rows(graph)
        #expect(lines.count == rows.count)
        #expect(rows.compactMap(\.revision) == order)
        #expect(
            rows.allSatisfy { $0.revision == nil ? !$0.lanes.contains("*") : $0.lanes.filter { $0 == "*" }.count == 1 })
    }
}

/// A deterministic generator, so the generated graph is the same on every run.
struct LinearCongruential: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        return state ^ (state >> 29)
    }
}
