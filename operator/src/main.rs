use clap::Parser;

fn main() {
    exposure_operator::allocator::tune();
    let cli = exposure_operator::cli::Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("exposure-operator: cannot start the async runtime: {e}");
            std::process::exit(1);
        }
    };
    std::process::exit(runtime.block_on(exposure_operator::cli::main(cli)));
}
