//! The Kubernetes client the operator runs with: kube's default stack, plus
//! - a layer that reads the API server's `Warning` response headers (deprecated APIs and
//!   fields, unknown fields, ...), logs each and counts it in `exposure_api_warnings_total`, so
//!   a warning the cluster gives about our own writes is seen, and tested for, not lost;
//! - a request rate limit (`--kube-api-qps`, `--kube-api-burst`), so that a burst of work (a
//!   thousand Exposures applied at once, a restart) never floods the API server that every
//!   other controller of the cluster shares. A watch counts once, when it (re)connects. The
//!   time requests waited for it is counted (`exposure_api_throttled_seconds_total`), so that a
//!   limit that sets the operator's pace shows.

use std::future::Future;
use std::num::NonZeroU32;
use std::pin::Pin;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::task::{Context, Poll};

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use http::Response;
use kube::client::ClientBuilder;
use kube::{Client, Config};
use prometheus_client::metrics::counter::Counter;
use tower::util::MapResponseLayer;
use tower::{Layer, Service};

/// The client's request rate: a sustained rate and a burst above it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RequestRate {
    pub qps: NonZeroU32,
    pub burst: NonZeroU32,
}

/// Seconds that requests waited for a rate-limit token.
pub type ThrottledSeconds = Counter<f64, AtomicU64>;

/// A client for the inferred configuration (in-cluster, or `KUBECONFIG`), counting warnings,
/// at most `rate` requests per second, counting the time they waited in `throttled` (`None`:
/// unlimited, for the few requests that must not queue behind reconciles: the leader Lease's
/// renewals and the API health probe).
pub async fn client(
    warnings: Counter,
    rate: Option<(RequestRate, ThrottledSeconds)>,
) -> anyhow::Result<Client> {
    let config = Config::infer()
        .await
        .map_err(|e| anyhow::anyhow!("cannot build a Kubernetes client: {e}"))?;
    let warning_layer = MapResponseLayer::new(move |response: Response<_>| {
        for warning in response.headers().get_all(http::header::WARNING) {
            warnings.inc();
            tracing::warn!(warning = %String::from_utf8_lossy(warning.as_bytes()), "API server warning");
        }
        response
    });
    let builder = ClientBuilder::try_from(config)
        .map_err(|e| anyhow::anyhow!("cannot build a Kubernetes client: {e}"))?
        .with_layer(&warning_layer);
    Ok(match rate {
        Some((rate, throttled)) => builder
            .with_layer(&RateLimitLayer::new(rate, throttled))
            .build(),
        None => builder.build(),
    })
}

/// Waits for a token of a shared GCRA limiter before each request. kube's client drives the
/// service through a buffer that calls `poll_ready` before every `call`, so waiting there
/// holds back exactly one request at a time.
#[derive(Clone)]
pub struct RateLimitLayer {
    limiter: Arc<DefaultDirectRateLimiter>,
    throttled: ThrottledSeconds,
}

impl RateLimitLayer {
    pub fn new(rate: RequestRate, throttled: ThrottledSeconds) -> Self {
        Self {
            limiter: Arc::new(RateLimiter::direct(
                Quota::per_second(rate.qps).allow_burst(rate.burst),
            )),
            throttled,
        }
    }
}

impl<S> Layer<S> for RateLimitLayer {
    type Service = RateLimited<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RateLimited {
            inner,
            limiter: self.limiter.clone(),
            throttled: self.throttled.clone(),
            wait: None,
            token: false,
        }
    }
}

pub struct RateLimited<S> {
    inner: S,
    limiter: Arc<DefaultDirectRateLimiter>,
    throttled: ThrottledSeconds,
    wait: Option<Pin<Box<tokio::time::Sleep>>>,
    /// A token was taken for the next `call` (kept while the inner service is not ready).
    token: bool,
}

impl<S, R> Service<R> for RateLimited<S>
where
    S: Service<R>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        while !self.token {
            if let Some(wait) = self.wait.as_mut() {
                if wait.as_mut().poll(cx).is_pending() {
                    return Poll::Pending;
                }
                self.wait = None;
            }
            match self.limiter.check() {
                Ok(()) => self.token = true,
                Err(not_until) => {
                    let delay = not_until.wait_time_from(DefaultClock::default().now());
                    // One request waits at a time (see above): the sum is time the stream
                    // of requests was held back.
                    self.throttled.inc_by(delay.as_secs_f64());
                    self.wait = Some(Box::pin(tokio::time::sleep(delay)));
                }
            }
        }
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: R) -> Self::Future {
        self.token = false;
        self.inner.call(request)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::task::Waker;

    #[tokio::test]
    async fn requests_beyond_the_burst_wait_for_a_token() {
        let echo = tower::service_fn(|n: u32| async move { Ok::<_, std::convert::Infallible>(n) });
        let one = NonZeroU32::MIN;
        let rate = RequestRate {
            qps: one,
            burst: NonZeroU32::new(3).unwrap_or(one),
        };
        let throttled = ThrottledSeconds::default();
        let mut limited = RateLimitLayer::new(rate, throttled.clone()).layer(echo);
        let mut cx = Context::from_waker(Waker::noop());
        for n in 0..3 {
            assert!(
                matches!(limited.poll_ready(&mut cx), Poll::Ready(Ok(()))),
                "request {n}"
            );
            assert_eq!(limited.call(n).await, Ok(n));
        }
        // The burst is spent; the next token comes a second later (1 per second).
        assert!(limited.poll_ready(&mut cx).is_pending());
        assert!(limited.wait.is_some() && !limited.token);
        // ... and that wait is counted.
        assert!(
            throttled.get() > 0.5 && throttled.get() <= 1.0,
            "{}",
            throttled.get()
        );
    }
}
