fn main() -> std::process::ExitCode {
    // A render process (see `convoy::render::sandbox`) is this binary started with one hidden
    // argument; it serves jobs on stdin and never parses the CLI.
    if std::env::args_os().nth(1).is_some_and(|a| a == convoy::render::sandbox::WORKER_ARG) {
        return convoy::render::sandbox::worker_main();
    }
    let in_process = std::env::var(convoy::env_vars::CONVOY_RENDER_IN_PROCESS).is_ok_and(|v| v == "1");
    if let (Ok(exe), false) = (std::env::current_exe(), in_process) {
        convoy::render::sandbox::enable(exe);
    }
    convoy::cli::run()
}
