import DicomDictionary

/// The reader's VR-for-a-tag path is `DicomDictionary.DictionaryVR` (lock-free, in the dictionary's
/// hash table); this name keeps the parser's call sites short.
typealias DictionaryVR = DicomDictionary.DictionaryVR
typealias AmbiguousVR = DicomDictionary.AmbiguousVR
