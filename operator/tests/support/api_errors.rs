//! A loopback HTTP proxy in front of the API server that answers a share of the requests itself
//! with the errors a busy or failing API server gives: 429 Too Many Requests (with
//! `Retry-After`), 500 Internal Server Error, and 504 after holding the request (the API
//! server's own answer when a request outlives its timeout). The rest it forwards with the
//! admin client, watches included (their bodies stream through).
//!
//! The operator reaches it over plain HTTP on 127.0.0.1 (so no TLS has to be terminated with
//! the API server's key); the proxy talks TLS to the API server.
#![allow(dead_code)]

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Result;
use http_body_util::{combinators::UnsyncBoxBody, BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response, StatusCode};

use super::faults::Rng;

/// What the proxy did with the requests it received.
#[derive(Debug, Default, Clone, Copy)]
pub struct ApiErrorCounts {
    pub forwarded: u64,
    pub too_many_requests: u64,
    pub internal_errors: u64,
    pub timeouts: u64,
    /// Requests received while faulty, whatever their answer.
    pub while_faulty: u64,
}

pub struct ApiErrorProxy {
    pub addr: SocketAddr,
    counts: Arc<Mutex<ApiErrorCounts>>,
    percent: Arc<AtomicU64>,
    task: tokio::task::JoinHandle<()>,
}

type ProxyBody = UnsyncBoxBody<Bytes, Box<dyn std::error::Error + Send + Sync>>;

struct Shared {
    upstream: kube::Client,
    counts: Arc<Mutex<ApiErrorCounts>>,
    percent: Arc<AtomicU64>,
    hold: Duration,
    rng: Mutex<Rng>,
}

impl ApiErrorProxy {
    /// Forwards to the API server of `upstream`; while faulty, `percent` of the requests get an
    /// error instead (a third each of 429, 500, and 504 after `hold`), chosen by a generator
    /// seeded with `seed`.
    pub async fn start(
        upstream: kube::Client,
        percent: u64,
        hold: Duration,
        seed: u64,
    ) -> Result<Self> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let counts = Arc::new(Mutex::new(ApiErrorCounts::default()));
        let percent = Arc::new(AtomicU64::new(percent));
        let shared = Arc::new(Shared {
            upstream,
            counts: counts.clone(),
            percent: percent.clone(),
            hold,
            rng: Mutex::new(Rng::seeded(seed)),
        });
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let shared = shared.clone();
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |request| {
                        let shared = shared.clone();
                        async move { Ok::<_, Infallible>(shared.answer(request).await) }
                    });
                    // A connection the client drops mid-watch ends here; nothing to report.
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Ok(ApiErrorProxy {
            addr,
            counts,
            percent,
            task,
        })
    }

    /// From now on `percent` of the requests fail (100: the API is unusable, 0: healed).
    pub fn set_fault_percent(&self, percent: u64) {
        self.percent.store(percent, Ordering::Relaxed);
    }

    /// From now on every request is forwarded.
    pub fn heal(&self) {
        self.set_fault_percent(0);
    }

    pub fn counts(&self) -> ApiErrorCounts {
        self.counts.lock().map(|c| *c).unwrap_or_default()
    }
}

impl Drop for ApiErrorProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

enum Fault {
    TooManyRequests,
    Internal,
    Timeout,
}

impl Shared {
    fn count(&self, update: impl FnOnce(&mut ApiErrorCounts)) {
        if let Ok(mut counts) = self.counts.lock() {
            update(&mut counts);
        }
    }

    fn roll(&self) -> Option<Fault> {
        let percent = self.percent.load(Ordering::Relaxed);
        if percent == 0 {
            return None;
        }
        self.count(|c| c.while_faulty += 1);
        let mut rng = self.rng.lock().ok()?;
        let roll = rng.below(100);
        let fault = match roll % 3 {
            0 => Fault::TooManyRequests,
            1 => Fault::Internal,
            _ => Fault::Timeout,
        };
        (roll < percent).then_some(fault)
    }

    async fn answer(&self, request: Request<Incoming>) -> Response<ProxyBody> {
        match self.roll() {
            Some(Fault::TooManyRequests) => {
                self.count(|c| c.too_many_requests += 1);
                let mut response = status(StatusCode::TOO_MANY_REQUESTS, "TooManyRequests");
                response
                    .headers_mut()
                    .insert("retry-after", http::HeaderValue::from_static("1"));
                response
            }
            Some(Fault::Internal) => {
                self.count(|c| c.internal_errors += 1);
                status(StatusCode::INTERNAL_SERVER_ERROR, "InternalError")
            }
            Some(Fault::Timeout) => {
                self.count(|c| c.timeouts += 1);
                tokio::time::sleep(self.hold).await;
                status(StatusCode::GATEWAY_TIMEOUT, "Timeout")
            }
            None => {
                self.count(|c| c.forwarded += 1);
                self.forward(request).await.unwrap_or_else(|e| {
                    status(
                        StatusCode::BAD_GATEWAY,
                        &format!("the proxy could not reach the API server: {e}"),
                    )
                })
            }
        }
    }

    async fn forward(&self, request: Request<Incoming>) -> Result<Response<ProxyBody>> {
        let (mut parts, body) = request.into_parts();
        let body = body.collect().await?.to_bytes();
        // The upstream client sets its own host and credentials.
        parts.headers.remove(http::header::HOST);
        parts.headers.remove(http::header::AUTHORIZATION);
        let upstream = Request::from_parts(parts, kube::client::Body::from(body.to_vec()));
        let response = self.upstream.send(upstream).await?;
        Ok(response.map(|body| body.map_err(|e| Box::new(e) as _).boxed_unsync()))
    }
}

/// A `metav1.Status` answer, as the API server writes its errors.
fn status(code: StatusCode, reason: &str) -> Response<ProxyBody> {
    let body = serde_json::json!({
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": format!("injected by the test's API error proxy ({reason})"),
        "reason": reason,
        "code": code.as_u16(),
    })
    .to_string();
    let mut response = Response::new(
        Full::new(Bytes::from(body))
            .map_err(|never| match never {})
            .boxed_unsync(),
    );
    *response.status_mut() = code;
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    response
}
