/// A priority queue of commits, newest committer time first; equal times come out in the order
/// they went in, so walks are deterministic.
struct CommitQueue {
    private struct Item {
        var id: ObjectID
        var time: Int64
        var sequence: Int

        /// Whether `self` comes out before `other`.
        func precedes(_ other: Item) -> Bool {
            time != other.time ? time > other.time : sequence < other.sequence
        }
    }

    private var heap: [Item] = []
    private var nextSequence = 0

    var isEmpty: Bool { heap.isEmpty }

    /// The queued commits, in no particular order.
    var ids: some Sequence<ObjectID> { heap.lazy.map(\.id) }

    mutating func push(_ id: ObjectID, time: Int64) {
        heap.append(Item(id: id, time: time, sequence: nextSequence))
        nextSequence += 1
        var child = heap.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard heap[child].precedes(heap[parent]) else { break }
            heap.swapAt(child, parent)
            child = parent
        }
    }

    mutating func pop() -> ObjectID? {
        guard !heap.isEmpty else { return nil }
        heap.swapAt(0, heap.count - 1)
        let first = heap.removeLast()
        var parent = 0
        while true {
            let left = 2 * parent + 1
            let right = left + 1
            var best = parent
            if left < heap.count, heap[left].precedes(heap[best]) { best = left }
            if right < heap.count, heap[right].precedes(heap[best]) { best = right }
            if best == parent { break }
            heap.swapAt(parent, best)
            parent = best
        }
        return first.id
    }
}
