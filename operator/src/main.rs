use clap::Parser;

#[tokio::main]
async fn main() {
    let cli = exposure_operator::cli::Cli::parse();
    std::process::exit(exposure_operator::cli::main(cli).await);
}
