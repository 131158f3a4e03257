// petct_scan_files' files_done counter (ABI 8): the scan reads the headers in blocks and reports the
// files read after each block; one read of every file serves the scan and the progress.
import CPetct
import Glibc
import PetctSeries
import Testing

@testable import PetctExport

/// Paths that do not exist: every one is tried (and skipped) by the scan, so the counts are exact.
private func missingPaths(_ n: Int) -> [String] { (0..<n).map { "/nonexistent-petct-progress/\($0).dcm" } }

@Test func scanReportsFilesDoneAfterEveryBlock() {
    let n = 2 * SeriesScanner.progressBlock + 22
    var reports: [Int] = []
    let r = SeriesScanner.scanKeepingHeaders(paths: missingPaths(n), threads: 2, keep: false) { reports.append($0) }
    #expect(reports == [SeriesScanner.progressBlock, 2 * SeriesScanner.progressBlock, n])
    #expect(r.result.skipped.count == n)
    // without a reporter: the same result in one block
    let plain = SeriesScanner.scanKeepingHeaders(paths: missingPaths(n), threads: 2, keep: false)
    #expect(plain.result.skipped.map(\.path) == r.result.skipped.map(\.path))
}

@Test func scanFilesStoresTheCountInTheCallersCounter() {
    let paths = missingPaths(100)
    var cStrings = paths.map { strdup($0) }
    defer { for s in cStrings { free(s) } }
    var counter: Int64 = -1
    var scan: OpaquePointer? = nil
    var err = petct_error()
    let rc = cStrings.withUnsafeMutableBufferPointer { buf in
        buf.withMemoryRebound(to: UnsafePointer<CChar>?.self) { list in
            PetctExport.petct_scan_files(list.baseAddress, list.count, 1, 0, nil, &counter, &scan, &err)
        }
    }
    #expect(rc == PETCT_OK)
    #expect(counter == 100)
    PetctExport.petct_scan_free(scan)
    // a NULL counter is allowed
    let rc2 = cStrings.withUnsafeMutableBufferPointer { buf in
        buf.withMemoryRebound(to: UnsafePointer<CChar>?.self) { list in
            PetctExport.petct_scan_files(list.baseAddress, list.count, 1, 0, nil, nil, &scan, &err)
        }
    }
    #expect(rc2 == PETCT_OK)
    PetctExport.petct_scan_free(scan)
}
