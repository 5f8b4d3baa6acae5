//! The moral credit report: its figures gathered from the ledger, the evaluation and the green
//! cards for one household, signed (the web layer holds the key), kept with its consent, and
//! read by the bank — presented by the household and verified at the bank's console, or pulled
//! over the API under a live consent. Every read is in each member's access log and inbox.

use crate::credit::consents::{consent_from_row, refused, tell_household, CONSENT_COLUMNS};
use crate::credit::writer::{Kept, ReportWrite, ReportWriter};
use crate::credit::Credit;
use crate::registry::Actor;
use crate::{Result, StoreError};
use base64::Engine;
use domain::credit::{ConsentStatus, Refusal};
use moralbank_code::{CategoryPoints, CreditReport, IssuerKey, LogAnchor, SuggestedLine};
use sqlx::Row;
use std::collections::BTreeMap;

/// What signs reports: the credit key (not the moral code's), the issuer's name in reports,
/// and the tier thresholds.
pub struct ReportSigner<'a> {
    pub key: &'a IssuerKey,
    pub issuer: &'a str,
    pub thresholds: &'a [i64],
    /// Keeps reports in batches (group commit); without one each report is its own
    /// transaction.
    pub writer: Option<&'a ReportWriter>,
}

/// A report as kept: its id (the jti, hex), its consent and bank, and its signed text.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct StoredReport {
    pub id: String,
    pub consent_id: String,
    /// Never sent anywhere: the bank knows the household only by its pseudonym.
    #[serde(skip_serializing)]
    pub household_id: String,
    pub bank_id: String,
    pub issued_at: i64,
    pub expires_at: i64,
    pub tier: i64,
    pub credit_points: i64,
    pub body: String,
}

fn stored_of(w: &ReportWrite) -> StoredReport {
    StoredReport {
        id: w.id.clone(),
        consent_id: w.consent_id.clone(),
        household_id: w.household_id.clone(),
        bank_id: w.bank_id.clone(),
        issued_at: w.issued_at,
        expires_at: w.expires_at,
        tier: w.tier,
        credit_points: w.credit_points,
        body: w.body.clone(),
    }
}

fn stored(r: &sqlx::any::AnyRow) -> Result<StoredReport> {
    Ok(StoredReport {
        id: r.try_get("id")?,
        consent_id: r.try_get("consent_id")?,
        household_id: r.try_get("household_id")?,
        bank_id: r.try_get("bank_id")?,
        issued_at: r.try_get("issued_at")?,
        expires_at: r.try_get("expires_at")?,
        tier: r.try_get("tier")?,
        credit_points: r.try_get("credit_points")?,
        body: r.try_get("body")?,
    })
}

/// The public log's newest checkpoint (its signed note's origin and root, and its size), or
/// `none` before the first.
fn log_anchor(note: Option<String>, size: Option<i64>) -> Result<LogAnchor> {
    let (Some(note), Some(size)) = (note, size) else {
        return Ok(LogAnchor {
            origin: "none".into(),
            size: 0,
            root: [0; 32],
        });
    };
    let mut lines = note.lines();
    let origin = lines.next().unwrap_or("none").to_string();
    let _size = lines.next();
    let root = lines
        .next()
        .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok())
        .and_then(|b| <[u8; 32]>::try_from(b).ok())
        .ok_or_else(|| StoreError::Integrity("a stored checkpoint's root does not parse".into()))?;
    Ok(LogAnchor {
        origin,
        size: u64::try_from(size).unwrap_or(0),
        root,
    })
}

/// `standard:blood-donation@2` → `blood-donation`; other rules as they are.
fn category(rule: &str) -> String {
    rule.strip_prefix("standard:")
        .map(|r| r.split('@').next().unwrap_or(r))
        .unwrap_or(rule)
        .to_string()
}

impl Credit<'_> {
    /// The household's figures for the consent's bank and look-back, at `now` (ms), and its
    /// members (to tell of the report). Four reads: the members, the sums (credit points,
    /// green cards, deeds in publicity, the log's checkpoint), the awards, the bank's table.
    async fn build_report(
        &self,
        consent: &crate::credit::consents::Consent,
        signer: &ReportSigner<'_>,
        now: i64,
    ) -> Result<(CreditReport, Vec<String>)> {
        let household = &consent.household_id;
        let members: Vec<String> = sqlx::query("SELECT id FROM citizens WHERE household_id = $1")
            .bind(household)
            .fetch_all(&self.read)
            .await?
            .iter()
            .map(|r| r.try_get("id"))
            .collect::<std::result::Result<_, _>>()?;
        let lookback = i64::from(consent.lookback_months.clamp(1, 36));
        let first_month = domain::time::months_before(domain::time::month_of(now), lookback - 1);
        let sums = sqlx::query(
            "SELECT CAST(COALESCE((SELECT SUM(k.points) FROM ledger_credit k JOIN citizens c ON c.id = k.citizen_id \
                WHERE c.household_id = $1 AND k.month >= $2), 0) AS BIGINT) AS credit, \
             CAST((SELECT COUNT(*) FROM green_cards g JOIN citizens c ON c.id = g.citizen_id WHERE c.household_id = $1 \
                AND g.revoked_at IS NULL AND g.valid_from <= $3 AND g.valid_until > $3) AS BIGINT) AS cards, \
             CAST((SELECT COUNT(*) FROM deeds d WHERE d.household_id = $1 AND d.status IN ('publicity', 'paused')) AS BIGINT) AS pending, \
             (SELECT note FROM log_checkpoints ORDER BY size DESC, at_ms DESC LIMIT 1) AS cp_note, \
             CAST((SELECT size FROM log_checkpoints ORDER BY size DESC, at_ms DESC LIMIT 1) AS BIGINT) AS cp_size",
        )
        .bind(household)
        .bind(first_month)
        .bind(now)
        .fetch_one(&self.read)
        .await?;
        let credit_points: i64 = sums.try_get("credit")?;
        let green_cards: i64 = sums.try_get("cards")?;
        let in_publicity: i64 = sums.try_get("pending")?;
        let log = log_anchor(sums.try_get("cp_note")?, sums.try_get("cp_size")?)?;
        // Awards and their reversals, each in the category and month of the award.
        let rows = sqlx::query(
            "SELECT COALESCE(o.rule, e.rule) AS rule, COALESCE(o.at_ms, e.at_ms) AS at_ms, p.amount \
             FROM ledger_postings p JOIN citizens c ON c.id = p.citizen_id \
             JOIN ledger_entries e ON e.idx = p.entry_idx LEFT JOIN ledger_entries o ON o.idx = e.reverses \
             WHERE c.household_id = $1 AND e.kind IN ('award', 'reversal')",
        )
        .bind(household)
        .fetch_all(&self.read)
        .await?;
        let mut by: BTreeMap<(String, u16), i64> = BTreeMap::new();
        for r in &rows {
            let month = domain::time::month_of(r.try_get("at_ms")?);
            if month < first_month {
                continue;
            }
            let year = u16::try_from(month / 100).unwrap_or(0);
            let rule: String = r.try_get("rule")?;
            *by.entry((category(&rule), year)).or_default() += r.try_get::<i64, _>("amount")?;
        }
        let points: Vec<CategoryPoints> = by
            .into_iter()
            .filter(|(_, p)| *p != 0)
            .map(|((category, year), points)| CategoryPoints {
                category,
                year,
                points,
            })
            .take(moralbank_code::report::ROWS_MAX)
            .collect();
        let tier = domain::credit::household_tier(credit_points, members.len(), signer.thresholds);
        let line = self.current_table(&consent.bank_id).await?.and_then(|t| {
            t.table().row(tier).map(|r| SuggestedLine {
                table_version: t.version,
                max_line_yuan: r.max_line_yuan,
                rate_discount_bp: r.rate_discount_bp,
            })
        });
        let pseudonym = self.vault.lookup_hash(
            "credit-pseudonym",
            &format!("{}\u{0}{household}", consent.bank_id),
        );
        let mut report_id = [0u8; 16];
        report_id.copy_from_slice(&crate::vault::random_bytes(16));
        let mut subject = [0u8; 16];
        subject.copy_from_slice(&pseudonym[..16]);
        let report = CreditReport {
            issuer: signer.issuer.to_string(),
            audience: consent.bank_id.clone(),
            subject,
            issued_at: now / 1000,
            expires_at: consent.expires_at / 1000,
            report_id,
            consent_id: consent.id.clone(),
            tier,
            tier_rules: domain::credit::tier_rules(signer.thresholds),
            lookback_months: u8::try_from(lookback).unwrap_or(36),
            credit_points,
            points,
            badges: if green_cards > 0 {
                vec![crate::code::green_cards::BADGE.to_string()]
            } else {
                vec![]
            },
            green_cards: u32::try_from(green_cards).unwrap_or(u32::MAX),
            in_publicity: u32::try_from(in_publicity).unwrap_or(u32::MAX),
            line,
            log,
        };
        Ok((report, members))
    }

    /// The report under `consent`, issuing it when there is none yet (only under an authorised
    /// consent): the figures read and signed here, the report kept (with its receipts) by the
    /// writer when there is one.
    async fn report_under(
        &self,
        consent: &crate::credit::consents::Consent,
        signer: &ReportSigner<'_>,
        actor: &Actor,
        now: i64,
    ) -> Result<StoredReport> {
        if consent.report_id.is_some() {
            if let Some(r) = self.report_of_consent(&consent.id).await? {
                return Ok(r);
            }
        }
        domain::credit::may_issue(consent.status, &consent.purpose, consent.expires_at, now)
            .map_err(refused)?;
        let (report, members) = self.build_report(consent, signer, now).await?;
        let body = moralbank_code::encode_report(&report, signer.key)
            .map_err(|e| StoreError::Integrity(format!("a credit report: {e}")))?;
        let write = ReportWrite {
            id: report.id_hex(),
            consent_id: consent.id.clone(),
            household_id: consent.household_id.clone(),
            bank_id: consent.bank_id.clone(),
            issued_at: now,
            expires_at: consent.expires_at,
            tier: i64::from(report.tier),
            credit_points: report.credit_points,
            body,
            members,
            actor: actor.clone(),
        };
        let kept = match signer.writer {
            Some(w) => {
                let stored = stored_of(&write);
                match w.keep(write).await? {
                    Kept::New => return Ok(stored),
                    other => other,
                }
            }
            None => {
                let kept = crate::credit::writer::commit(self, &[&write]).await?;
                match kept.first().copied() {
                    Some(Kept::New) => return Ok(stored_of(&write)),
                    Some(other) => other,
                    None => Kept::Earlier,
                }
            }
        };
        if kept == Kept::ConsentClosed {
            return Err(refused(Refusal::Revoked));
        }
        self.report_of_consent(&consent.id)
            .await?
            .ok_or(StoreError::NotFound {
                what: "credit report",
            })
    }

    /// A member downloads the household's report under its consent (issued on first download;
    /// the same report after that, also once the bank has read it).
    pub async fn household_report(
        &self,
        citizen_id: &str,
        consent_id: &str,
        signer: &ReportSigner<'_>,
        now: i64,
    ) -> Result<StoredReport> {
        let sql = format!(
            "SELECT {CONSENT_COLUMNS}, c.name_masked FROM credit_consents k JOIN partners p ON p.id = k.bank_id \
             JOIN citizens c ON c.household_id = k.household_id WHERE k.id = $1 AND c.id = $2"
        );
        let row = sqlx::query(&sql)
            .bind(consent_id)
            .bind(citizen_id)
            .fetch_optional(&self.read)
            .await?
            .ok_or(StoreError::NotFound { what: "consent" })?;
        let consent = consent_from_row(&row, now)?;
        // Revoked or lapsed: no report, not even one issued before (the bank never read it).
        match consent.status {
            ConsentStatus::Revoked => return Err(refused(Refusal::Revoked)),
            ConsentStatus::Expired => return Err(refused(Refusal::Expired)),
            _ => {}
        }
        let actor = Actor {
            kind: "citizen",
            id: citizen_id.to_string(),
            label: row.try_get("name_masked")?,
        };
        self.report_under(&consent, signer, &actor, now).await
    }

    pub async fn report_of_consent(&self, consent_id: &str) -> Result<Option<StoredReport>> {
        let row = sqlx::query("SELECT * FROM credit_reports WHERE consent_id = $1")
            .bind(consent_id)
            .fetch_optional(&self.read)
            .await?;
        row.as_ref().map(stored).transpose()
    }

    pub async fn report(&self, id: &str) -> Result<Option<StoredReport>> {
        let row = sqlx::query("SELECT * FROM credit_reports WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.read)
            .await?;
        row.as_ref().map(stored).transpose()
    }

    /// The bank's consent `consent_id`, or not found (another bank's, or none).
    async fn bank_consent(
        &self,
        bank_id: &str,
        consent_id: &str,
        now: i64,
    ) -> Result<crate::credit::consents::Consent> {
        let sql = format!(
            "SELECT {CONSENT_COLUMNS} FROM credit_consents k JOIN partners p ON p.id = k.bank_id WHERE k.id = $1 AND k.bank_id = $2"
        );
        let row = sqlx::query(&sql)
            .bind(consent_id)
            .bind(bank_id)
            .fetch_optional(&self.read)
            .await?
            .ok_or_else(|| refused(Refusal::NoConsent))?;
        consent_from_row(&row, now)
    }

    /// The bank reads a report: marks its consent used (or finds it used by this bank already),
    /// and tells the household, in one transaction. A revoked or lapsed consent refuses.
    async fn record_read(
        &self,
        consent: &crate::credit::consents::Consent,
        bank: &Actor,
        allow_reread: bool,
        now: i64,
    ) -> Result<()> {
        match consent.status {
            ConsentStatus::Authorised => {}
            ConsentStatus::Used if allow_reread => {}
            ConsentStatus::Used => return Err(refused(Refusal::Used)),
            ConsentStatus::Requested => return Err(refused(Refusal::NotAuthorised)),
            ConsentStatus::Revoked => return Err(refused(Refusal::Revoked)),
            ConsentStatus::Expired => return Err(refused(Refusal::Expired)),
        }
        let mut tx = self.write.begin().await?;
        let allowed = if allow_reread {
            "('authorised', 'used')"
        } else {
            "('authorised')"
        };
        let changed = sqlx::query(&format!(
            "UPDATE credit_consents SET status = 'used', used_at = COALESCE(used_at, $2) \
             WHERE id = $1 AND status IN {allowed} AND (status = 'used' OR expires_at > $2)"
        ))
        .bind(&consent.id)
        .bind(now)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if changed == 0 {
            // Revoked (or used by a pull) a moment before.
            tx.rollback().await?;
            return Err(refused(if allow_reread {
                Refusal::Revoked
            } else {
                Refusal::Used
            }));
        }
        tell_household(
            &mut tx,
            &consent.household_id,
            bank,
            "credit_report_read",
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The bank's operator presents a report whose signature, type, audience and times the
    /// console has verified offline: the read is recorded, or refused when the household has
    /// revoked the consent or it lapsed. The same bank may read the report it holds again.
    pub async fn bank_read_presented(
        &self,
        bank: &Actor,
        report_id: &str,
        consent_id: &str,
        now: i64,
    ) -> Result<StoredReport> {
        let consent = self.bank_consent(&bank.id, consent_id, now).await?;
        let report = self
            .report_of_consent(consent_id)
            .await?
            .filter(|r| r.id == report_id)
            .ok_or_else(|| refused(Refusal::NoConsent))?;
        self.record_read(&consent, bank, true, now).await?;
        Ok(report)
    }

    /// The bank pulls the report over the API under a live consent: issued if need be, read
    /// once (the consent is then used).
    pub async fn bank_pull(
        &self,
        bank: &Actor,
        consent_id: &str,
        signer: &ReportSigner<'_>,
        now: i64,
    ) -> Result<StoredReport> {
        let consent = self.bank_consent(&bank.id, consent_id, now).await?;
        domain::credit::may_issue(consent.status, &consent.purpose, consent.expires_at, now)
            .map_err(refused)?;
        let report = self.report_under(&consent, signer, bank, now).await?;
        self.record_read(&consent, bank, false, now).await?;
        Ok(report)
    }
}
