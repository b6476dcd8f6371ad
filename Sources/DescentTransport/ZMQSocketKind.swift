import CZeroMQ

/// The ZeroMQ socket types this wrapper creates. Descent uses ROUTER (coordinator) and DEALER (workers);
/// PAIR serves monitors and tests; REP answers ZAP (authentication) requests.
public enum ZMQSocketKind: Sendable, CaseIterable {
    case router
    case dealer
    case pair
    case rep

    var rawValue: Int32 {
        switch self {
        case .router: return ZMQ_ROUTER
        case .dealer: return ZMQ_DEALER
        case .pair: return ZMQ_PAIR
        case .rep: return ZMQ_REP
        }
    }
}
