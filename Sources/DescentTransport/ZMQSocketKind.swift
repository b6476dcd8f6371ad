import CZeroMQ

/// The ZeroMQ socket types this wrapper creates. Descent uses ROUTER (coordinator) and DEALER (workers);
/// PAIR serves monitors and tests.
public enum ZMQSocketKind: Sendable, CaseIterable {
    case router
    case dealer
    case pair

    var rawValue: Int32 {
        switch self {
        case .router: return ZMQ_ROUTER
        case .dealer: return ZMQ_DEALER
        case .pair: return ZMQ_PAIR
        }
    }
}
