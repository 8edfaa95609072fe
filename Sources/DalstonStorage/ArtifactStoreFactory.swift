package import DalstonCore
package import DalstonMetrics
package import DalstonPipeline
import Foundation

/// The process's artifact store from the environment: objects in a bucket when
/// `DALSTON_ARTIFACTS_URL=s3://bucket/prefix`, else files under `DALSTON_DATA_DIR`; measured
/// either way. Downloaded copies of objects go under `DALSTON_DATA_DIR/cache`.
package enum ArtifactStoreFactory {
    package static func make(environment: [String: String], instruments: Instruments) throws(ConfigurationError) -> any ArtifactStore {
        let files = FileArtifactStore.fromEnvironment(environment)
        let location: S3Location?
        do {
            location = try S3Location.fromEnvironment(environment)
        } catch {
            throw ConfigurationError(description: error.description)
        }
        guard let location else { return InstrumentedArtifactStore(files, backend: "file", instruments: instruments) }
        let timeout = try EnvironmentValue("DALSTON_S3_TIMEOUT_SECONDS", in: environment).seconds(in: 1...600, default: .seconds(30))
        let partMegabytes = try EnvironmentValue("DALSTON_S3_PART_MB", in: environment).integer(in: 5...512, default: 5)
        let store = S3ArtifactStore(
            client: S3Client(location: location, requestTimeout: timeout), cache: files.root.appendingPathComponent("cache", isDirectory: true),
            partBytes: partMegabytes << 20)
        return InstrumentedArtifactStore(store, backend: "s3", instruments: instruments)
    }
}
