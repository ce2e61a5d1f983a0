/// A binary min-heap of integers: the sorted frontier of the topological sort.
struct IndexHeap {
    private var storage: [Int] = []

    init(capacity: Int) {
        storage.reserveCapacity(capacity)
    }

    var isEmpty: Bool { storage.isEmpty }

    mutating func push(_ value: Int) {
        storage.append(value)
        var child = storage.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard storage[child] < storage[parent] else {
                break
            }
            storage.swapAt(child, parent)
            child = parent
        }
    }

    /// Removes and returns the smallest value; the heap must not be empty.
    mutating func popMin() -> Int {
        let minimum = storage[0]
        let last = storage.removeLast()
        if !storage.isEmpty {
            storage[0] = last
            var parent = 0
            while true {
                let left = 2 * parent + 1
                let right = left + 1
                var smallest = parent
                if left < storage.count, storage[left] < storage[smallest] {
                    smallest = left
                }
                if right < storage.count, storage[right] < storage[smallest] {
                    smallest = right
                }
                if smallest == parent {
                    break
                }
                storage.swapAt(parent, smallest)
                parent = smallest
            }
        }
        return minimum
    }
}
