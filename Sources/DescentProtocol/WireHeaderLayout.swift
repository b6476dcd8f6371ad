/// Byte offsets of the header fields (see `WireHeader`).
enum WireHeaderLayout {
    static let magic = 0
    static let version = 4
    static let type = 6
    static let runID = 8
    static let generation = 16
    static let rank = 20
    static let step = 24
    static let count = 32
    static let dtype = 36
    static let reserved = 37
    static let reservedLength = 1
    static let round = 38
    static let a = 40
    static let b = 48
    static let c = 56
}

extension UnsafeRawBufferPointer {
    /// A little-endian integer at `offset`, whatever the buffer's alignment.
    func littleEndian<T: FixedWidthInteger>(at offset: Int, as type: T.Type) -> T {
        T(littleEndian: loadUnaligned(fromByteOffset: offset, as: T.self))
    }
}

extension UnsafeMutableRawBufferPointer {
    /// Stores `value` little-endian at `offset`, whatever the buffer's alignment.
    func storeLittleEndian<T: FixedWidthInteger>(_ value: T, at offset: Int) {
        storeBytes(of: value.littleEndian, toByteOffset: offset, as: T.self)
    }
}
