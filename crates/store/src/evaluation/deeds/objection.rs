//! Objections on the public board: any signed-in resident whose identity is confirmed, but the
//! deed's own, may object while publicity runs; the deed pauses and returns to its committee for
//! a new round.

use super::{event, lock_deed, members, notify, once, refused, staff_recipients, Rules};
use crate::evaluation::Evaluation;
use crate::{Result, StoreError};
use domain::deed::{self, Outcome, Step};
use domain::time::DAY_MS;
use sqlx::Row;

impl Evaluation<'_> {
    /// Any signed-in resident objects to a deed on publicity: it pauses and returns to the
    /// committee for a new round of votes.
    pub async fn object(
        &self,
        deed_id: &str,
        citizen_id: &str,
        reason: &str,
        rules: &Rules,
        now: i64,
    ) -> Result<()> {
        let reason = deed::text("reason", reason, deed::REASON_CHARS_MAX)
            .map_err(|e| StoreError::Invalid(e.into()))?;
        let mut tx = self.write.begin().await?;
        let d = lock_deed(&mut tx, deed_id, now).await?;
        d.status
            .allows(Step::Object)
            .map_err(StoreError::Conflict)?;
        if d.publicity_ends_at.is_some_and(|e| now >= e) {
            return Err(refused(
                "deed",
                "publicity_ended",
                "the publicity period has ended",
            ));
        }
        d.parties().may_object(citizen_id)?;
        // An objection pauses someone else's deed: it needs a resident the village office has
        // confirmed to be who their record names (an unconfirmed record may be anyone's).
        let confirmed: Option<i64> =
            sqlx::query("SELECT identity_confirmed_at FROM citizens WHERE id = $1")
                .bind(citizen_id)
                .fetch_optional(&mut *tx)
                .await?
                .map(|r| r.try_get("identity_confirmed_at"))
                .transpose()?
                .flatten();
        if confirmed.is_none() {
            return Err(StoreError::conflict(
                "identity",
                "identity_unconfirmed",
                "an objection needs a confirmed identity: bring your ID card to your village office first",
            ));
        }
        let today: i64 = sqlx::query(
            "SELECT COUNT(*) AS n FROM deed_objections WHERE citizen_id = $1 AND at > $2",
        )
        .bind(citizen_id)
        .bind(now - DAY_MS)
        .fetch_one(&mut *tx)
        .await?
        .try_get("n")?;
        if today >= rules.objections_per_day {
            return Err(StoreError::RateLimited {
                retry_after_s: 3600,
            });
        }
        let res = sqlx::query(
            "INSERT INTO deed_objections (id, deed_id, round, citizen_id, reason, at) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(domain::new_id())
        .bind(deed_id)
        .bind(d.round)
        .bind(citizen_id)
        .bind(&reason)
        .bind(now)
        .execute(&mut *tx)
        .await;
        once(
            res,
            "already_objected",
            "you have objected to this deed before",
        )?;
        let paused = d.after(Outcome::Objected)?;
        sqlx::query("UPDATE deeds SET status = $1, round = round + 1, publicity_ends_at = NULL WHERE id = $2")
            .bind(paused.as_str())
            .bind(deed_id)
            .execute(&mut *tx)
            .await?;
        event(
            &mut tx,
            deed_id,
            now,
            ("citizen", citizen_id),
            "objection",
            &reason,
        )
        .await?;
        let committee = members(&mut tx, "evaluator", &d.village_id).await?;
        notify(
            &mut tx,
            &staff_recipients(&committee),
            deed_id,
            "deed_objected",
            now,
        )
        .await?;
        notify(
            &mut tx,
            &[("citizen", d.citizen_id.clone())],
            deed_id,
            "deed_objected",
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }
}
