import DicomBytes
import CCharLS
import COpenJPEG

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
        if isLoaded(library) { return }
        let s = status(library)
        throw DicomError(.unsupportedTransferSyntax,
                         "\(CodecRegistry.name(of: transferSyntax)) needs the \(library.name) library "
                         + "(\(library.file)), which could not be loaded: install the Debian package "
                         + "\(library.debianPackage) (or petct's wheel, which bundles it) [\(s.description)]")
    }

    /// `decoder`, preceded by the check that its library is present.
    static func guarded(_ library: CodecLibrary, _ transferSyntax: String, _ decoder: @escaping FrameDecoder) -> FrameDecoder {
        return { (data: UnsafeRawBufferPointer, expected: FrameExpectation) throws(DicomError) -> DecodedFrame in
            try require(library, for: transferSyntax)
            return try decoder(data, expected)
        }
    }
}
