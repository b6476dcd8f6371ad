import Testing
@testable import DescentCore

@Suite struct EpochPlanTests {
    @Test(arguments: [(5000, 32, 157), (60000, 32, 1875), (64, 32, 2), (65, 32, 3), (1, 512, 1)])
    func stepsPerEpochCountsTheLastPartialBatch(samples: Int, batch: Int, expected: Int) {
        // ceil(samples / batch), worked by hand: 156 * 32 = 4992 < 5000; 1875 * 32 = 60000.
        #expect(EpochPlan(sampleCount: samples, globalBatch: batch, seed: 1).stepsPerEpoch == expected)
    }

    @Test func eachEpochOrderIsAPermutationAndDependsOnTheEpoch() {
        let plan = EpochPlan(sampleCount: 1000, globalBatch: 10, seed: 7)
        let first = plan.order(epoch: 0)
        let second = plan.order(epoch: 1)
        #expect(first.sorted() == Array(0..<1000))
        #expect(second.sorted() == Array(0..<1000))
        #expect(first != second)
        #expect(first != Array(0..<1000))
        #expect(plan.order(epoch: 0) == first)
        #expect(EpochPlan(sampleCount: 1000, globalBatch: 10, seed: 8).order(epoch: 0) != first)
    }

    @Test(arguments: [1, 2, 3, 4, 7])
    func sharesOfAllRanksMakeUpTheGlobalBatchExactly(workers: Int) {
        let plan = EpochPlan(sampleCount: 103, globalBatch: 12, seed: 3)
        let order = plan.order(epoch: 2)
        var seen: [Int] = []
        let scratch = UnsafeMutableBufferPointer<Int>.allocate(capacity: 12)
        defer { scratch.deallocate() }
        for batch in 0..<plan.stepsPerEpoch {
            var union: [Int] = []
            var sizes: [Int] = []
            for rank in 0..<workers {
                let n = plan.share(batch: batch, rank: rank, workers: workers, order: order, into: scratch)
                #expect(n == plan.shareCount(batch: batch, rank: rank, workers: workers))
                union += scratch[0..<n]
                sizes.append(n)
            }
            let start = batch * 12, end = min(start + 12, 103)
            #expect(union.sorted() == order[start..<end].sorted())
            #expect(sizes.max()! - sizes.min()! <= 1)
            seen += union
        }
        // Every sample exactly once per epoch: 8 full batches of 12 and a last one of 7.
        #expect(seen.sorted() == Array(0..<103))
    }

    @Test func roundRobinDealingTakesEveryNthPositionOfTheBatch() {
        let plan = EpochPlan(sampleCount: 10, globalBatch: 8, seed: 0)
        let order = [9, 8, 7, 6, 5, 4, 3, 2, 1, 0]
        let scratch = UnsafeMutableBufferPointer<Int>.allocate(capacity: 8)
        defer { scratch.deallocate() }
        // Batch 0 covers positions 0..<8; rank 1 of 3 takes positions 1, 4, 7 -> samples 8, 5, 2.
        let n = plan.share(batch: 0, rank: 1, workers: 3, order: order, into: scratch)
        #expect(Array(scratch[0..<n]) == [8, 5, 2])
        // Batch 1 covers positions 8..<10; rank 2 of 3 gets nothing.
        #expect(plan.share(batch: 1, rank: 2, workers: 3, order: order, into: scratch) == 0)
        #expect(plan.share(batch: 1, rank: 1, workers: 3, order: order, into: scratch) == 1)
        #expect(scratch[0] == 0)
    }

    @Test func classSortedLabelsStillGiveEveryWorkerEveryDigit() {
        // 500 of each digit, sorted by class, as in the shared MNIST sample.
        let labels = (0..<5000).map { $0 / 500 }
        let plan = EpochPlan(sampleCount: 5000, globalBatch: 64, seed: 42)
        let order = plan.order(epoch: 0)
        let scratch = UnsafeMutableBufferPointer<Int>.allocate(capacity: 64)
        defer { scratch.deallocate() }
        for rank in 0..<4 {
            var digits = Set<Int>()
            for batch in 0..<10 {
                let n = plan.share(batch: batch, rank: rank, workers: 4, order: order, into: scratch)
                for i in 0..<n { digits.insert(labels[scratch[i]]) }
            }
            #expect(digits.count == 10, "rank \(rank) saw only digits \(digits.sorted())")
        }
    }

    @Test func positionOfStepSplitsIntoEpochAndBatch() {
        let plan = EpochPlan(sampleCount: 5000, globalBatch: 32, seed: 0)
        #expect(plan.position(ofStep: 0) == (0, 0))
        #expect(plan.position(ofStep: 156) == (0, 156))
        #expect(plan.position(ofStep: 157) == (1, 0))
        #expect(plan.position(ofStep: 2355) == (15, 0))
    }
}
