import Foundation
import Migrations

/// The revision graph drawn like `git log --graph`: newest first, one lane per line of history, `*` for a revision,
/// `|\` where a merge revision's parents split off, `|/` where lines of history meet at a branch point. A graph may
/// have several roots; lines of history that are never joined are drawn one after the other, with an empty row
/// between them.
///
/// Pure: it takes a graph and the labels to put next to revisions (where each environment stands) and returns rows
/// of text, so it is tested from literal graphs.
public enum GraphDrawing {
    /// One row of the drawing: the lane glyphs, and the revision when the row is a revision's own row.
    public struct Row: Sendable, Hashable {
        /// The lane glyphs (`*`, `|`, `\`, `/`, `_`, spaces), without trailing spaces.
        public var lanes: String
        /// The revision drawn on this row; nil for a connecting row.
        public var revision: String?
    }

    /// The order of the drawing: every revision before its parents (reverse topological), newest head first (by
    /// id, which `new` starts with a UTC timestamp), and each line of history kept together as far as it goes, like
    /// `git log --topo-order`.
    ///
    /// A revision is placed once all its children are; among those ready, the one placed last goes first, its first
    /// parent before its other parents.
    public static func order(_ graph: RevisionGraph) -> [String] {
        var pendingChildren: [String: Int] = [:]
        for id in graph.topologicalOrder { pendingChildren[id] = graph.children(of: id).count }
        var stack = graph.heads  // sorted ascending: the newest head is on top.
        var order: [String] = []
        order.reserveCapacity(graph.count)
        while let id = stack.popLast() {
            order.append(id)
            // Pushed in reverse, so the first parent is on top and its line continues next.
            for parent in graph.parents(of: id).reversed() {
                pendingChildren[parent, default: 0] -= 1
                if pendingChildren[parent] == 0 { stack.append(parent) }
            }
        }
        return order
    }

    /// The rows of the drawing, newest first (see `order(_:)`).
    public static func rows(_ graph: RevisionGraph) -> [Row] {
        var lanes: [String] = []  // the revision each lane leads to next
        var rows: [Row] = []
        let ordered = order(graph)
        for (position, id) in ordered.enumerated() {
            let column: Int
            if let existing = lanes.firstIndex(of: id) {
                column = existing
            } else {
                lanes.append(id)
                column = lanes.count - 1
            }
            rows.append(Row(lanes: glyphs(lanes.indices.map { $0 == column ? "*" : "|" }), revision: id))
            let parents = graph.parents(of: id)
            if let first = parents.first {
                lanes[column] = first
                // Each further parent of a merge gets a lane of its own next to the revision's; lanes to its right
                // move one place right.
                for (offset, parent) in parents.dropFirst().enumerated() {
                    let inserted = column + offset + 1
                    var cells = [String](repeating: " ", count: 2 * lanes.count + 2)
                    for lane in 0..<inserted { cells[2 * lane] = "|" }
                    cells[2 * inserted - 1] = "\\"
                    for lane in inserted..<lanes.count { cells[2 * lane + 1] = "\\" }
                    rows.append(Row(lanes: trimmed(cells), revision: nil))
                    lanes.insert(parent, at: inserted)
                }
            } else {
                // A root ends its lane; lanes to its right move one place left.
                if column < lanes.count - 1 {
                    rows.append(Row(lanes: shiftLeft(lanes.count, removing: column, into: nil), revision: nil))
                }
                lanes.remove(at: column)
                // The last open line of history ended at a root, and another one (not joined to it) follows: an empty
                // row keeps the two from reading as one line.
                if lanes.isEmpty, position < ordered.count - 1 {
                    rows.append(Row(lanes: "", revision: nil))
                }
            }
            // Lanes leading to the same revision meet (a branch point): the right one joins the left one.
            while let (target, duplicate) = firstDuplicate(lanes) {
                rows.append(Row(lanes: shiftLeft(lanes.count, removing: duplicate, into: target), revision: nil))
                lanes.remove(at: duplicate)
            }
        }
        return rows
    }

    /// The drawing as text: each revision's row carries its id and, after `◀`, its markers (environment names).
    ///
    /// A revision's id starts after the widest lanes of its own row and the connecting rows below it, so that ids
    /// stay clear of the lines, as git does.
    public static func render(_ graph: RevisionGraph, markers: [String: [String]] = [:]) -> [String] {
        let rows = rows(graph)
        var lines: [String] = []
        lines.reserveCapacity(rows.count)
        for (index, row) in rows.enumerated() {
            guard let revision = row.revision else {
                lines.append(row.lanes)
                continue
            }
            var width = row.lanes.count
            var next = index + 1
            while next < rows.count, rows[next].revision == nil {
                width = max(width, rows[next].lanes.count)
                next += 1
            }
            var line = row.lanes.padding(toLength: width, withPad: " ", startingAt: 0) + " " + revision
            if let names = markers[revision], !names.isEmpty {
                line += "  ◀ " + names.joined(separator: ", ")
            }
            lines.append(line)
        }
        return lines
    }

    // MARK: - Helpers

    /// A connecting row where the lane at `removed` ends, joining `target` (a lane to its left) or vanishing
    /// (nil); lanes right of it move one place left.
    private static func shiftLeft(_ count: Int, removing removed: Int, into target: Int?) -> String {
        var cells = [String](repeating: " ", count: 2 * count)
        for lane in 0..<removed { cells[2 * lane] = "|" }
        if let target {
            cells[2 * removed - 1] = "/"
            for lane in (target + 1)..<removed { cells[2 * lane - 1] = "_" }
        }
        for lane in (removed + 1)..<max(removed + 1, count) { cells[2 * lane - 1] = "/" }
        return trimmed(cells)
    }

    /// The first lane (from the left) that leads to the same revision as a lane before it: (that earlier lane, it).
    private static func firstDuplicate(_ lanes: [String]) -> (Int, Int)? {
        var seen: [String: Int] = [:]
        for (index, id) in lanes.enumerated() {
            if let first = seen[id] { return (first, index) }
            seen[id] = index
        }
        return nil
    }

    private static func glyphs(_ cells: [String]) -> String {
        cells.joined(separator: " ")
    }

    private static func trimmed(_ cells: [String]) -> String {
        var text = cells.joined()
        while text.hasSuffix(" ") { text.removeLast() }
        return text
    }
}
