#if canImport(Glibc)
@preconcurrency import Glibc
#endif

/// Figures appear as they are measured, also when the output is a file or a pipe (CI): line
/// buffering instead of the full buffering C gives a non-terminal stdout.
func makeStandardOutputLineBuffered() {
    #if canImport(Glibc)
    setvbuf(stdout, nil, _IOLBF, 0)
    #endif
}
