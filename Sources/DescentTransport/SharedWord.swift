import CLinuxSync

/// A 32-bit word in a shared-memory segment that processes use to signal each other: atomic
/// loads and stores, and a futex to sleep until it changes (so a worker on the coordinator's host
/// wakes for a step in microseconds, without a socket round trip).
public struct SharedWord: @unchecked Sendable {
    private let pointer: UnsafeMutablePointer<UInt32>
    /// Keeps the mapping alive while the word is in use.
    private let segment: SharedMemorySegment

    public init(_ segment: SharedMemorySegment, offset: Int) {
        precondition(offset % 4 == 0 && offset + 4 <= segment.byteCount, "word outside the segment")
        self.segment = segment
        pointer = (segment.base + offset).assumingMemoryBound(to: UInt32.self)
    }

    public func load() -> UInt32 { descent_atomic_load(pointer) }

    /// Stores with release ordering: what was written before is visible to whoever loads this value.
    public func store(_ value: UInt32) { descent_atomic_store(pointer, value) }

    @discardableResult
    public func add(_ value: UInt32) -> UInt32 { descent_atomic_add(pointer, value) }

    /// Sleeps while the word equals `expected`, at most `timeout` seconds. Returns the word's
    /// value after waking (equal to `expected` after a timeout). Where futexes do not exist it
    /// sleeps for the timeout.
    @discardableResult
    public func wait(whileEquals expected: UInt32, timeout: Double) -> UInt32 {
        let nanoseconds = max(0, Int(timeout * 1e9))
        if descent_futex_supported() != 0 {
            _ = descent_futex_wait(pointer, expected, nanoseconds)
        } else if load() == expected {
            var interval = timespec(tv_sec: nanoseconds / 1_000_000_000, tv_nsec: nanoseconds % 1_000_000_000)
            nanosleep(&interval, nil)
        }
        return load()
    }

    /// Spins (loads with a pause between, the CPU yielded every 64 loads) while the word equals
    /// `expected`, at most `seconds`; returns the word's value. For a waiter whose CPU has nothing
    /// else to run: it sees the change within microseconds instead of after a futex wakeup. When the
    /// scheduler puts the spinner on the CPU of a process that computes, the yields give that
    /// process the CPU back (without them the coordinator, spinning for the last gradient, took
    /// turns with the worker computing it: 2 x 32 ran 0.8x as fast in `bench distributed`).
    public func spin(whileEquals expected: UInt32, seconds: Double) -> UInt32 {
        descent_spin_while_equals(pointer, expected, Int(max(0, seconds) * 1e9))
    }

    /// Wakes the processes sleeping on this word (all of them, or one).
    public func wake(all: Bool = true) {
        _ = descent_futex_wake(pointer, all ? Int32.max : 1)
    }
}

extension SharedMemorySegment {
    /// `count` bytes starting `offset` bytes into the segment.
    public func bytes(at offset: Int, count: Int) -> UnsafeMutableRawBufferPointer {
        precondition(offset >= 0 && offset + count <= byteCount, "byte range outside the segment")
        return UnsafeMutableRawBufferPointer(start: base + offset, count: count)
    }
}
