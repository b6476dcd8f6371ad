import DescentCore
import Foundation

/// Writes TFRecord framing into a file, buffered: each record is its length (UInt64, little
/// endian), the masked CRC-32C of those 8 bytes, the data, and the masked CRC-32C of the data.
/// Records are written out when the buffer passes 64 KB and on `flush`.
public final class TFRecordWriter {
    public var path: String { file.path }
    private let file: AppendOnlyFile

    /// Creates (or empties) the file; throws with the path when it cannot.
    public init(path: String) throws {
        do {
            file = try AppendOnlyFile(path: path)
        } catch {
            throw TensorBoardError.cannotCreate(path: path, reason: String(cString: strerror(error.code)))
        }
    }

    public func write(_ record: [UInt8]) throws {
        let length = UInt64(record.count).littleEndian
        file.append(bytesOf: length)
        withUnsafeBytes(of: length) { file.append(bytesOf: CRC32C.masked(CRC32C.checksum($0)).littleEndian) }
        file.append(contentsOf: record)
        file.append(bytesOf: CRC32C.masked(CRC32C.checksum(record)).littleEndian)
        if file.pendingCount >= 1 << 16 { try flush() }
    }

    /// Writes what is buffered; a failure names the file and the system's reason
    /// (`FileWriteError`), and what was not written is kept.
    public func flush() throws { try file.flush() }

    public func close() throws { try file.close() }
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
