extension MNIST {
    /// Loads both sets from `directory`, first downloading any file that is missing there (as
    /// Keras's `mnist.load_data()` does). Files already present are used as they are.
    /// Throws `DataError.fetchFailed` listing every URL tried when a missing file cannot be fetched.
    public static func loadFetchingIfMissing(
        directory: String, fetcher: DatasetFetcher = DatasetFetcher()
    ) async throws -> MNIST {
        try await fetcher.ensurePresent(in: directory)
        return try load(directory: directory)
    }
}
