//! The village committee's rounds: a member's vote, the tally (quorum, the chair's casting vote)
//! and what the round decides: publicity with points, or a rejection that may be appealed. After
//! an objection the same rounds decide whether it is upheld or dismissed.

use super::{chair_vote, check_cap, eligible_voters, event, lock_deed, members, notify, once};
use super::{set_status, Deed, Rules, VoteInput};
use crate::evaluation::Evaluation;
use crate::{Result, StoreError};
use domain::deed::{self, Committee, DeedStatus, Member, Outcome, Step, Tally};
use sqlx::{AnyConnection, Row};

impl Evaluation<'_> {
    /// A committee member votes. Recusal is enforced: nobody votes on a deed of their own
    /// household or one they reported. A rejection needs a reason; approvals name points in
    /// the standard's range; the standard's cap is checked when a round approves.
    pub async fn vote(
        &self,
        deed_id: &str,
        staff: &crate::Staff,
        v: &VoteInput,
        rules: &Rules,
        now: i64,
    ) -> Result<DeedStatus> {
        let comment = v.comment.trim();
        if !v.approve && comment.is_empty() {
            return Err(StoreError::invalid(
                "comment",
                "reason_required",
                "a rejection needs a reason",
            ));
        }
        if comment.chars().count() > deed::REASON_CHARS_MAX {
            return Err(StoreError::invalid(
                "comment",
                "too_long",
                "at most 500 characters",
            ));
        }
        let mut tx = self.write.begin().await?;
        let d = lock_deed(&mut tx, deed_id, now).await?;
        Committee::Village(&d.village_id).seats(
            staff.role,
            staff.region_id.as_deref(),
            staff.active,
        )?;
        d.status.allows(Step::Vote).map_err(StoreError::Conflict)?;
        let eligible = eligible_voters(&mut tx, "evaluator", &d.village_id, &d).await?;
        deed::recusal(&eligible, &staff.id, d.parties().source)?;
        let points = if v.approve {
            let s = &d.standard;
            Some(
                deed::decided_points(s.points_min, s.points_max, v.points)
                    .map_err(|e| StoreError::Invalid(e.into()))?,
            )
        } else {
            None
        };
        cast(&mut tx, &d, &staff.id, v.approve, points, comment, now).await?;
        let outcome = round_outcome(&mut tx, &d, &eligible, rules).await?;
        let new_status = match outcome {
            Tally::Pending => d.status,
            Tally::Approved { points } => {
                check_cap(&mut tx, &d, points).await?;
                approve(&mut tx, &d, points, comment, rules, now).await?
            }
            Tally::Rejected => reject(&mut tx, &d, comment, rules, now).await?,
        };
        tx.commit().await?;
        Ok(new_status)
    }
}

/// Record the member's vote in this round, with its event.
async fn cast(
    tx: &mut AnyConnection,
    d: &Deed,
    staff_id: &str,
    approve: bool,
    points: Option<i64>,
    comment: &str,
    now: i64,
) -> Result<()> {
    let res = sqlx::query(
        "INSERT INTO deed_votes (deed_id, round, staff_id, approve, points, comment, at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(&d.id)
    .bind(d.round)
    .bind(staff_id)
    .bind(i64::from(approve))
    .bind(points)
    .bind(comment)
    .bind(now)
    .execute(&mut *tx)
    .await;
    once(res, "already_voted", "you have voted in this round")?;
    let action = if approve {
        "vote_approve"
    } else {
        "vote_reject"
    };
    event(tx, &d.id, now, ("staff", staff_id), action, comment).await
}

/// What the round's votes decide so far: the quorum's verdict, else the chair's casting vote
/// on a tie of everyone who may vote. A committee too small decides nothing.
async fn round_outcome(
    tx: &mut AnyConnection,
    d: &Deed,
    eligible: &[Member],
    rules: &Rules,
) -> Result<Tally> {
    let committee = members(tx, "evaluator", &d.village_id).await?;
    let rows =
        sqlx::query("SELECT approve, points FROM deed_votes WHERE deed_id = $1 AND round = $2")
            .bind(&d.id)
            .bind(d.round)
            .fetch_all(&mut *tx)
            .await?;
    let mut approvals = Vec::new();
    let mut rejections = 0;
    for r in &rows {
        if r.try_get::<i64, _>("approve")? != 0 {
            approvals.push(r.try_get::<Option<i64>, _>("points")?.unwrap_or(0));
        } else {
            rejections += 1;
        }
    }
    if committee.len() < deed::COMMITTEE_MIN {
        return Ok(Tally::Pending);
    }
    let quorum = deed::quorum(committee.len(), rules.quorum);
    match deed::tally(&approvals, rejections, quorum) {
        Tally::Pending => {
            let may_vote = eligible.iter().filter(|m| m.may_vote()).count();
            let chair = match eligible.iter().find(|m| m.is_chair && m.may_vote()) {
                Some(c) => chair_vote(tx, &d.id, d.round, &c.staff_id).await?,
                None => None,
            };
            Ok(deed::casting_vote(&approvals, rejections, may_vote, chair))
        }
        decided => Ok(decided),
    }
}

/// The round approved: publicity with `points` (an objection that paused it is dismissed).
async fn approve(
    tx: &mut AnyConnection,
    d: &Deed,
    points: i64,
    comment: &str,
    rules: &Rules,
    now: i64,
) -> Result<DeedStatus> {
    let to = d.after(Outcome::Approved)?;
    set_status(
        tx,
        &d.id,
        to,
        ", points = $3, decided_at = $4, publicity_ends_at = $5",
        &[Some(points), Some(now), Some(now + rules.publicity_ms)],
    )
    .await?;
    let committee = ("committee", d.village_id.as_str());
    event(tx, &d.id, now, committee, "approved", &format!("{points}")).await?;
    if d.status == DeedStatus::Paused {
        close_objections(tx, &d.id, d.round - 1, "dismissed", now).await?;
        event(tx, &d.id, now, committee, "objection_dismissed", comment).await?;
    }
    notify(
        tx,
        &[("citizen", d.citizen_id.clone())],
        &d.id,
        "deed_publicity",
        now,
    )
    .await?;
    Ok(to)
}

/// The round rejected: the resident (and a nominator) may appeal in time (an objection that
/// paused it is upheld).
async fn reject(
    tx: &mut AnyConnection,
    d: &Deed,
    comment: &str,
    rules: &Rules,
    now: i64,
) -> Result<DeedStatus> {
    let to = d.after(Outcome::Rejected)?;
    set_status(
        tx,
        &d.id,
        to,
        ", decided_at = $3, appeal_deadline = $4",
        &[Some(now), Some(now + rules.appeal_ms)],
    )
    .await?;
    let committee = ("committee", d.village_id.as_str());
    event(tx, &d.id, now, committee, "rejected", comment).await?;
    if d.status == DeedStatus::Paused {
        close_objections(tx, &d.id, d.round - 1, "upheld", now).await?;
        event(tx, &d.id, now, committee, "objection_upheld", comment).await?;
    }
    let mut to_tell = vec![("citizen", d.citizen_id.clone())];
    if d.source == "nomination" {
        to_tell.push(("citizen", d.reporter_id.clone()));
    }
    notify(tx, &to_tell, &d.id, "deed_rejected", now).await?;
    Ok(to)
}

/// Close the open objections of `round` with `outcome`; the objectors hear it in their inbox
/// (`objection_upheld`/`_dismissed`).
async fn close_objections(
    tx: &mut AnyConnection,
    deed_id: &str,
    round: i64,
    outcome: &str,
    now: i64,
) -> Result<()> {
    let objectors: Vec<(&str, String)> = sqlx::query(
        "SELECT citizen_id FROM deed_objections WHERE deed_id = $1 AND round = $2 AND outcome IS NULL ORDER BY at, id",
    )
    .bind(deed_id)
    .bind(round)
    .fetch_all(&mut *tx)
    .await?
    .iter()
    .map(|r| Ok(("citizen", r.try_get("citizen_id")?)))
    .collect::<Result<_>>()?;
    sqlx::query("UPDATE deed_objections SET outcome = $1, decided_at = $2 WHERE deed_id = $3 AND round = $4 AND outcome IS NULL")
        .bind(outcome)
        .bind(now)
        .bind(deed_id)
        .bind(round)
        .execute(&mut *tx)
        .await?;
    notify(
        tx,
        &objectors,
        deed_id,
        &format!("objection_{outcome}"),
        now,
    )
    .await
}
