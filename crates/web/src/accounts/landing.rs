//! The staff console's landing page: what waits for this staff member, by role — the deeds
//! their committee must vote on (overdue ones and objections counted), the appeals for their
//! town, the reversals another admin asked them to approve, the committees that cannot reach
//! their quorum — and the links their role opens. City-wide counts only for the roles that
//! watch the whole city.

use crate::auth::PageCtx;
use crate::authz::{self, require, Action};
use crate::error::AppError;
use crate::frame::views::render;
use crate::frame::PageResult;
use crate::AppState;
use axum::extract::State;
use axum::response::IntoResponse;
use domain::deed::DeedStatus;
use minijinja::{context, Value};

/// Committees without a quorum listed on the admin's landing page, at most.
const SHORT_LISTED: usize = 10;

/// What waits for the signed-in staff member; empty parts are left out of the page.
async fn waiting(state: &AppState, ctx: &PageCtx) -> Result<Value, AppError> {
    let p = &ctx.principal;
    let staff = p.staff().ok_or(AppError::Unauthorized)?;
    let region = staff.region_id.clone();
    let mut queue = None;
    let mut short_here = None;
    if let (true, Some(village)) = (authz::allowed(p, Action::VoteDeeds), region.as_deref()) {
        let deeds = state
            .store
            .evaluation()
            .committee_queue(village, 500)
            .await?;
        let total = deeds.len();
        let overdue = deeds
            .iter()
            .filter(|d| crate::evaluation::flows::overdue(state, d))
            .count();
        let objections = deeds
            .iter()
            .filter(|d| d.status == DeedStatus::Paused)
            .count();
        queue = Some(context! { total, overdue, objections });
        short_here = state
            .store
            .evaluation()
            .committees_short(Some(village), state.rules.quorum)
            .await?
            .into_iter()
            .next();
    }
    let mut appeals = None;
    if let (true, Some(town)) = (authz::allowed(p, Action::DecideAppeals), region.as_deref()) {
        let deeds = state.store.evaluation().appeal_queue(town, 500).await?;
        let overdue = deeds
            .iter()
            .filter(|d| crate::evaluation::flows::overdue(state, d))
            .count();
        appeals = Some(context! { total => deeds.len(), overdue });
    }
    let mut reversals = None;
    let mut short = Vec::new();
    if authz::allowed(p, Action::ManageLedger) {
        let me = format!("staff:{}", staff.id);
        let pending = state.store.ledger().reversal_requests(true, 200).await?;
        let for_me = pending.iter().filter(|r| r.requested_by != me).count();
        reversals = Some(context! { for_me, mine => pending.len() - for_me });
        for c in state
            .store
            .evaluation()
            .committees_short(None, state.rules.quorum)
            .await?
            .into_iter()
            .take(SHORT_LISTED)
        {
            let (village, town) = state
                .store
                .registry()
                .village_and_town(&c.village_id)
                .await?;
            let name = format!(
                "{} · {}",
                crate::frame::region_name(ctx, &town),
                crate::frame::region_name(ctx, &village)
            );
            short.push(context! { name, c });
        }
    }
    let unread = state
        .store
        .evaluation()
        .inbox("staff", &staff.id, 100)
        .await?
        .iter()
        .filter(|n| !n.read)
        .count();
    Ok(context! { queue, short_here, appeals, reversals, short, unread })
}

pub(crate) async fn console(State(state): State<AppState>, ctx: PageCtx) -> PageResult {
    require(&ctx.principal, Action::StaffConsole)?;
    let p = &ctx.principal;
    // The city's counts are for those who watch the city, not for a village's evaluator.
    let stats = if authz::allowed(p, Action::ViewRegions) {
        let (citizens, households) = state.store.registry().count_citizens().await?;
        let (towns, villages) = state.store.registry().region_counts().await?;
        Some(context! { citizens, households, towns, villages })
    } else {
        None
    };
    // A bank's operator reads credit reports; other partners' operators do not.
    let bank = authz::allowed(p, Action::ReadCreditReports)
        && crate::credit::bank_actor(&state, p).await.is_ok();
    // A volunteer alliance's operator dispatches; other partners' operators do not.
    let alliance = authz::allowed(p, Action::DispatchVolunteers)
        && crate::dispatch::my_alliance(&state, &ctx).await.is_ok();
    // The market's console: the office's brokers and a registered enterprise's operators.
    let market =
        authz::allowed(p, Action::UseMarket) && crate::market::party(&state, p).await.is_ok();
    let view = context! {
        stats, waiting => waiting(&state, &ctx).await?,
        can => context! {
            citizens => authz::allowed(p, Action::ReadCitizens), regions => authz::allowed(p, Action::ViewRegions),
            staff => authz::allowed(p, Action::ManageStaff), partners => authz::allowed(p, Action::ManagePartners),
            ledger => authz::allowed(p, Action::ViewLedger),
            queue => authz::allowed(p, Action::VoteDeeds), appeals => authz::allowed(p, Action::DecideAppeals),
            standards => authz::allowed(p, Action::ManageStandards),
            green => authz::allowed(p, Action::ManageGreenCards),
            benefits => authz::allowed(p, Action::ManageBenefits),
            scan => authz::allowed(p, Action::ScanCodes),
            statistics => authz::allowed(p, Action::ViewStatistics),
            imports => authz::allowed(p, Action::ImportFiles),
            credit => bank,
            dispatch => alliance,
            market,
            credit_tables => authz::allowed(p, Action::ManageCreditTables),
            credit_figures => authz::allowed(p, Action::ViewCreditFigures),
        },
    };
    Ok(render(&state, &ctx, "console.html", view)?.into_response())
}
