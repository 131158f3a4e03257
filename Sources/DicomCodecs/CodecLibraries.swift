import CCharLS
import COpenJPEG
import DicomBytes

/// The codec libraries petct opens at run time (dlopen, on first use): CharLS for JPEG-LS and
/// OpenJPEG for JPEG 2000 / HTJ2K. Neither is needed to build petct or to import it; without one,
/// its transfer syntaxes raise an unsupported-transfer-syntax error saying what to install, and
/// everything else works.
public enum CodecLibrary: Int32, Sendable, CaseIterable {
    case charls = 1
    case openjpeg = 2

    /// Library name, what it decodes, its file and the packages that provide it.
    var name: String { self == .charls ? "CharLS" : "OpenJPEG" }
    var decodes: String { self == .charls ? "JPEG-LS" : "JPEG 2000" }
    var file: String { self == .charls ? "libcharls.so.2" : "libopenjp2.so.7" }
    var debianPackage: String { self == .charls ? "libcharls2" : "libopenjp2-7" }
}

public struct CodecLibraryStatus: Sendable {
    public var available: Bool
    /// "CharLS 2.4.1 (/usr/lib/x86_64-linux-gnu/libcharls.so.2)" or why it could not be loaded.
    public var description: String
}

public enum CodecLibraries {
    /// Opens the library if that was not tried yet and says what was found.
    public static func status(_ library: CodecLibrary) -> CodecLibraryStatus {
        var why: UnsafePointer<CChar>? = nil
        let ok: Bool
        var version = ""
        switch library {
        case .charls:
            ok = codecshim_charls_load(&why) == 1
            if ok, let v = charls_get_version_string() { version = String(cString: v) }
        case .openjpeg:
            ok = codecshim_openjpeg_load(&why) == 1
            if ok, let v = opj_version() { version = String(cString: v) }
        }
        let detail = why.map { String(cString: $0) } ?? ""
        if ok {
            return CodecLibraryStatus(available: true, description: "\(library.name) \(version) (\(detail))")
        }
        return CodecLibraryStatus(available: false, description: "\(library.name) not found: \(detail)")
    }

    /// The loaded OpenJPEG's version (read once, after a successful load).
    static let openjpegVersion: (major: Int, minor: Int)? = {
        guard codecshim_openjpeg_load(nil) == 1, let v = opj_version() else { return nil }
        return parseVersion(String(cString: v))
    }()

    /// "2.5.0" -> (2, 5); nil when it does not start with two dot-separated numbers.
    static func parseVersion(_ text: String) -> (major: Int, minor: Int)? {
        let parts = text.split(separator: ".", maxSplits: 2)
        guard parts.count >= 2, let major = Int(parts[0]),
            let minor = Int(parts[1].prefix { $0 >= "0" && $0 <= "9" })
        else { return nil }
        return (major, minor)
    }

    /// Opens the library if that was not tried yet; after the first call, one atomic load.
    @inline(__always)
    static func isLoaded(_ library: CodecLibrary) -> Bool {
        switch library {
        case .charls: return codecshim_charls_load(nil) == 1
        case .openjpeg: return codecshim_openjpeg_load(nil) == 1
        }
    }

    /// Throws an unsupported-transfer-syntax error naming the library and how to install it when
    /// `library` cannot be loaded.
    public static func require(_ library: CodecLibrary, for transferSyntax: String) throws(DicomError) {
        if isLoaded(library) {
            // HTJ2K (Part 15) arrived in OpenJPEG 2.5: an older library would report the stream as broken.
            if library == .openjpeg && transferSyntax.hasPrefix("1.2.840.10008.1.2.4.20"),
                let v = openjpegVersion, v.major < 2 || (v.major == 2 && v.minor < 5)
            {
                throw DicomError(
                    .unsupportedTransferSyntax,
                    "\(CodecRegistry.name(of: transferSyntax)) needs OpenJPEG 2.5 or newer, found "
                        + "\(v.major).\(v.minor): upgrade libopenjp2-7 (or install petct's wheel, which bundles 2.5)")
            }
            return
        }
        let s = status(library)
        throw DicomError(
            .unsupportedTransferSyntax,
            "\(CodecRegistry.name(of: transferSyntax)) needs the \(library.name) library "
                + "(\(library.file)), which could not be loaded: install the Debian package "
                + "\(library.debianPackage) (or petct's wheel, which bundles it) [\(s.description)]")
    }

    /// `decoder`, preceded by the check that its library is present.
    static func guarded(_ library: CodecLibrary, _ transferSyntax: String, _ decoder: @escaping FrameDecoder)
        -> FrameDecoder
    {
        return { (data: UnsafeRawBufferPointer, expected: FrameExpectation) throws(DicomError) -> DecodedFrame in
            try require(library, for: transferSyntax)
            return try decoder(data, expected)
        }
    }
}
