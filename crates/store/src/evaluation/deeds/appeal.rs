//! Appeals: the resident (or whoever nominated them) appeals a rejection once, in time; the
//! town's reviewers decide it, finally: reverse (publicity with points) or uphold (closed).

use super::{check_cap, eligible_voters, event, lock_deed, members, notify, once, refused};
use super::{set_status, staff_recipients, AppealDecision, Rules};
use crate::evaluation::Evaluation;
use crate::{Result, StoreError};
use domain::deed::{self, Committee, DeedStatus, Outcome, Step};

impl Evaluation<'_> {
    /// The resident (or whoever nominated them) appeals a rejection, once, in time.
    pub async fn appeal(
        &self,
        deed_id: &str,
        citizen_id: &str,
        reason: &str,
        now: i64,
    ) -> Result<()> {
        let reason = deed::text("reason", reason, deed::REASON_CHARS_MAX)
            .map_err(|e| StoreError::Invalid(e.into()))?;
        let mut tx = self.write.begin().await?;
        let d = lock_deed(&mut tx, deed_id, now).await?;
        d.parties().may_appeal(citizen_id)?;
        d.status
            .allows(Step::Appeal)
            .map_err(StoreError::Conflict)?;
        if d.appeal_deadline.is_some_and(|t| now > t) {
            return Err(refused(
                "deed",
                "appeal_too_late",
                "the time to appeal has passed",
            ));
        }
        let res = sqlx::query(
            "INSERT INTO deed_appeals (deed_id, citizen_id, reason, at) VALUES ($1, $2, $3, $4)",
        )
        .bind(deed_id)
        .bind(citizen_id)
        .bind(&reason)
        .bind(now)
        .execute(&mut *tx)
        .await;
        once(res, "already_appealed", "a deed can be appealed once")?;
        let appealed = d.after(Outcome::Appealed)?;
        set_status(&mut tx, deed_id, appealed, "", &[]).await?;
        event(
            &mut tx,
            deed_id,
            now,
            ("citizen", citizen_id),
            "appeal",
            &reason,
        )
        .await?;
        let (_, town) = self.registry().village_and_town(&d.village_id).await?;
        let reviewers = members(&mut tx, "town_reviewer", &town.id).await?;
        notify(
            &mut tx,
            &staff_recipients(&reviewers),
            deed_id,
            "appeal_to_decide",
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The town decides an appeal, finally: reverse (publicity with points) or uphold.
    pub async fn decide_appeal(
        &self,
        deed_id: &str,
        staff: &crate::Staff,
        decision: &AppealDecision,
        rules: &Rules,
        now: i64,
    ) -> Result<DeedStatus> {
        let (reverse, points) = (decision.reverse, decision.points);
        let comment = deed::text("comment", &decision.comment, deed::REASON_CHARS_MAX)
            .map_err(|e| StoreError::Invalid(e.into()))?;
        let mut tx = self.write.begin().await?;
        let d = lock_deed(&mut tx, deed_id, now).await?;
        let (_, town) = self.registry().village_and_town(&d.village_id).await?;
        Committee::Town(&town.id).seats(staff.role, staff.region_id.as_deref(), staff.active)?;
        let reviewers = eligible_voters(&mut tx, "town_reviewer", &town.id, &d).await?;
        deed::recusal(&reviewers, &staff.id, d.parties().source)?;
        d.status
            .allows(Step::DecideAppeal)
            .map_err(StoreError::Conflict)?;
        let outcome = if reverse {
            Outcome::AppealReversed
        } else {
            Outcome::AppealUpheld
        };
        let status = d.after(outcome)?;
        if reverse {
            let s = &d.standard;
            let p = deed::decided_points(s.points_min, s.points_max, points)
                .map_err(|e| StoreError::Invalid(e.into()))?;
            check_cap(&mut tx, &d, p).await?;
            set_status(
                &mut tx,
                deed_id,
                status,
                ", points = $3, decided_at = $4, publicity_ends_at = $5",
                &[Some(p), Some(now), Some(now + rules.publicity_ms)],
            )
            .await?;
        } else {
            set_status(&mut tx, deed_id, status, ", decided_at = $3", &[Some(now)]).await?;
        }
        let outcome = if reverse { "reversed" } else { "upheld" };
        sqlx::query("UPDATE deed_appeals SET outcome = $1, decided_by = $2, decided_at = $3, comment = $4 WHERE deed_id = $5")
            .bind(outcome)
            .bind(&staff.id)
            .bind(now)
            .bind(&comment)
            .bind(deed_id)
            .execute(&mut *tx)
            .await?;
        event(
            &mut tx,
            deed_id,
            now,
            ("staff", &staff.id),
            if reverse {
                "appeal_reversed"
            } else {
                "appeal_upheld"
            },
            &comment,
        )
        .await?;
        notify(
            &mut tx,
            &[("citizen", d.citizen_id.clone())],
            deed_id,
            if reverse {
                "appeal_reversed"
            } else {
                "appeal_upheld"
            },
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(status)
    }
}
