//! Runs the heketi stand-in on its own (for manual experiments): prints its URL, logs every
//! request to stderr, stops on Ctrl-C. Tests use `exposure_e2e::heketi::HeketiStandIn` in-process.

use exposure_e2e::heketi::HeketiStandIn;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let heketi = HeketiStandIn::start().await?;
    println!("{}", heketi.url());
    let mut seen = 0;
    loop {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => return Ok(()),
            _ = tokio::time::sleep(std::time::Duration::from_millis(200)) => {}
        }
        let reqs = heketi.requests();
        for r in &reqs[seen..] {
            eprintln!("{} {} {}", r.method, r.path, r.body);
        }
        seen = reqs.len();
    }
}
