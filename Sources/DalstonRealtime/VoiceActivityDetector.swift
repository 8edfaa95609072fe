/// Energy-based voice activity: each 30 ms frame's level in dBFS, mapped to a speech
/// probability (-60 dBFS and below → 0, -20 dBFS and above → 1), compared with the threshold.
///
/// It needs no model, so a worker starts at once; it cannot tell speech from loud noise, which
/// the recogniser's filler words and the minimum speech duration absorb.
package struct VoiceActivityDetector: Sendable {
    package static let frameSamples = 480  // 30 ms at 16 kHz
    package static let silenceFloor = -60.0
    package static let speechCeiling = -20.0

    package var threshold: Double

    package init(threshold: Double) {
        self.threshold = threshold
    }

    package static func probability(_ frame: ArraySlice<Float>) -> Double {
        guard !frame.isEmpty else { return 0 }
        var energy: Float = 0
        for sample in frame { energy += sample * sample }
        let rms = (Double(energy) / Double(frame.count)).squareRoot()
        let decibels = rms > 0 ? 20 * log10(rms) : -120
        return min(1, max(0, (decibels - silenceFloor) / (speechCeiling - silenceFloor)))
    }

    package func isSpeech(_ frame: ArraySlice<Float>) -> Bool {
        Self.probability(frame) > threshold
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
