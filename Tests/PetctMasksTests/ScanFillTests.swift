import Testing

@testable import PetctMasks

/// The RTSTRUCT rasteriser's inclusion rule: voxel centre inside by even-odd, centres on a left/top edge
/// inside, on a right/bottom edge outside; holes and islands across contours of one plane.

func raster(_ polys: [[(Double, Double)]], rows: Int = 12, columns: Int = 12) -> [[UInt8]] {
    var m = [[UInt8]](repeating: [UInt8](repeating: 0, count: columns), count: rows)
    scanFill(polys, rows: rows, columns: columns) { i, j0, j1 in for j in j0..<j1 { m[i][j] ^= 1 } }
    return m
}

@Test func squareOnVoxelCentresKeepsLeftTopEdges() {
    // square with corners on centres (2,3)..(6,8): columns 2..5 and rows 3..7 (right, bottom edges out)
    let m = raster([[(2, 3), (6, 3), (6, 8), (2, 8)]])
    for i in 0..<12 {
        for j in 0..<12 {
            #expect(m[i][j] == ((2..<6).contains(j) && (3..<8).contains(i) ? 1 : 0), "voxel \(i),\(j)")
        }
    }
}

@Test func holeAndIslandByEvenOdd() {
    let outer: [(Double, Double)] = [(0.5, 0.5), (10.5, 0.5), (10.5, 10.5), (0.5, 10.5)]
    let hole: [(Double, Double)] = [(2.5, 2.5), (8.5, 2.5), (8.5, 8.5), (2.5, 8.5)]
    let island: [(Double, Double)] = [(4.5, 4.5), (6.5, 4.5), (6.5, 6.5), (4.5, 6.5)]
    let m = raster([outer, hole, island])
    #expect(m[1][1] == 1)  // ring
    #expect(m[3][3] == 0)  // hole
    #expect(m[5][5] == 1)  // island in the hole
    #expect(m[11][11] == 0)  // outside
    let total = m.joined().reduce(0) { $0 + Int($1) }
    #expect(total == 100 - 36 + 4)
}

@Test func polygonOutsideTheGridIsClipped() {
    let m = raster([[(-5.5, -5.5), (3.5, -5.5), (3.5, 2.5), (-5.5, 2.5)]], rows: 4, columns: 4)
    #expect(m.joined().reduce(0) { $0 + Int($1) } == 4 * 3)
}

@Test func absurdCoordinatesNeitherCrashNorFill() {
    let huge = 1e308
    let m = raster([[(-huge, 0.5), (huge, 0.5), (huge, 5.5), (-huge, 5.5)], [(0, 0), (.infinity, 3), (2, .nan)]])
    #expect(m.count == 12)
}
