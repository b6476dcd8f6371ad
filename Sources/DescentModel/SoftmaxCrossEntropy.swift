#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Softmax with sparse categorical cross-entropy over rows of logits, computed stably
/// (log-sum-exp with the row's maximum subtracted).
enum SoftmaxCrossEntropy {
    /// Mean loss and arg-max hits of `batch` rows of `classes` logits.
    static func loss(
        logits: UnsafePointer<Float>, labels: UnsafePointer<Int32>, batch: Int, classes: Int
    ) -> BatchStats {
        var total = 0.0
        var correct = 0
        for r in 0..<batch {
            let z = logits + r * classes
            let label = checkedLabel(labels[r], classes: classes)
            let (maximum, argmax) = maxAndArgmax(z, count: classes)
            var sum: Float = 0
            for c in 0..<classes { sum += expf(z[c] - maximum) }
            total += Double(logf(sum)) - Double(z[label] - maximum)
            if argmax == label { correct += 1 }
        }
        return BatchStats(loss: total / Double(batch), correct: correct, samples: batch)
    }

    /// Like `loss`, and turns `logits` in place into the gradient of the mean loss with respect
    /// to them, `(softmax - onehot) / batch`, whose column sums it writes into `biasGradient`.
    static func lossAndGradient(
        logits: UnsafeMutablePointer<Float>, labels: UnsafePointer<Int32>, batch: Int, classes: Int,
        biasGradient: UnsafeMutablePointer<Float>
    ) -> BatchStats {
        var total = 0.0
        var correct = 0
        let inverseBatch = 1 / Float(batch)
        biasGradient.update(repeating: 0, count: classes)
        for r in 0..<batch {
            let z = logits + r * classes
            let label = checkedLabel(labels[r], classes: classes)
            let (maximum, argmax) = maxAndArgmax(z, count: classes)
            let labelLogit = z[label] - maximum
            var sum: Float = 0
            for c in 0..<classes {
                let e = expf(z[c] - maximum)
                z[c] = e
                sum += e
            }
            total += Double(logf(sum)) - Double(labelLogit)
            if argmax == label { correct += 1 }
            let scale = inverseBatch / sum
            for c in 0..<classes {
                z[c] *= scale
            }
            z[label] -= inverseBatch
            for c in 0..<classes { biasGradient[c] += z[c] }
        }
        return BatchStats(loss: total / Double(batch), correct: correct, samples: batch)
    }

    @inline(__always)
    private static func maxAndArgmax(_ z: UnsafePointer<Float>, count: Int) -> (Float, Int) {
        var maximum = z[0]
        var argmax = 0
        for c in 1..<count where z[c] > maximum {
            maximum = z[c]
            argmax = c
        }
        return (maximum, argmax)
    }

    @inline(__always)
    private static func checkedLabel(_ label: Int32, classes: Int) -> Int {
        // Loaders validate labels against the class count; reaching here with one out of range
        // is a programming error, and reading past the row would be worse than stopping.
        precondition(label >= 0 && Int(label) < classes, "label \(label) is outside 0..<\(classes)")
        return Int(label)
    }
}
