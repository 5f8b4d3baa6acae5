//! The technology supermarket (科技超市) on the web: the public shelf `/market` ([`public`]);
//! the enterprise's and the office's console `/console/market` — demands with their matches
//! and why, introductions, contacts once accepted, events, tickets and the door, contracts,
//! figures ([`console`], [`office`]); the expert's own page `/expert` — claiming a profile,
//! keeping it current, answering introductions, free consultations ([`expert`]). The matching
//! index lives in [`MarketSearch`], built from the database at start and again on change.

pub mod console;
pub mod expert;
pub mod office;
pub mod public;

use crate::auth::{PageCtx, Principal};
use crate::error::AppError;
use crate::AppState;
use domain::market::search::{DemandQuery, Kind, Match, MatchIndex};
use domain::Role;
use moralbank_store::market::demands::Demand;
use moralbank_store::market::Party;
use moralbank_store::Store;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};

/// How many matches of each kind a demand's page shows.
pub const MATCHES_SHOWN: usize = 10;

/// The matching index, derived from the database: built at start ([`MarketSearch::rebuild`])
/// and again in the background after every change to the pool or the achievements
/// ([`MarketSearch::changed`]); a query meanwhile uses the previous index.
#[derive(Default)]
pub struct MarketSearch {
    index: RwLock<Option<Arc<MatchIndex>>>,
    building: tokio::sync::Mutex<()>,
    /// A change not yet in the index.
    stale: AtomicBool,
    /// A background rebuild is running.
    rebuilding: AtomicBool,
}

impl MarketSearch {
    /// Build the index from the database now and swap it in.
    pub async fn rebuild(&self, store: &Store) -> Result<(), AppError> {
        let _one = self.building.lock().await;
        let m = store.market();
        let experts = m.expert_docs().await?;
        let achievements = m.achievement_docs().await?;
        let built = tokio::task::spawn_blocking(move || MatchIndex::build(&experts, &achievements))
            .await
            .map_err(|e| AppError::Internal(format!("index build task: {e}")))?
            .map_err(|e| AppError::Internal(format!("index build: {e}")))?;
        *self
            .index
            .write()
            .map_err(|_| AppError::Internal("index lock".into()))? = Some(Arc::new(built));
        Ok(())
    }

    /// The pool or the achievements changed: rebuild in the background. Changes that arrive
    /// while a rebuild runs are folded into one more rebuild after it, not one each.
    pub fn changed(self: &Arc<Self>, store: &Store) {
        self.stale.store(true, Ordering::SeqCst);
        if self.rebuilding.swap(true, Ordering::SeqCst) {
            return;
        }
        let me = self.clone();
        let store = store.clone();
        tokio::spawn(async move {
            loop {
                while me.stale.swap(false, Ordering::SeqCst) {
                    if let Err(e) = me.rebuild(&store).await {
                        tracing::error!(error = %e, "rebuilding the market's matching index failed");
                    }
                }
                me.rebuilding.store(false, Ordering::SeqCst);
                // A change that came after the last check but before the flag fell: go on.
                if !me.stale.load(Ordering::SeqCst) || me.rebuilding.swap(true, Ordering::SeqCst) {
                    break;
                }
            }
        });
    }

    /// The current index, built first if there is none yet.
    pub async fn current(&self, store: &Store) -> Result<Arc<MatchIndex>, AppError> {
        let have = self
            .index
            .read()
            .map_err(|_| AppError::Internal("index lock".into()))?
            .clone();
        if let Some(i) = have {
            return Ok(i);
        }
        self.rebuild(store).await?;
        self.index
            .read()
            .map_err(|_| AppError::Internal("index lock".into()))?
            .clone()
            .ok_or_else(|| AppError::Internal("no index".into()))
    }
}

/// The query a demand makes.
pub(crate) fn query_of(d: &Demand, region: &str) -> DemandQuery {
    DemandQuery {
        title: d.title.clone(),
        summary: d.summary.clone(),
        industry: d.industry.clone(),
        region: region.to_string(),
    }
}

/// A demand's matches of one kind: the broker's pins first (marked), then the index's ranking.
pub(crate) async fn matches(
    state: &AppState,
    d: &Demand,
    kind: Kind,
) -> Result<Vec<Match>, AppError> {
    let index = state.market.current(&state.store).await?;
    let q = query_of(d, domain::market::LOCAL_AREA);
    let mut out = index.top(&q, kind, MATCHES_SHOWN * 3);
    let pins = state.store.market().pins(&d.id).await?;
    let kind_str = match kind {
        Kind::Expert => "expert",
        Kind::Achievement => "achievement",
    };
    let pinned: Vec<&str> = pins
        .iter()
        .filter(|p| p.target_kind == kind_str)
        .map(|p| p.target_id.as_str())
        .collect();
    out.sort_by_key(|m| !pinned.contains(&m.id.as_str()));
    // A pinned match the ranking did not reach still shows, first.
    for p in pinned.iter().rev() {
        if !out.iter().any(|m| m.id == *p) {
            out.insert(
                0,
                Match {
                    kind,
                    id: (*p).to_string(),
                    score: 0.0,
                    text_score: 0.0,
                    terms: Vec::new(),
                    codes: Vec::new(),
                    same_region: false,
                },
            );
        }
    }
    out.truncate(MATCHES_SHOWN);
    Ok(out)
}

/// The caller as the market names them: an enterprise's operator, the office's broker, or a
/// resident with an expert profile.
pub(crate) async fn party(state: &AppState, p: &Principal) -> Result<Party, AppError> {
    match p {
        Principal::Staff(s) if s.role == Role::Broker => Ok(Party::Broker {
            staff_id: s.id.clone(),
            label: format!("{}（科技超市）", s.display_name),
        }),
        Principal::Staff(s) if s.role == Role::PartnerOperator => {
            let pid = s.partner_id.clone().ok_or(AppError::Forbidden)?;
            let e = state
                .store
                .market()
                .enterprise(&pid)
                .await?
                .ok_or(AppError::Forbidden)?;
            Ok(Party::Enterprise {
                partner_id: pid,
                staff_id: s.id.clone(),
                label: format!("{}（{}）", e.name, s.display_name),
            })
        }
        Principal::Citizen { id } => Ok(Party::Expert {
            citizen_id: id.clone(),
        }),
        Principal::Anonymous => Err(AppError::Unauthorized),
        _ => Err(AppError::Forbidden),
    }
}

/// The label the market's access log records for the caller.
pub(crate) fn label(p: &Party) -> String {
    match p {
        Party::Enterprise { label, .. } | Party::Broker { label, .. } => label.clone(),
        Party::Expert { .. } => "专家本人".into(),
    }
}

pub(crate) fn id_of(what: &'static str, raw: &str) -> Result<String, AppError> {
    domain::parse_id(what, raw).map_err(|_| AppError::NotFound(what))
}

/// Names of codes for pages: `industry` and `discipline` maps code → Chinese/English name.
pub(crate) fn code_names(ctx: &PageCtx) -> minijinja::Value {
    use domain::market::codes::{DISCIPLINES, INDUSTRIES};
    let name = |c: &domain::market::codes::Code| if ctx.lang == "en" { c.en } else { c.zh };
    let industries: std::collections::BTreeMap<&str, &str> =
        INDUSTRIES.iter().map(|c| (c.code, name(c))).collect();
    let disciplines: std::collections::BTreeMap<&str, &str> =
        DISCIPLINES.iter().map(|c| (c.code, name(c))).collect();
    minijinja::context! { industry => industries, discipline => disciplines }
}
