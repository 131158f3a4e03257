// swift-tools-version:6.0
// petct Swift core. Targets are layered bottom-up; each depends only on the ones above it:
//   DicomBytes      bytes, tags, VRs, errors, file I/O, zlib inflate
//   DicomDictionary PS3.6 data dictionary (generated compact string table, parsed lazily)
//   DicomParser     elements -> dataset (sequences, charsets, value decoding)
//   DicomCodecs     compressed pixel codecs (JPEG lossless, ...) on plain byte buffers
//   DicomPixels     pixel data: native, encapsulated fragments, RLE, codec registry, rescale
//   PetctSeries     folder scan, series assembly, slice geometry, volumes
//   PetctSUV        SUV normalisation (QIBA vendor-neutral method and vendor quirks)
//   PetctPairing    resampling and PET/CT pairing by index
//   PetctExport     the only place with @_cdecl functions: the C ABI (header: CPetct/include/petct.h)
import PackageDescription


let package = Package(
    name: "petct",
    products: [
        .library(name: "petct", type: .dynamic, targets: ["PetctExport"]),
    ],
    targets: [
        .target(name: "CPetct", path: "Sources/CPetct"),
        .systemLibrary(name: "CZlib", path: "Sources/CZlib"),
        // CharLS and OpenJPEG are opened with dlopen on first use (own declarations, no -dev headers).
        .target(name: "CCharLS", path: "Sources/CCharLS", linkerSettings: [.linkedLibrary("dl")]),
        .target(name: "COpenJPEG", path: "Sources/COpenJPEG", linkerSettings: [.linkedLibrary("dl")]),
        .target(name: "DicomBytes", dependencies: ["CZlib"]),
        .target(name: "DicomDictionary", dependencies: ["DicomBytes"], exclude: ["generate_dictionary.py"]),
        .target(name: "DicomParser", dependencies: ["DicomBytes", "DicomDictionary"], exclude: ["generate_charsets.py"]),
        .target(name: "DicomCodecs", dependencies: ["DicomBytes", "CCharLS", "COpenJPEG"]),
        .target(name: "DicomPixels", dependencies: ["DicomBytes", "DicomParser", "DicomCodecs"]),
        .target(name: "PetctSeries", dependencies: ["DicomBytes", "DicomParser", "DicomPixels"]),
        .target(name: "PetctSUV", dependencies: ["DicomBytes", "DicomParser"]),
        .target(name: "PetctPairing", dependencies: ["PetctSeries"]),
        .target(name: "DicomWriter", dependencies: ["DicomBytes", "DicomParser"]),
        .target(name: "PetctExport",
                dependencies: ["CPetct", "DicomBytes", "DicomDictionary", "DicomParser", "DicomPixels",
                               "PetctSeries", "PetctSUV", "PetctPairing", "DicomWriter"],
                exclude: ["exports.map"]),
        .testTarget(name: "DicomDictionaryTests", dependencies: ["DicomDictionary"]),
        .testTarget(name: "DicomParserTests", dependencies: ["DicomBytes", "DicomDictionary", "DicomParser"]),
        // Test-only: the libraries' own encoders, through their installed headers (libcharls-dev, libopenjp2-7-dev);
        // a plain `swift build` builds it too: without those headers, build the library with `--product petct`.
        .target(name: "CCodecTestEncoders", path: "Tests/CCodecTestEncoders",
                linkerSettings: [.linkedLibrary("charls"), .linkedLibrary("openjp2")]),
        .testTarget(name: "DicomCodecsTests", dependencies: ["DicomBytes", "DicomCodecs", "CCharLS", "COpenJPEG", "CCodecTestEncoders"]),
        .testTarget(name: "DicomPixelsTests", dependencies: ["DicomBytes", "DicomParser", "DicomPixels"]),
        .testTarget(name: "PetctSeriesTests", dependencies: ["DicomBytes", "DicomParser", "PetctSeries"]),
        .testTarget(name: "PetctSUVTests", dependencies: ["DicomBytes", "DicomParser", "PetctSUV"]),
        .testTarget(name: "PetctPairingTests", dependencies: ["PetctPairing"]),
        .testTarget(name: "DicomWriterTests", dependencies: ["DicomBytes", "DicomParser", "DicomWriter"]),
    ]
)
