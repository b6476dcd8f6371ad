import Foundation

/// Writes TFRecord framing into a file, buffered: each record is its length (UInt64, little
/// endian), the masked CRC-32C of those 8 bytes, the data, and the masked CRC-32C of the data.
/// Records are written out when the buffer passes 64 KB and on `flush`.
public final class TFRecordWriter {
    public let path: String
    private let handle: FileHandle
    private var buffer: [UInt8] = []

    /// Creates (or empties) the file; throws with the path when it cannot.
    public init(path: String) throws {
        self.path = path
        guard FileManager.default.createFile(atPath: path, contents: nil) else {
            throw TensorBoardError.cannotCreate(path: path, reason: String(cString: strerror(errno)))
        }
        handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        buffer.reserveCapacity(1 << 17)
    }

    public func write(_ record: [UInt8]) throws {
        var length = UInt64(record.count).littleEndian
        withUnsafeBytes(of: &length) { lengthBytes in
            buffer.append(contentsOf: lengthBytes)
            appendLittleEndian(CRC32C.masked(CRC32C.checksum(lengthBytes)))
        }
        buffer.append(contentsOf: record)
        appendLittleEndian(CRC32C.masked(CRC32C.checksum(record)))
        if buffer.count >= 1 << 16 { try flush() }
    }

    public func flush() throws {
        guard !buffer.isEmpty else { return }
        try handle.write(contentsOf: buffer)
        buffer.removeAll(keepingCapacity: true)
    }

    public func close() throws {
        try flush()
        try handle.close()
    }

    private func appendLittleEndian(_ value: UInt32) {
        var little = value.littleEndian
        withUnsafeBytes(of: &little) { buffer.append(contentsOf: $0) }
    }
}

/// An event file that cannot be written.
public enum TensorBoardError: Error, CustomStringConvertible {
    case cannotCreate(path: String, reason: String)

    public var description: String {
        switch self {
        case let .cannotCreate(path, reason): "cannot write the TensorBoard event file \(path): \(reason); check --tensorboard's directory"
        }
    }
}
