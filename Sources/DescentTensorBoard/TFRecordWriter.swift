import DescentCore
import Foundation

/// Writes TFRecord framing into a file, buffered: each record is its length (UInt64, little
/// endian), the masked CRC-32C of those 8 bytes, the data, and the masked CRC-32C of the data.
/// Records are written out when the buffer passes 64 KB and on `flush`.
public final class TFRecordWriter {
    public var path: String { file.path }
    private let file: AppendOnlyFile
    private var buffer: [UInt8] = []

    /// Creates (or empties) the file; throws with the path when it cannot.
    public init(path: String) throws {
        do {
            file = try AppendOnlyFile(path: path)
        } catch {
            throw TensorBoardError.cannotCreate(path: path, reason: String(cString: strerror(error.code)))
        }
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

    /// Writes what is buffered; a failure names the file and the system's reason
    /// (`FileWriteError`), and what was not written is kept.
    public func flush() throws {
        guard !buffer.isEmpty else { return }
        do {
            try buffer.withUnsafeBytes { try file.write($0) }
            buffer.removeAll(keepingCapacity: true)
        } catch let partial as AppendOnlyFile.PartialWrite {
            buffer.removeFirst(partial.written)
            throw partial.error
        }
    }

    public func close() throws {
        defer { file.close() }
        try flush()
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
