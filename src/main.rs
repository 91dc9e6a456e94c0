//! The qforge binary: parse arguments and hand them to the library.
fn main() -> std::process::ExitCode {
    qforge::cli::main()
}
