/// Interpolation taps along one axis for every destination index: `index[start[d]..<start[d+1]]`
/// with `weight` (summing to 1); `inside[d]` says whether the destination centre lies in the source.
struct Taps {
    var start: [Int] = [0]
    var index: [Int] = []
    var weight: [Float] = []
    var inside: [Bool] = []
    var minIndex = Int.max, maxIndex = Int.min

    /// Linear (ITK convention: inside within half a voxel beyond the extreme centres, edge clamped)
    /// when `width` <= 1, else box averaging over `width` source voxels.
    mutating func add(_ x: Double, size n: Int, width: Double, area: Bool) {
        let ok = x >= -0.5 && x <= Double(n) - 0.5
        inside.append(ok)
        if ok {
            if area && width > 1 + 1e-6 {
                let h = width / 2
                let a = max(x - h, -0.5), b = min(x + h, Double(n) - 0.5)
                let first = max(0, Int((a + 0.5).rounded(.down)))
                let last = min(n - 1, Int((b + 0.5).rounded(.down)))
                var total = 0.0
                let mark = index.count
                if first <= last {
                    for s in first...last {
                        let w = min(b, Double(s) + 0.5) - max(a, Double(s) - 0.5)
                        if w > 1e-9 { index.append(s); weight.append(Float(w)); total += w }
                    }
                }
                if total > 0 {
                    for t in mark..<weight.count { weight[t] = Float(Double(weight[t]) / total) }
                } else {
                    appendLinear(x, n)
                }
            } else {
                appendLinear(x, n)
            }
        }
        for t in start[start.count - 1]..<index.count {
            minIndex = min(minIndex, index[t]); maxIndex = max(maxIndex, index[t])
        }
        start.append(index.count)
    }

    private mutating func appendLinear(_ x: Double, _ n: Int) {
        let (a, b, w) = linearTaps(x, n)
        if a == b || w == 0 {
            index.append(a); weight.append(1)
        } else {
            index.append(a); weight.append(Float(1 - w))
            index.append(b); weight.append(Float(w))
        }
    }
}

/// Clamped linear taps (ITK convention) of a continuous index x known to be inside [-0.5, n-0.5].
/// Positions within 1e-9 voxel of a centre snap to it, so identical grids copy values exactly.
@inline(__always) func linearTaps(_ x: Double, _ n: Int) -> (Int, Int, Double) {
    // x >= -0.5 here, so truncating x + 1 is floor(x) + 1 (cheaper than a floor call).
    var f = Double(Int(x + 1)) - 1
    var w = x - f
    if w < 1e-9 { w = 0 } else if w > 1 - 1e-9 { w = 0; f += 1 }
    let i0 = Int(f)
    return (min(max(i0, 0), n - 1), min(max(i0 + 1, 0), n - 1), w)
}

@inline(__always) func insideRange(_ x: Double, _ n: Int) -> Bool { x >= -0.5 && x <= Double(n) - 0.5 }
