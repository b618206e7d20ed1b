//! `/metrics`, `/healthz` and `/readyz`: a minimal HTTP/1.1 server (GET only), enough for
//! Prometheus and kubelet probes without pulling in a web framework.

use std::sync::Arc;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use super::metrics::Metrics;

pub async fn serve(listener: TcpListener, metrics: Arc<Metrics>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let metrics = metrics.clone();
        tokio::spawn(async move {
            if let Err(e) = answer(stream, &metrics).await {
                tracing::debug!(error = %e, "metrics connection failed");
            }
        });
    }
}

async fn answer(mut stream: TcpStream, metrics: &Metrics) -> std::io::Result<()> {
    let mut buf = vec![0u8; 4096];
    let n = tokio::time::timeout(std::time::Duration::from_secs(5), stream.read(&mut buf))
        .await
        .unwrap_or(Ok(0))?;
    let request = String::from_utf8_lossy(&buf[..n]);
    let path = request.split_whitespace().nth(1).unwrap_or("/");
    let (status, content_type, body) = route(path, metrics);
    let head = format!(
        "HTTP/1.1 {status}\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await?;
    stream.write_all(body.as_bytes()).await?;
    stream.shutdown().await
}

fn route(path: &str, metrics: &Metrics) -> (&'static str, &'static str, String) {
    match path.split('?').next().unwrap_or(path) {
        "/metrics" => (
            "200 OK",
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
            metrics.render(),
        ),
        "/healthz" => ("200 OK", "text/plain", "ok\n".to_string()),
        "/readyz" if metrics.is_ready() => ("200 OK", "text/plain", "ready\n".to_string()),
        "/readyz" => (
            "503 Service Unavailable",
            "text/plain",
            "caches not synced or API server unreachable\n".to_string(),
        ),
        _ => ("404 Not Found", "text/plain", "not found\n".to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readyz_follows_readiness() {
        let m = Metrics::default();
        assert_eq!(route("/readyz", &m).0, "503 Service Unavailable");
        m.set_ready(true);
        assert_eq!(route("/readyz", &m).0, "200 OK");
        m.set_api_reachable(false);
        assert_eq!(route("/readyz", &m).0, "503 Service Unavailable");
        assert_eq!(route("/healthz", &m).0, "200 OK");
        assert_eq!(route("/nope", &m).0, "404 Not Found");
        assert!(route("/metrics", &m)
            .2
            .contains("exposure_reconciles_total"));
    }
}
