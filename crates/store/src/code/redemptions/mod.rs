//! Redeeming a benefit with a scanned moral code. The web layer verifies the code's signature
//! and expiry; here the code id resolves to the resident (codes never name them), and the
//! benefit's rules are applied: its condition, printed cards only for eligibility, a code id
//! used once for quota and points benefits, the quota per period (an atomic conditional
//! increment, so concurrent scans never exceed it), points spent through the ledger. Every
//! decision, granted or refused, is recorded under the partner's idempotency key: a retry gets
//! the same answer.

mod writer;

use crate::code::Code;
use crate::ledger::{NewEntry, Sequencer};
use crate::{Actor, Result, StoreError};
use domain::{IdempotencyKey, KeyOwner};
use serde::Serialize;
use sha2::{Digest, Sha256};
use sqlx::Row;
pub use writer::{Redeemer, RedeemerConfig};

/// What a verified code says, as the redemption needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Presented {
    pub code_id: String,
    pub tier: i64,
    pub badges: Vec<String>,
    pub printed: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Decision {
    pub id: String,
    pub benefit_id: String,
    pub granted: bool,
    /// `granted`, or why not: unknown_code, condition_not_met, printed_card, code_used,
    /// quota_used, insufficient_balance.
    pub reason: String,
    pub ledger_index: Option<i64>,
    pub replayed: bool,
}

/// How long after its expiry the server still knows whose a code was: a scanner that verified
/// a code offline reports the scan within this time.
pub const ISSUED_CODE_GRACE_S: i64 = 86_400;

impl Decision {
    /// A decision just made (not a replay): granted exactly when `reason` is `granted`.
    pub(crate) fn new(id: &str, benefit_id: &str, reason: &str, ledger_index: Option<i64>) -> Self {
        Decision {
            id: id.into(),
            benefit_id: benefit_id.into(),
            granted: reason == "granted",
            reason: reason.into(),
            ledger_index,
            replayed: false,
        }
    }
}

fn decision(row: &sqlx::any::AnyRow, replayed: bool) -> Result<Decision> {
    Ok(Decision {
        id: row.try_get("id")?,
        benefit_id: row.try_get("benefit_id")?,
        granted: row.try_get::<i64, _>("granted")? != 0,
        reason: row.try_get("reason")?,
        ledger_index: row.try_get("ledger_index")?,
        replayed,
    })
}

/// What a redemption needs after its reads.
pub(crate) enum Prepared {
    /// The decision recorded under this idempotency key: the same request again.
    Recorded { decision: Decision, idem: String },
    /// A new decision for the writer to record.
    Write(Box<writer::Write>),
}

fn period(kind_period: Option<&str>, now_ms: i64) -> String {
    let day = crate::day_of(now_ms);
    match kind_period {
        Some("month") => day[..7].to_string(),
        _ => day[..4].to_string(),
    }
}

/// The partner and scene, as the resident reads them in their access log.
fn scan_actor(benefit: &crate::code::benefits::Benefit) -> Actor {
    Actor {
        kind: "partner",
        id: benefit.partner_id.clone(),
        label: format!("{} · {}", benefit.partner_name, benefit.scene.name_zh),
    }
}

impl Code<'_> {
    /// Remember which resident a code shown on their page belongs to.
    pub async fn record_issued_code(
        &self,
        code_id: &str,
        citizen_id: &str,
        printed: bool,
        expires_at_s: i64,
    ) -> Result<()> {
        sqlx::query("INSERT INTO issued_codes (code_id, citizen_id, printed, expires_at) VALUES ($1, $2, $3, $4) ON CONFLICT (code_id) DO NOTHING")
            .bind(code_id)
            .bind(citizen_id)
            .bind(i64::from(printed))
            .bind(expires_at_s)
            .execute(&self.write)
            .await?;
        Ok(())
    }

    /// Whose code this is, while the server still remembers (see [`ISSUED_CODE_GRACE_S`]).
    async fn code_holder(&self, code_id: &str) -> Result<Option<String>> {
        Ok(
            sqlx::query("SELECT citizen_id FROM issued_codes WHERE code_id = $1")
                .bind(code_id)
                .fetch_optional(&self.read)
                .await?
                .map(|r| r.try_get("citizen_id"))
                .transpose()?,
        )
    }

    /// What redeeming `benefit_id` with a verified code takes, read before the writer is
    /// involved: the decision already recorded under the partner's idempotency `key` (a
    /// retry), or the row to write with what the reads decided (the benefit, whose code it is,
    /// the condition, a printed card).
    pub(crate) async fn prepare_redemption(
        &self,
        partner_id: &str,
        key: &IdempotencyKey,
        benefit_id: &str,
        p: &Presented,
        now_ms: i64,
    ) -> Result<Prepared> {
        let idem = key.scoped(KeyOwner::Partner(partner_id));
        let hash: [u8; 32] = Sha256::digest(format!("{benefit_id}\0{}", p.code_id)).into();
        // The common case, a new request for an existing benefit, costs this one read.
        let read = self
            .benefit_for_redemption(benefit_id, &p.code_id, &idem)
            .await?;
        if read.as_ref().is_none_or(|(_, _, key_used)| *key_used) {
            if let Some(recorded) = self.recorded_redemption(&idem, &hash, key.as_str()).await? {
                return Ok(recorded);
            }
        }
        let (benefit, citizen) = read
            .filter(|(b, _, _)| b.active && b.partner_id == partner_id)
            .map(|(b, c, _)| (b, c))
            .ok_or(StoreError::NotFound { what: "benefit" })?;
        let consumes = benefit.kind != "eligibility";
        let refusal = match &citizen {
            None => Some("unknown_code"),
            Some(_) if !benefit.open_to(p.tier, &p.badges) => Some("condition_not_met"),
            Some(_) if p.printed && consumes => Some("printed_card"),
            _ => None,
        };
        let quota = (benefit.kind == "quota").then(|| {
            (
                period(benefit.quota_period.as_deref(), now_ms),
                benefit.quota.unwrap_or(0),
            )
        });
        Ok(Prepared::Write(Box::new(writer::Write {
            id: domain::new_id(),
            idem,
            hash,
            actor: scan_actor(&benefit),
            points: benefit.kind == "points",
            benefit_id: benefit.id,
            citizen,
            code_id: p.code_id.clone(),
            consumes,
            refusal,
            quota,
            at_ms: now_ms,
        })))
    }

    /// The decision recorded under idempotency key `idem` (scoped; `key` as the partner sent
    /// it), if any: the same request again, or a conflict when the request differs.
    async fn recorded_redemption(
        &self,
        idem: &str,
        hash: &[u8; 32],
        key: &str,
    ) -> Result<Option<Prepared>> {
        let Some(row) = sqlx::query(
            "SELECT id, benefit_id, granted, reason, ledger_index, request_hash FROM redemptions WHERE idem_key = $1",
        )
        .bind(idem)
        .fetch_optional(&self.read)
        .await?
        else {
            return Ok(None);
        };
        let h: Vec<u8> = row.try_get("request_hash")?;
        if h.as_slice() != hash.as_slice() {
            return Err(StoreError::conflict(
                "Idempotency-Key",
                "idempotency_conflict",
                &format!("key '{key}' was already used for another redemption"),
            ));
        }
        Ok(Some(Prepared::Recorded {
            decision: decision(&row, true)?,
            idem: idem.to_string(),
        }))
    }

    /// Spend the points of a granted points redemption through the ledger (idempotent under the
    /// redemption's own key); a balance too low turns the decision into a refusal.
    pub(crate) async fn finish_points(
        &self,
        seq: &Sequencer,
        idem: &str,
        id: &str,
        partner_id: &str,
    ) -> Result<Decision> {
        let row = sqlx::query("SELECT id, benefit_id, citizen_id, granted, reason, ledger_index FROM redemptions WHERE id = $1")
            .bind(id)
            .fetch_one(&self.read)
            .await?;
        let benefit_id: String = row.try_get("benefit_id")?;
        let citizen: String = row.try_get("citizen_id")?;
        let benefit = self
            .benefit(&benefit_id)
            .await?
            .ok_or(StoreError::NotFound { what: "benefit" })?;
        let entry = NewEntry::redemption(
            &citizen,
            benefit.points_cost.unwrap_or(0),
            &format!("benefits:{}", benefit.scene.code),
            &format!("benefit:{}", benefit.id),
            &format!("{}：{}", benefit.partner_name, benefit.name_zh),
            &format!("redemption:{id}"),
            vec![format!("partner:{partner_id}")],
        );
        match seq.append(format!("system:redemption/{idem}"), entry).await {
            Ok(a) => {
                let index = i64::try_from(a.index).unwrap_or(i64::MAX);
                sqlx::query("UPDATE redemptions SET ledger_index = $1 WHERE id = $2")
                    .bind(index)
                    .bind(id)
                    .execute(&self.write)
                    .await?;
                Ok(Decision::new(id, &benefit_id, "granted", Some(index)))
            }
            Err(StoreError::Invalid(f)) if f.0.iter().any(|e| e.code == "insufficient_balance") => {
                sqlx::query("UPDATE redemptions SET granted = 0, consumes = 0, reason = 'insufficient_balance' WHERE id = $1")
                    .bind(id)
                    .execute(&self.write)
                    .await?;
                Ok(Decision::new(id, &benefit_id, "insufficient_balance", None))
            }
            Err(e) => Err(e),
        }
    }

    /// A partner's scanner read this code: note it in its holder's access log (which partner,
    /// which scene, when). The scanner page reports each scan it verified, as soon as it is
    /// online. Returns whether the code id is one the server issued (and not yet purged).
    pub async fn record_scan(&self, code_id: &str, partner_id: &str, scene: &str) -> Result<bool> {
        let Some(c) = self.code_holder(code_id).await? else {
            return Ok(false);
        };
        let partner = self
            .accounts()
            .partner(partner_id)
            .await?
            .ok_or(StoreError::NotFound { what: "partner" })?;
        let label = if scene.is_empty() {
            partner.name
        } else {
            format!("{} · {scene}", partner.name)
        };
        let actor = Actor {
            kind: "partner",
            id: partner_id.to_string(),
            label,
        };
        self.registry()
            .record_access(&[c.as_str()], &actor, "scan")
            .await?;
        Ok(true)
    }

    /// How much of each quota benefit a resident has used in the period containing `now_ms`:
    /// (benefit id, used).
    pub async fn quota_usage(&self, citizen_id: &str, now_ms: i64) -> Result<Vec<(String, i64)>> {
        let rows = sqlx::query(
            "SELECT u.benefit_id, u.period, u.used, b.quota_period FROM benefit_usage u \
             JOIN benefits b ON b.id = u.benefit_id WHERE u.citizen_id = $1",
        )
        .bind(citizen_id)
        .fetch_all(&self.read)
        .await?;
        let mut out = Vec::new();
        for r in rows {
            let qp: Option<String> = r.try_get("quota_period")?;
            let p: String = r.try_get("period")?;
            if p == period(qp.as_deref(), now_ms) {
                out.push((r.try_get("benefit_id")?, r.try_get("used")?));
            }
        }
        Ok(out)
    }

    /// Forget which resident held codes that expired before `before_s` (unix seconds): an
    /// expired code cannot be redeemed, so the link only lets the server tie old scans to a
    /// person. Deletes at most `limit` rows per call (so one call never holds the writer
    /// long); returns how many it deleted.
    pub async fn purge_issued_codes(&self, before_s: i64, limit: i64) -> Result<u64> {
        let res = sqlx::query(
            "DELETE FROM issued_codes WHERE code_id IN \
             (SELECT code_id FROM issued_codes WHERE expires_at < $1 ORDER BY expires_at LIMIT $2)",
        )
        .bind(before_s)
        .bind(limit)
        .execute(&self.write)
        .await?;
        Ok(res.rows_affected())
    }

    /// How many redemption decisions are recorded (benchmarks check their requests landed).
    pub async fn count_redemptions(&self) -> Result<i64> {
        Ok(sqlx::query("SELECT COUNT(*) AS n FROM redemptions")
            .fetch_one(&self.read)
            .await?
            .try_get("n")?)
    }

    /// A resident's redemptions, newest first: (when, benefit name, partner, granted, reason).
    pub async fn citizen_redemptions(
        &self,
        citizen_id: &str,
        limit: i64,
    ) -> Result<Vec<(i64, String, String, bool, String)>> {
        sqlx::query(
            "SELECT r.at, b.name_zh, p.name, r.granted, r.reason FROM redemptions r JOIN benefits b ON b.id = r.benefit_id \
             JOIN partners p ON p.id = b.partner_id WHERE r.citizen_id = $1 ORDER BY r.at DESC, r.id LIMIT $2",
        )
        .bind(citizen_id)
        .bind(limit)
        .fetch_all(&self.read)
        .await?
        .iter()
        .map(|r| Ok((r.try_get("at")?, r.try_get("name_zh")?, r.try_get("name")?, r.try_get::<i64, _>("granted")? != 0, r.try_get("reason")?)))
        .collect()
    }
}
