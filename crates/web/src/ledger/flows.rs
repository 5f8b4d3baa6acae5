//! The ledger's use cases, shared by the pages and the API: a resident's points, entries and
//! receipts, an admin's view of a citizen's entries (logged in their access log), and the
//! four-eyes reversal. Nothing here awards or spends points: awards come only from credited
//! deeds (the evaluation's rules), spending only from redemptions of a scanned code.

use crate::auth::Principal;
use crate::authz::{self, require, Action};
use crate::error::AppError;
use crate::AppState;
use domain::FieldError;
use moralbank_ledger::Receipt;
use moralbank_store::ledger::{EntryView, NewEntry, Points, ReversalRequest};
use moralbank_store::{now_ms, Actor};
use serde::Deserialize;
use std::collections::HashMap;

/// Entries per page, at most.
pub const ENTRIES_PAGE_MAX: u32 = 200;

/// A resident's own figures and their household's.
pub(crate) async fn points(
    state: &AppState,
    citizen_id: &str,
) -> Result<(Points, Points), AppError> {
    let c = state
        .store
        .registry()
        .citizen_summary(citizen_id)
        .await?
        .ok_or(AppError::Unauthorized)?;
    let now = now_ms();
    Ok((
        state.store.ledger().points(citizen_id, now).await?,
        state
            .store
            .ledger()
            .household_points(&c.household_id, now)
            .await?,
    ))
}

pub(crate) fn check_limit(limit: Option<u32>) -> Result<u32, AppError> {
    let limit = limit.unwrap_or(50);
    if !(1..=ENTRIES_PAGE_MAX).contains(&limit) {
        return Err(AppError::invalid(
            "limit",
            "limit_range",
            "must be between 1 and 200",
        ));
    }
    Ok(limit)
}

/// The cursor of the page after `items` (the last index), when the page was full.
pub(crate) fn next_cursor(items: &[EntryView], limit: u32) -> Option<u64> {
    match items.last() {
        Some(e) if items.len() == limit as usize => Some(e.index),
        _ => None,
    }
}

/// A citizen's entries for an admin: every read goes into the citizen's access log.
pub(crate) async fn entries_for_staff(
    state: &AppState,
    principal: &Principal,
    raw_id: &str,
    before: Option<u64>,
    limit: u32,
) -> Result<Vec<EntryView>, AppError> {
    require(principal, Action::ReadCitizenLedger)?;
    let scope = authz::citizen_scope(principal).ok_or(AppError::Forbidden)?;
    let id = domain::parse_id("id", raw_id).map_err(|_| AppError::NotFound("citizen"))?;
    if !state.store.registry().citizen_in_scope(&id, &scope).await? {
        return Err(AppError::NotFound("citizen"));
    }
    let items = state
        .store
        .ledger()
        .citizen_entries(&id, before, limit)
        .await?;
    let s = principal.staff().ok_or(AppError::Unauthorized)?;
    let actor = Actor {
        kind: "staff",
        id: s.id.clone(),
        label: format!("{} ({})", s.display_name, s.role.as_str()),
    };
    state
        .store
        .registry()
        .record_access(&[&id], &actor, "ledger")
        .await?;
    Ok(items)
}

/// The receipt of one of the resident's own entries, with what opens their commitment.
pub(crate) async fn own_receipt(
    state: &AppState,
    citizen_id: &str,
    index: u64,
) -> Result<Receipt, AppError> {
    match state.store.ledger().entry(index).await? {
        Some((owner, _)) if owner == citizen_id => {}
        // Someone else's entry is "not found" too: no probing which indexes are whose.
        _ => return Err(AppError::NotFound("entry")),
    }
    state
        .store
        .ledger()
        .witnessed_receipt(
            index,
            Some(citizen_id),
            &state.ledger.witness_names(),
            state.ledger.policy.quorum,
        )
        .await?
        .ok_or(AppError::NotFound("entry"))
}

/// How a receipt is downloaded: JSON (with the citizen's opening) or the C2SP `tlog-proof`
/// text layout (without it).
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum ReceiptFormat {
    #[default]
    Json,
    TlogProof,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReceiptQuery {
    #[serde(default)]
    pub format: ReceiptFormat,
}

/// The receipt's bytes, content type and file name in the asked format.
pub(crate) fn receipt_body(
    r: &Receipt,
    index: u64,
    format: ReceiptFormat,
) -> Result<(String, &'static str, String), AppError> {
    Ok(match format {
        ReceiptFormat::Json => (
            serde_json::to_string_pretty(r).map_err(|e| AppError::Internal(e.to_string()))?,
            "application/json",
            format!("moralbank-receipt-{index}.json"),
        ),
        ReceiptFormat::TlogProof => (
            r.to_tlog_proof(),
            "text/plain; charset=utf-8",
            format!("moralbank-entry-{index}.tlog-proof"),
        ),
    })
}

/// People-readable names for the approver ids on entries (`staff:<id>`, `partner:<id>`).
pub(crate) async fn approver_names(
    state: &AppState,
    entries: &[EntryView],
) -> Result<HashMap<String, String>, AppError> {
    let mut names = HashMap::new();
    for a in entries.iter().flat_map(|e| &e.approvers) {
        if names.contains_key(a) {
            continue;
        }
        let name = match a.split_once(':') {
            Some(("staff", id)) => state
                .store
                .accounts()
                .staff(id)
                .await?
                .map(|s| format!("{} ({})", s.display_name, s.role.as_str())),
            Some(("partner", id)) => state.store.accounts().partner(id).await?.map(|p| p.name),
            _ => None,
        };
        names.insert(a.clone(), name.unwrap_or_else(|| a.clone()));
    }
    Ok(names)
}

fn staff_id(principal: &Principal) -> Result<String, AppError> {
    Ok(format!(
        "staff:{}",
        principal.staff().ok_or(AppError::Unauthorized)?.id
    ))
}

/// Ask for a reversal of award `index` (the first of two people).
pub(crate) async fn request_reversal(
    state: &AppState,
    principal: &Principal,
    index: u64,
    reason: &str,
) -> Result<String, AppError> {
    require(principal, Action::ManageLedger)?;
    let me = staff_id(principal)?;
    Ok(state
        .store
        .ledger()
        .request_reversal(index, reason, &me, now_ms())
        .await?)
}

/// Approve or decline a reversal request (the second person: never the one who asked).
pub(crate) async fn decide_reversal(
    state: &AppState,
    principal: &Principal,
    raw_id: &str,
    approve: bool,
) -> Result<ReversalRequest, AppError> {
    require(principal, Action::ManageLedger)?;
    let me = staff_id(principal)?;
    let id = domain::parse_id("id", raw_id).map_err(|_| AppError::NotFound("reversal request"))?;
    let req = state
        .store
        .ledger()
        .reversal_request(&id)
        .await?
        .ok_or(AppError::NotFound("reversal request"))?;
    if req.decided_at.is_some() {
        return Err(AppError::Conflict(FieldError::new(
            "id",
            "already_decided",
            format!(
                "this request was already {}",
                req.decision.unwrap_or_default()
            ),
        )));
    }
    if req.requested_by == me {
        return Err(AppError::Conflict(FieldError::new(
            "approver",
            "second_approver_required",
            "the person who asked for a reversal cannot also decide it",
        )));
    }
    let reversal_idx = if approve {
        let entry = NewEntry::reversal(
            req.entry_index,
            &req.reason,
            vec![req.requested_by.clone(), me.clone()],
        );
        // Keyed by the request: approving twice (a retry, a second click) appends once.
        let appended = state
            .ledger
            .sequencer
            .append_reversal(format!("reversal/{}", req.id), entry)
            .await?;
        Some(appended.index)
    } else {
        None
    };
    state
        .store
        .ledger()
        .decide_reversal(&req.id, &me, approve, reversal_idx, now_ms())
        .await?;
    state
        .store
        .ledger()
        .reversal_request(&req.id)
        .await?
        .ok_or(AppError::NotFound("reversal request"))
}
