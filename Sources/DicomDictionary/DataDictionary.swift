import DicomBytes

public struct DictionaryEntry: Sendable {
    public var tag: UInt32
    public var vr: String
    public var vm: String
    public var keyword: String
    public var name: String
    public var retired: Bool
}

public enum DataDictionary {
    public static func entry(for tag: UInt32) -> DictionaryEntry? { nil }
    public static func tag(forKeyword keyword: String) -> UInt32? { nil }
}
