//! The one HTTP client the log's outside parties use (HTTP/1.1 over TCP or TLS, keep-alive),
//! with a deadline on every request and a cap on every answer's size.

use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Bytes;
use hyper::{Method, Request};
use hyper_tls::HttpsConnector;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client as Hyper;
use hyper_util::rt::TokioExecutor;
use std::time::Duration;

/// No answer the parties read is larger (an entry bundle is at most 256 × 64 KiB).
pub const ANSWER_BYTES_MAX: usize = 17 * 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    #[error("{url}: no answer within {seconds} s")]
    Timeout { url: String, seconds: u64 },
    #[error("{url}: {message}")]
    Transport { url: String, message: String },
}

/// An answer: status, content type, body.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub content_type: String,
    pub body: Bytes,
}

impl Answer {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

#[derive(Clone)]
pub struct Client {
    inner: Hyper<HttpsConnector<HttpConnector>, Full<Bytes>>,
    timeout: Duration,
}

impl Client {
    pub fn new(timeout: Duration) -> Client {
        let inner = Hyper::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(30))
            .build(HttpsConnector::new());
        Client { inner, timeout }
    }

    pub async fn get(&self, url: &str) -> Result<Answer, HttpError> {
        self.send(Method::GET, url, None).await
    }

    pub async fn post_text(&self, url: &str, body: String) -> Result<Answer, HttpError> {
        self.send(Method::POST, url, Some(body)).await
    }

    async fn send(
        &self,
        method: Method,
        url: &str,
        body: Option<String>,
    ) -> Result<Answer, HttpError> {
        let transport = |message: String| HttpError::Transport {
            url: url.to_string(),
            message,
        };
        let mut req = Request::builder().method(method).uri(url).header(
            "user-agent",
            concat!("moralbank/", env!("CARGO_PKG_VERSION")),
        );
        if body.is_some() {
            req = req.header("content-type", "text/plain; charset=utf-8");
        }
        let req = req
            .body(Full::new(Bytes::from(body.unwrap_or_default())))
            .map_err(|e| transport(e.to_string()))?;
        let work = async {
            let res = self
                .inner
                .request(req)
                .await
                .map_err(|e| transport(format!("{e:#}")))?;
            let status = res.status().as_u16();
            let content_type = res
                .headers()
                .get("content-type")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_string();
            let body = Limited::new(res.into_body(), ANSWER_BYTES_MAX)
                .collect()
                .await
                .map_err(|e| transport(format!("reading the answer: {e}")))?
                .to_bytes();
            Ok(Answer {
                status,
                content_type,
                body,
            })
        };
        tokio::time::timeout(self.timeout, work)
            .await
            .map_err(|_| HttpError::Timeout {
                url: url.to_string(),
                seconds: self.timeout.as_secs(),
            })?
    }
}
