internal import CLibGit2

// The history walk behind `commitsTouching` and `commitAdding`.
//
// libgit2 1.5.1's revwalk marks every ancestor of a hidden commit as it prepares, so in a shallow
// clone it fails at the shallow boundary even when the range asked for lies well inside the fetched
// history. This walk follows git's own `limit_list`: commits come off a queue newest first, hidden
// commits pass their mark to their parents, and the walk stops once only hidden commits remain. A
// hidden commit's missing parent is simply the end of what we know; only a commit inside the range
// with a missing parent is an error (`.notFound`, which callers turn into `.shallowHistory`).
extension Repository {
    /// The commits reachable from `tip` and not from `hiding` (all of `tip`'s history when nil),
    /// children before parents and otherwise newest first (`git rev-list --topo-order --date-order`).
    func commits(from tip: ObjectID, hiding: ObjectID?) throws(GitError) -> [ObjectID] {
        var known: [ObjectID: (parents: [ObjectID], time: Int64)] = [:]
        var hidden: Set<ObjectID> = []
        var visited: Set<ObjectID> = []
        var queued: Set<ObjectID> = []
        var queue = CommitQueue()

        /// Reads a commit's parents and time once; nil when it is missing and `required` is false.
        func load(_ id: ObjectID, required: Bool) throws(GitError) -> (parents: [ObjectID], time: Int64)? {
            if let node = known[id] { return node }
            let node: (parents: [ObjectID], time: Int64)
            do throws(GitError) {
                node = try withCommit(id) { commit in (parentIDs(commit), git_commit_time(commit)) }
            } catch  where error.code == .notFound && !required {
                return nil
            }
            known[id] = node
            return node
        }

        func enqueue(_ id: ObjectID, required: Bool) throws(GitError) {
            guard !queued.contains(id), let node = try load(id, required: required) else { return }
            queued.insert(id)
            queue.push(id, time: node.time)
        }

        try enqueue(tip, required: true)
        if let hiding {
            try enqueue(hiding, required: true)
            hidden.insert(hiding)
        }
        // Like git, keep going a few steps after only hidden commits remain, to absorb clock skew.
        let slopSteps = 5
        var slop = slopSteps
        while let id = queue.pop() {
            queued.remove(id)
            guard let node = known[id] else { continue }
            if hidden.contains(id) {
                // A newly hidden parent is queued again even if it was walked, to pass the mark on.
                for parent in node.parents where hidden.insert(parent).inserted {
                    try enqueue(parent, required: false)
                }
            } else if visited.insert(id).inserted {
                for parent in node.parents where !visited.contains(parent) && !hidden.contains(parent) {
                    try enqueue(parent, required: true)
                }
            }
            if queue.ids.allSatisfy({ hidden.contains($0) }) {
                slop -= 1
                if slop == 0 { break }
            } else {
                slop = slopSteps
            }
        }
        return Self.topologicalOrder(visited.subtracting(hidden), known)
    }

    /// `commits` ordered children first, newest first among commits whose children are all listed.
    private static func topologicalOrder(
        _ commits: Set<ObjectID>,
        _ known: [ObjectID: (parents: [ObjectID], time: Int64)]
    ) -> [ObjectID] {
        var childCount: [ObjectID: Int] = [:]
        for id in commits {
            for parent in known[id]?.parents ?? [] where commits.contains(parent) {
                childCount[parent, default: 0] += 1
            }
        }
        var ready = CommitQueue()
        for id in commits.sorted(by: { $0.precedes($1) }) where childCount[id, default: 0] == 0 {
            ready.push(id, time: known[id]?.time ?? 0)
        }
        var ordered: [ObjectID] = []
        ordered.reserveCapacity(commits.count)
        while let id = ready.pop() {
            ordered.append(id)
            for parent in known[id]?.parents ?? [] where commits.contains(parent) {
                childCount[parent, default: 0] -= 1
                if childCount[parent] == 0 { ready.push(parent, time: known[parent]?.time ?? 0) }
            }
        }
        return ordered
    }
}
