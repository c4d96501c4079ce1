use clap::Parser;

fn main() {
    let args = archsim::cli::Args::parse();
    std::process::exit(archsim::cli::run(args));
}
