//! A household's consent to one bank (PIPL Art. 23: separate, naming the recipient, the purpose
//! and the data): asked for by an adult member, authorised by every adult member, revocable by
//! any of them until the bank reads the report, and expiring on its own. Each change writes a
//! receipt to every member's access log and inbox in the same transaction.

use crate::credit::Credit;
use crate::registry::Actor;
use crate::{Result, StoreError};
use domain::credit::{ConsentStatus, Refusal, Terms, PURPOSE};
use serde::Serialize;
use sqlx::Row;

/// A consent as the household and the pages see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Consent {
    pub id: String,
    pub household_id: String,
    pub bank_id: String,
    pub bank_name: String,
    pub purpose: String,
    pub lookback_months: u32,
    /// As it stands now (a lapsed one reads `expired` before the sweep writes it).
    pub status: ConsentStatus,
    pub adults: u32,
    /// The members who have authorised it.
    pub authorised_by: Vec<String>,
    pub created_at: i64,
    pub expires_at: i64,
    pub used_at: Option<i64>,
    pub closed_at: Option<i64>,
    /// The report issued under it, if any (its id).
    pub report_id: Option<String>,
}

pub(crate) const CONSENT_COLUMNS: &str =
    "k.id, k.household_id, k.bank_id, p.name AS bank_name, k.purpose, k.lookback_months, \
     k.status, k.adults, k.created_at, k.expires_at, k.used_at, k.closed_at, \
     (SELECT r.id FROM credit_reports r WHERE r.consent_id = k.id) AS report_id";

pub(crate) fn consent_from_row(r: &sqlx::any::AnyRow, now: i64) -> Result<Consent> {
    let status: String = r.try_get("status")?;
    let expires_at: i64 = r.try_get("expires_at")?;
    Ok(Consent {
        id: r.try_get("id")?,
        household_id: r.try_get("household_id")?,
        bank_id: r.try_get("bank_id")?,
        bank_name: r.try_get("bank_name")?,
        purpose: r.try_get("purpose")?,
        lookback_months: u32::try_from(r.try_get::<i64, _>("lookback_months")?).unwrap_or(0),
        status: ConsentStatus::parse(&status)
            .ok_or_else(|| StoreError::Integrity(format!("consent status {status}")))?
            .at(expires_at, now),
        adults: u32::try_from(r.try_get::<i64, _>("adults")?).unwrap_or(0),
        authorised_by: Vec::new(),
        created_at: r.try_get("created_at")?,
        expires_at,
        used_at: r.try_get("used_at")?,
        closed_at: r.try_get("closed_at")?,
        report_id: r.try_get("report_id")?,
    })
}

/// A refusal of a consent step as the store's error: an unknown consent is not found, the rest
/// a conflict naming its reason.
pub fn refused(r: Refusal) -> StoreError {
    match r {
        Refusal::NoConsent => StoreError::NotFound { what: "consent" },
        other => StoreError::conflict("consent", other.code(), "the consent does not allow this"),
    }
}

/// Tell every member of `household_id` of `kind`, in the access log (as `action`, by `actor`)
/// and the inbox, in the caller's transaction.
pub(crate) async fn tell_household(
    tx: &mut sqlx::AnyConnection,
    household_id: &str,
    actor: &Actor,
    kind: &str,
    now: i64,
) -> Result<()> {
    let members: Vec<String> = sqlx::query("SELECT id FROM citizens WHERE household_id = $1")
        .bind(household_id)
        .fetch_all(&mut *tx)
        .await?
        .iter()
        .map(|r| r.try_get("id"))
        .collect::<std::result::Result<_, _>>()?;
    tell_members(tx, &members, actor, kind, now).await
}

/// [`tell_household`] for members already known: one statement for their access-log rows and
/// one for their inbox rows.
pub(crate) async fn tell_members(
    tx: &mut sqlx::AnyConnection,
    members: &[String],
    actor: &Actor,
    kind: &str,
    now: i64,
) -> Result<()> {
    if members.is_empty() {
        return Ok(());
    }
    let sql = format!(
        "INSERT INTO access_log (id, citizen_id, actor_kind, actor_id, actor_label, action, at) VALUES {}",
        crate::sql::values_list(7, members.len())
    );
    let mut q = sqlx::query(&sql);
    for m in members {
        q = q
            .bind(domain::new_id())
            .bind(m)
            .bind(actor.kind)
            .bind(&actor.id)
            .bind(&actor.label)
            .bind(kind)
            .bind(now);
    }
    q.execute(&mut *tx).await?;
    crate::notices::notify_citizens(tx, members, kind, now).await
}

fn citizen_actor(id: &str, label: &str) -> Actor {
    Actor {
        kind: "citizen",
        id: id.to_string(),
        label: label.to_string(),
    }
}

impl Credit<'_> {
    /// The household and masked name of an enrolled citizen, and whether they are an adult
    /// `today` (y, m, d); the adult members of their household.
    async fn member(&self, citizen_id: &str, today: (u32, u32, u32)) -> Result<Member> {
        let c = self
            .registry()
            .citizen(citizen_id)
            .await?
            .ok_or(StoreError::NotFound { what: "citizen" })?;
        let mut adults = Vec::new();
        for m in self.registry().household_members(&c.household_id).await? {
            if let Some(mc) = self.registry().citizen(&m.citizen_id).await? {
                if domain::credit::is_adult(mc.resident_id.birth_date(), today) {
                    adults.push(m.citizen_id);
                }
            }
        }
        let summary = self.registry().citizen_summary(citizen_id).await?;
        Ok(Member {
            is_adult: adults.iter().any(|a| a == citizen_id),
            household_id: c.household_id,
            label: summary.map(|s| s.name_masked).unwrap_or_default(),
            adults,
        })
    }

    /// An adult member asks for the household's consent to `bank_id` (and authorises it by
    /// asking). A second request while one to the same bank is open returns the open one.
    pub async fn request_consent(
        &self,
        citizen_id: &str,
        bank_id: &str,
        terms: Terms,
        now: i64,
    ) -> Result<Consent> {
        let bank = self.bank(bank_id).await?.ok_or_else(|| {
            StoreError::invalid("bank_id", "unknown_bank", "choose one of the partner banks")
        })?;
        let m = self.member(citizen_id, today(now)).await?;
        if !m.is_adult {
            return Err(StoreError::invalid(
                "citizen",
                "not_adult",
                "only an adult member of the household can ask for a consent",
            ));
        }
        let mut tx = self.write.begin().await?;
        // Lock the household, so that two requests at once make one consent.
        sqlx::query("UPDATE households SET head_citizen_id = head_citizen_id WHERE id = $1")
            .bind(&m.household_id)
            .execute(&mut *tx)
            .await?;
        let open = sqlx::query(
            "SELECT id FROM credit_consents WHERE household_id = $1 AND bank_id = $2 \
             AND status IN ('requested', 'authorised') AND expires_at > $3 AND purpose = $4",
        )
        .bind(&m.household_id)
        .bind(&bank.id)
        .bind(now)
        .bind(PURPOSE)
        .fetch_optional(&mut *tx)
        .await?;
        if let Some(r) = open {
            // Asking again is the asker's authorisation of the consent already open.
            let id: String = r.try_get("id")?;
            tx.rollback().await?;
            return self.authorise_consent(citizen_id, &id, now).await;
        }
        let id = domain::new_id();
        let adults = i64::try_from(m.adults.len()).unwrap_or(i64::MAX);
        let status = if adults <= 1 {
            "authorised"
        } else {
            "requested"
        };
        sqlx::query(
            "INSERT INTO credit_consents (id, household_id, bank_id, purpose, lookback_months, status, adults, \
             requested_by, created_at, expires_at, authorised_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        )
        .bind(&id)
        .bind(&m.household_id)
        .bind(&bank.id)
        .bind(PURPOSE)
        .bind(i64::from(terms.lookback_months))
        .bind(status)
        .bind(adults)
        .bind(citizen_id)
        .bind(now)
        .bind(now + i64::from(terms.expiry_days) * 86_400_000)
        .bind((adults <= 1).then_some(now))
        .execute(&mut *tx)
        .await?;
        // The adults who must authorise, named now; the asker has, by asking.
        for adult in &m.adults {
            sqlx::query(
                "INSERT INTO credit_authorisations (consent_id, citizen_id, at) VALUES ($1, $2, $3)",
            )
            .bind(&id)
            .bind(adult)
            .bind((adult == citizen_id).then_some(now))
            .execute(&mut *tx)
            .await?;
        }
        let actor = citizen_actor(citizen_id, &m.label);
        tell_household(
            &mut tx,
            &m.household_id,
            &actor,
            "credit_consent_requested",
            now,
        )
        .await?;
        if adults <= 1 {
            tell_household(
                &mut tx,
                &m.household_id,
                &actor,
                "credit_consent_authorised",
                now,
            )
            .await?;
        }
        tx.commit().await?;
        self.consent_for_citizen(citizen_id, &id, now).await
    }

    /// One of the adults named when the consent was asked for authorises it; the last one's
    /// authorisation makes it `authorised`. Authorising twice changes nothing; a member who was
    /// not an adult of the household when it was asked (a child, someone who joined since) is
    /// refused.
    pub async fn authorise_consent(
        &self,
        citizen_id: &str,
        consent_id: &str,
        now: i64,
    ) -> Result<Consent> {
        let c = self
            .consent_for_citizen(citizen_id, consent_id, now)
            .await?;
        match c.status {
            ConsentStatus::Requested | ConsentStatus::Authorised => {}
            ConsentStatus::Used => return Err(refused(Refusal::Used)),
            ConsentStatus::Revoked => return Err(refused(Refusal::Revoked)),
            ConsentStatus::Expired => return Err(refused(Refusal::Expired)),
        }
        let mut tx = self.write.begin().await?;
        // Lock the consent first, so that two adults authorising at once count each other.
        let locked = sqlx::query(
            "UPDATE credit_consents SET status = status WHERE id = $1 AND status IN ('requested', 'authorised') AND expires_at > $2",
        )
        .bind(consent_id)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        if locked.rows_affected() == 0 {
            tx.rollback().await?;
            return Err(refused(Refusal::Revoked));
        }
        let listed: Option<Option<i64>> = sqlx::query(
            "SELECT at FROM credit_authorisations WHERE consent_id = $1 AND citizen_id = $2",
        )
        .bind(consent_id)
        .bind(citizen_id)
        .fetch_optional(&mut *tx)
        .await?
        .map(|r| r.try_get("at"))
        .transpose()?;
        match listed {
            None => {
                tx.rollback().await?;
                return Err(StoreError::invalid(
                    "consent",
                    "not_adult",
                    "only the household's adult members when the consent was asked for authorise it",
                ));
            }
            Some(Some(_)) => {
                tx.rollback().await?;
                return Ok(c);
            }
            Some(None) => {}
        }
        sqlx::query(
            "UPDATE credit_authorisations SET at = $3 WHERE consent_id = $1 AND citizen_id = $2 AND at IS NULL",
        )
        .bind(consent_id)
        .bind(citizen_id)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        let waiting: i64 = sqlx::query(
            "SELECT CAST(COUNT(*) AS BIGINT) AS n FROM credit_authorisations WHERE consent_id = $1 AND at IS NULL",
        )
        .bind(consent_id)
        .fetch_one(&mut *tx)
        .await?
        .try_get("n")?;
        let label = self
            .registry()
            .citizen_summary(citizen_id)
            .await?
            .map(|s| s.name_masked)
            .unwrap_or_default();
        let actor = citizen_actor(citizen_id, &label);
        tell_household(
            &mut tx,
            &c.household_id,
            &actor,
            "credit_consent_member_authorised",
            now,
        )
        .await?;
        if waiting == 0 {
            let done = sqlx::query(
                "UPDATE credit_consents SET status = 'authorised', authorised_at = $2 WHERE id = $1 AND status = 'requested'",
            )
            .bind(consent_id)
            .bind(now)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if done == 1 {
                tell_household(
                    &mut tx,
                    &c.household_id,
                    &actor,
                    "credit_consent_authorised",
                    now,
                )
                .await?;
            }
        }
        tx.commit().await?;
        self.consent_for_citizen(citizen_id, consent_id, now).await
    }

    /// Any adult member revokes a consent the bank has not read under; effective at once (the
    /// next read is refused). Revoking twice changes nothing.
    pub async fn revoke_consent(
        &self,
        citizen_id: &str,
        consent_id: &str,
        now: i64,
    ) -> Result<Consent> {
        let m = self.member(citizen_id, today(now)).await?;
        let c = self
            .consent_for_citizen(citizen_id, consent_id, now)
            .await?;
        if !m.is_adult {
            return Err(StoreError::invalid(
                "citizen",
                "not_adult",
                "only the household's adult members revoke a consent",
            ));
        }
        match c.status {
            ConsentStatus::Revoked => return Ok(c),
            ConsentStatus::Used => return Err(refused(Refusal::Used)),
            ConsentStatus::Expired => return Err(refused(Refusal::Expired)),
            ConsentStatus::Requested | ConsentStatus::Authorised => {}
        }
        let mut tx = self.write.begin().await?;
        let changed = sqlx::query(
            "UPDATE credit_consents SET status = 'revoked', closed_at = $2, closed_by = $3 \
             WHERE id = $1 AND status IN ('requested', 'authorised')",
        )
        .bind(consent_id)
        .bind(now)
        .bind(citizen_id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if changed == 1 {
            let actor = citizen_actor(citizen_id, &m.label);
            tell_household(
                &mut tx,
                &m.household_id,
                &actor,
                "credit_consent_revoked",
                now,
            )
            .await?;
            tx.commit().await?;
        } else {
            // The bank read it a moment before: the read stands.
            tx.rollback().await?;
            return Err(refused(Refusal::Used));
        }
        self.consent_for_citizen(citizen_id, consent_id, now).await
    }

    /// Mark every open consent past its expiry `expired`, with its receipts; how many.
    pub async fn expire_consents(&self, now: i64) -> Result<u64> {
        let due = sqlx::query(
            "SELECT id, household_id FROM credit_consents WHERE status IN ('requested', 'authorised') AND expires_at <= $1 LIMIT 500",
        )
        .bind(now)
        .fetch_all(&self.read)
        .await?;
        let mut n = 0;
        let system = Actor {
            kind: "system",
            id: "credit".into(),
            label: "道德银行".into(),
        };
        for r in due {
            let id: String = r.try_get("id")?;
            let household: String = r.try_get("household_id")?;
            let mut tx = self.write.begin().await?;
            let changed = sqlx::query(
                "UPDATE credit_consents SET status = 'expired', closed_at = $2 WHERE id = $1 AND status IN ('requested', 'authorised')",
            )
            .bind(&id)
            .bind(now)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if changed == 1 {
                tell_household(&mut tx, &household, &system, "credit_consent_expired", now).await?;
                n += 1;
            }
            tx.commit().await?;
        }
        Ok(n)
    }

    /// One consent of the citizen's household (another household's is not found).
    pub async fn consent_for_citizen(
        &self,
        citizen_id: &str,
        consent_id: &str,
        now: i64,
    ) -> Result<Consent> {
        let sql = format!(
            "SELECT {CONSENT_COLUMNS} FROM credit_consents k JOIN partners p ON p.id = k.bank_id \
             JOIN citizens c ON c.household_id = k.household_id WHERE k.id = $1 AND c.id = $2"
        );
        let row = sqlx::query(&sql)
            .bind(consent_id)
            .bind(citizen_id)
            .fetch_optional(&self.read)
            .await?
            .ok_or(StoreError::NotFound { what: "consent" })?;
        let mut c = consent_from_row(&row, now)?;
        c.authorised_by = self.authorised_by(&c.id).await?;
        Ok(c)
    }

    /// The household's consents, newest first.
    pub async fn household_consents(&self, household_id: &str, now: i64) -> Result<Vec<Consent>> {
        let sql = format!(
            "SELECT {CONSENT_COLUMNS} FROM credit_consents k JOIN partners p ON p.id = k.bank_id \
             WHERE k.household_id = $1 ORDER BY k.created_at DESC, k.id DESC LIMIT 50"
        );
        let rows = sqlx::query(&sql)
            .bind(household_id)
            .fetch_all(&self.read)
            .await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in &rows {
            let mut c = consent_from_row(r, now)?;
            c.authorised_by = self.authorised_by(&c.id).await?;
            out.push(c);
        }
        Ok(out)
    }

    async fn authorised_by(&self, consent_id: &str) -> Result<Vec<String>> {
        let rows = sqlx::query(
            "SELECT citizen_id FROM credit_authorisations WHERE consent_id = $1 AND at IS NOT NULL ORDER BY at",
        )
        .bind(consent_id)
        .fetch_all(&self.read)
        .await?;
        rows.iter().map(|r| Ok(r.try_get("citizen_id")?)).collect()
    }
}

struct Member {
    household_id: String,
    label: String,
    is_adult: bool,
    adults: Vec<String>,
}

/// Today's date in China time, (y, m, d).
pub(crate) fn today(now_ms: i64) -> (u32, u32, u32) {
    let day = domain::time::day_of(now_ms);
    let mut parts = day.split('-').map(|p| p.parse::<u32>().unwrap_or(0));
    (
        parts.next().unwrap_or(0),
        parts.next().unwrap_or(0),
        parts.next().unwrap_or(0),
    )
}
