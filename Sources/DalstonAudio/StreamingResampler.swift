/// The same band-limited conversion as `Resampler`, fed piece by piece: live audio arrives in
/// frames of any size, and converting each frame alone would click at every frame boundary.
///
/// It keeps the input samples the next outputs still reach back to, and the position of the
/// next output in the input's timeline, so the concatenated output equals one pass over the
/// concatenated input (up to the last `reach` samples, which wait for their right-hand context).
package struct StreamingResampler: Sendable {
    package let inputRate: Int
    package let outputRate: Int
    private let step: Double
    private let reach: Double
    private let stepsPerSample: Double
    private let kernel: [Float]
    /// Input samples from `historyStart` on.
    private var history: [Float] = []
    private var historyStart = 0
    /// The next output's position in input samples since the stream began.
    private var nextCentre = 0.0

    package init(from inputRate: Int, to outputRate: Int, resampler: Resampler = Resampler()) {
        self.inputRate = inputRate
        self.outputRate = outputRate
        let ratio = Double(outputRate) / Double(inputRate)
        let bandwidth = min(1, ratio) * resampler.cutoff
        step = 1 / ratio
        reach = Double(resampler.halfWidth) / bandwidth
        stepsPerSample = Double(Resampler.tableResolution) / reach
        kernel = inputRate == outputRate ? [] : resampler.kernelTable(bandwidth: bandwidth)
    }

    /// Converts what can be converted now; the rest waits for more input or `finish()`.
    package mutating func process(_ input: [Float]) -> [Float] {
        guard inputRate != outputRate else { return input }
        history += input
        return drain(untilCentre: Double(historyStart + history.count - 1) - reach)
    }

    /// The outputs still waiting for right-hand context, as if the input ended with silence.
    package mutating func finish() -> [Float] {
        guard inputRate != outputRate else { return [] }
        return drain(untilCentre: Double(historyStart + history.count) - 0.5)
    }

    private mutating func drain(untilCentre limit: Double) -> [Float] {
        var output: [Float] = []
        guard nextCentre <= limit else { return output }
        output.reserveCapacity(Int((limit - nextCentre) / step) + 1)
        let end = historyStart + history.count
        history.withUnsafeBufferPointer { samples in
            kernel.withUnsafeBufferPointer { table in
                while nextCentre <= limit {
                    let first = max(historyStart, Int((nextCentre - reach).rounded(.up)))
                    let last = min(end - 1, Int((nextCentre + reach).rounded(.down)))
                    var sum: Float = 0
                    if first <= last {
                        for position in first...last {
                            let scaled = abs(Double(position) - nextCentre) * stepsPerSample
                            let lower = Int(scaled)
                            guard lower < Resampler.tableResolution else { continue }
                            let fraction = Float(scaled - Double(lower))
                            sum += samples[position - historyStart] * (table[lower] + (table[lower + 1] - table[lower]) * fraction)
                        }
                    }
                    output.append(sum)
                    nextCentre += step
                }
            }
        }
        // Forget what no later output reaches.
        let keepFrom = max(historyStart, Int((nextCentre - reach).rounded(.down)) - 1)
        if keepFrom > historyStart {
            let removed = min(history.count, keepFrom - historyStart)
            history.removeFirst(removed)
            historyStart += removed
        }
        return output
    }
}
