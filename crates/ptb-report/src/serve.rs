//! `ptb report --serve`: the report's pages rebuilt from the store on each request, plus `/api/live`
//! (runs in progress: phase, time left, last agent action) polled by `live.html`.

use std::path::PathBuf;
use std::sync::Arc;

use axum::extract::{Path as UrlPath, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::aggregate::AggregateConfig;
use crate::error::ReportError;

struct AppState {
    results_dir: PathBuf,
    config: AggregateConfig,
}

fn fail(e: ReportError) -> Response {
    (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response()
}

async fn page(State(s): State<Arc<AppState>>, name: Option<UrlPath<String>>) -> Response {
    let name = name.map(|UrlPath(n)| n).unwrap_or_else(|| "index.html".into());
    let pages = crate::store::scan(&s.results_dir).and_then(|runs| crate::html::site(&s.results_dir, &runs, &s.config));
    match pages {
        Err(e) => fail(e),
        Ok(mut pages) => match pages.remove(&name) {
            Some(html) => ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], html).into_response(),
            None => (StatusCode::NOT_FOUND, format!("no page {name}")).into_response(),
        },
    }
}

async fn live(State(s): State<Arc<AppState>>) -> Response {
    match crate::store::scan(&s.results_dir) {
        Err(e) => fail(e),
        Ok(runs) => axum::Json(crate::html::live_rows(&s.results_dir, &runs)).into_response(),
    }
}

/// The router of the report server.
pub fn router(results_dir: PathBuf, config: AggregateConfig) -> axum::Router {
    let state = Arc::new(AppState { results_dir, config });
    axum::Router::new()
        .route("/", get(|s| page(s, None)))
        .route("/api/live", get(live))
        .route("/{name}", get(|s, n| page(s, Some(n))))
        .with_state(state)
}

/// Serves the report on 127.0.0.1:`port` until interrupted.
pub async fn serve(results_dir: PathBuf, config: AggregateConfig, port: u16) -> Result<(), ReportError> {
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    let listener =
        tokio::net::TcpListener::bind(addr).await.map_err(|e| ReportError::io(format!("127.0.0.1:{port}"), e))?;
    eprintln!("serving the report on http://{addr}/ (Ctrl-C stops)");
    axum::serve(listener, router(results_dir, config))
        .await
        .map_err(|e| ReportError::io(format!("127.0.0.1:{port}"), e))
}
