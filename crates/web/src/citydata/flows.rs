//! What the import pages and API share: the kind named in a URL, a run of the pipeline for a
//! partner or the city, the answer's status code, and the background jobs that commit a clerk's preview
//! with their progress.

use crate::error::AppError;
use crate::AppState;
use axum::http::StatusCode;
use domain::citydata::Schema;
use moralbank_store::citydata::{Import, ImportOwner, Mode, Upload};
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

/// The kind in a URL (`partner-deeds`), or 404.
pub fn kind(name: &str) -> Result<&'static Schema, AppError> {
    domain::citydata::kinds::kind(name).ok_or(AppError::NotFound("kind of file"))
}

/// Check an owner's file and preview or commit it.
pub async fn run(
    state: &AppState,
    schema: &'static Schema,
    owner: &ImportOwner,
    by: &str,
    file_name: &str,
    bytes: &[u8],
    mode: Mode,
) -> Result<Import, AppError> {
    let progress = AtomicUsize::new(0);
    Ok(state
        .store
        .citydata()
        .import_file(
            &Upload {
                schema,
                owner: owner.clone(),
                by: by.to_string(),
                file_name: file_name.chars().take(200).collect(),
                bytes,
            },
            mode,
            &state.rules,
            state.clock.now_ms(),
            &progress,
        )
        .await?)
}

/// A problem's message in the reader's language: the catalogue's words for its code in
/// Chinese (the detail, such as a range, is in the problem's cell and value), the problem's own
/// detailed message in English.
pub fn problem_message(state: &AppState, lang: &str, p: &domain::citydata::Problem) -> String {
    if lang == "en" {
        return p.message.clone();
    }
    for key in [format!("import.{}", p.code), format!("error.{}", p.code)] {
        if state.catalog.has(lang, &key) {
            return state.catalog.get(lang, &key);
        }
    }
    p.message.clone()
}

/// 201 for a new commit, 200 for a preview or a file committed before, 422 for a refused file.
pub fn status_of(i: &Import) -> StatusCode {
    match i.status.as_str() {
        "committed" if !i.already_imported => StatusCode::CREATED,
        "refused" => StatusCode::UNPROCESSABLE_ENTITY,
        _ => StatusCode::OK,
    }
}

/// The answer to an upload: the import as JSON; a refused file as problem details (RFC 9457)
/// whose extension members are the import, every problem included.
pub fn respond(i: &Import) -> axum::response::Response {
    use axum::response::IntoResponse;
    let status = status_of(i);
    let mut v = serde_json::to_value(i).unwrap_or_default();
    if status != StatusCode::UNPROCESSABLE_ENTITY {
        return (status, axum::Json(v)).into_response();
    }
    v["type"] = "/problems/import-refused".into();
    v["title"] = "The file was refused; nothing was imported".into();
    v["detail"] = format!(
        "{} problem(s) in {} of {} row(s); see problems",
        i.problems.len(),
        i.rows.refused,
        i.rows.total
    )
    .into();
    v["import_status"] = v["status"].take();
    v["status"] = 422.into();
    (
        status,
        [(axum::http::header::CONTENT_TYPE, "application/problem+json")],
        v.to_string(),
    )
        .into_response()
}

/// A running commit: rows done of the total.
#[derive(Clone)]
pub struct Job {
    pub done: Arc<AtomicUsize>,
    pub total: usize,
}

fn jobs() -> &'static Mutex<HashMap<String, Job>> {
    static JOBS: OnceLock<Mutex<HashMap<String, Job>>> = OnceLock::new();
    JOBS.get_or_init(Default::default)
}

/// The running commit of an import on this server, if any: (done, total).
pub fn progress(import_id: &str) -> Option<(usize, usize)> {
    let jobs = jobs().lock().ok()?;
    jobs.get(import_id)
        .map(|j| (j.done.load(Ordering::Relaxed).min(j.total), j.total))
}

/// Commit a clerk's preview in the background; the page shows its progress meanwhile. A
/// second confirmation while it runs starts nothing.
pub fn start_commit(state: &AppState, import: &Import, owner: &ImportOwner, by: &str) {
    let job = Job {
        done: Arc::new(AtomicUsize::new(0)),
        total: import.rows.total.max(0) as usize,
    };
    {
        let Ok(mut all) = jobs().lock() else { return };
        if all.contains_key(&import.id) {
            return;
        }
        all.insert(import.id.clone(), job.clone());
    }
    let kind = import.kind.clone();
    let (state, id, owner, by) = (
        state.clone(),
        import.id.clone(),
        owner.clone(),
        by.to_string(),
    );
    tokio::spawn(async move {
        let r = state
            .store
            .citydata()
            .commit_import(
                &id,
                &owner,
                &by,
                &state.rules,
                state.clock.now_ms(),
                &job.done,
            )
            .await;
        match r {
            Err(e) => {
                tracing::warn!(import = %id, error = %e, "an import's commit failed; nothing was written");
            }
            // The expert pool changed: the market's matching index is rebuilt from it.
            Ok(_) if kind == domain::citydata::kinds::MARKET_EXPERTS.kind => {
                state.market.changed(&state.store);
            }
            Ok(_) => {}
        }
        if let Ok(mut all) = jobs().lock() {
            all.remove(&id);
        }
    });
}
