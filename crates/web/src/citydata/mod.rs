//! City data (城市大数据) over HTTP: imports of partner files (`api.rs` for partners' systems,
//! `pages.rs` for their clerks: upload, preview, confirm, progress, the error workbook), the
//! published schemas and templates, and the open data with small cells suppressed (`open.rs`).
//! What pages and the API share is in `flows.rs`.

pub mod api;
pub mod dashboard;
pub mod flows;
pub mod open;
pub mod pages;

pub use api::ROUTES;
