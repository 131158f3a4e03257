// TestFile, tempDir and removeDir come from PetctTestSupport.
@_exported import PetctTestSupport

#if canImport(Glibc)
import Glibc
#endif

/// One image slice with the usual CT/PET geometry tags.
func slice(
    series: String, study: String = "1.2.3", modality: String = "CT", number: Int = 1, instance: Int?,
    ipp: [Double]?, iop: [Double]? = [1, 0, 0, 0, 1, 0], rows: Int = 2, columns: Int = 3,
    spacing: [Double] = [0.8, 0.9], slope: Double = 1, intercept: Double = 0, values: [UInt16]? = nil,
    imageType: String = "ORIGINAL\\PRIMARY\\AXIAL", description: String = "series"
) -> TestFile {
    var f = TestFile()
    f.text(0x0008_0008, "CS", imageType)
    f.text(0x0008_0016, "UI", "1.2.840.10008.5.1.4.1.1.2")
    f.text(0x0008_0018, "UI", "1.2.3.4.\(instance ?? 0)")
    f.text(0x0008_0060, "CS", modality)
    f.text(0x0008_103E, "LO", description)
    f.text(0x0010_0010, "PN", "Doe^Jane")
    f.text(0x0010_0020, "LO", "P1")
    f.text(0x0020_000D, "UI", study)
    f.text(0x0020_000E, "UI", series)
    f.text(0x0020_0011, "IS", String(number))
    if let instance { f.text(0x0020_0013, "IS", String(instance)) }
    if let ipp { f.ds(0x0020_0032, ipp) }
    if let iop { f.ds(0x0020_0037, iop) }
    f.text(0x0020_0052, "UI", "1.2.3.9")
    f.us(0x0028_0002, 1)
    f.text(0x0028_0004, "CS", "MONOCHROME2")
    f.us(0x0028_0010, UInt16(rows))
    f.us(0x0028_0011, UInt16(columns))
    f.ds(0x0028_0030, spacing)
    f.us(0x0028_0100, 16)
    f.us(0x0028_0101, 16)
    f.us(0x0028_0102, 15)
    f.us(0x0028_0103, 0)
    f.ds(0x0028_1052, [intercept])
    f.ds(0x0028_1053, [slope])
    f.pixels(values ?? [UInt16](repeating: UInt16(instance ?? 0), count: rows * columns))
    return f
}
