/// Turns overlapping labelled intervals and boxes into disjoint ones.
///
/// The kernel's interval sets (rbtree, and pipapo for concatenations) refuse an element that overlaps another, while
/// policy rules overlap all the time (two rules allowing the same peer, an ipBlock around a selected pod). Splitting
/// at every boundary and labelling each piece with all the rules that cover it keeps the elements legal and remembers
/// why each exists; neighbours with the same labels merge again, so consecutive pod IPs allowed by the same rule cost
/// one element.
enum DisjointCover {
    /// An inclusive interval with its label (the rule that allows it).
    struct Item<Label: Hashable & Comparable> {
        var first: UInt128
        var last: UInt128
        var label: Label
    }

    /// A disjoint interval and every label that covered it, sorted.
    struct Piece<Label: Hashable & Comparable>: Hashable {
        var first: UInt128
        var last: UInt128
        var labels: [Label]
    }

    /// A disjoint box: an x interval times a y interval, with its labels.
    struct Box<Label: Hashable & Comparable> {
        var x: (first: UInt128, last: UInt128)
        var y: (first: UInt128, last: UInt128)
        var labels: [Label]
    }

    /// Disjoint pieces covering exactly the union of `items`, in order, adjacent pieces with equal labels merged.
    static func intervals<Label>(_ items: [Item<Label>]) -> [Piece<Label>] {
        var pieces: [Piece<Label>] = []
        var active: [Label: Int] = [:]
        sweep(items.indices, first: { items[$0].first }, last: { items[$0].last }) { event, start, end in
            switch event {
            case .enter(let index): active[items[index].label, default: 0] += 1
            case .leave(let index):
                let label = items[index].label
                active[label] = active[label] == 1 ? nil : active[label].map { $0 - 1 }
            case .segment:
                guard !active.isEmpty else { return }
                let labels = active.keys.sorted()
                // Segments come in order, so `previous.last < start` and the sum cannot overflow.
                if let previous = pieces.last, previous.labels == labels, previous.last + 1 == start {
                    pieces[pieces.count - 1].last = end
                } else {
                    pieces.append(Piece(first: start, last: end, labels: labels))
                }
            }
        }
        return pieces
    }

    /// Disjoint boxes covering exactly the union of `items` (each an x interval times a y interval): x is cut into
    /// slabs at every boundary, each slab's y intervals are made disjoint, and neighbouring slabs with the same y
    /// pieces merge.
    static func boxes<Label>(_ items: [(x: Item<Label>, y: (first: UInt128, last: UInt128))]) -> [Box<Label>] {
        var boxes: [Box<Label>] = []
        var active: Set<Int> = []
        var openSlab: (first: UInt128, last: UInt128, pieces: [Piece<Label>])?
        func close() {
            guard let slab = openSlab else { return }
            for piece in slab.pieces {
                boxes.append(
                    Box(x: (slab.first, slab.last), y: (piece.first, piece.last), labels: piece.labels))
            }
            openSlab = nil
        }
        sweep(items.indices, first: { items[$0].x.first }, last: { items[$0].x.last }) { event, start, end in
            switch event {
            case .enter(let index): active.insert(index)
            case .leave(let index): active.remove(index)
            case .segment:
                guard !active.isEmpty else {
                    close()
                    return
                }
                let pieces = intervals(
                    active.sorted().map {
                        Item(first: items[$0].y.first, last: items[$0].y.last, label: items[$0].x.label)
                    })
                if let slab = openSlab, slab.pieces == pieces, slab.last + 1 == start {
                    openSlab?.last = end
                } else {
                    close()
                    openSlab = (start, end, pieces)
                }
            }
        }
        close()
        return boxes
    }

    private enum SweepEvent {
        case enter(Int)
        case leave(Int)
        /// All events at a boundary were delivered; the segment from it to the next boundary follows.
        case segment
    }

    /// Walks the boundaries of the intervals in order: at each one, delivers the intervals that end just before it
    /// and those that start at it, then the segment up to the next boundary (`start...end`).
    private static func sweep(
        _ indices: Range<Int>, first: (Int) -> UInt128, last: (Int) -> UInt128,
        _ visit: (SweepEvent, _ start: UInt128, _ end: UInt128) -> Void
    ) {
        var events: [UInt128: (leaving: [Int], entering: [Int])] = [:]
        for index in indices {
            events[first(index), default: ([], [])].entering.append(index)
            let end = last(index)
            if end != .max { events[end + 1, default: ([], [])].leaving.append(index) }
        }
        let boundaries = events.keys.sorted()
        for (position, boundary) in boundaries.enumerated() {
            let end = position + 1 < boundaries.count ? boundaries[position + 1] - 1 : UInt128.max
            let (leaving, entering) = events[boundary]!
            for index in leaving { visit(.leave(index), boundary, end) }
            for index in entering { visit(.enter(index), boundary, end) }
            visit(.segment, boundary, end)
        }
    }
}
