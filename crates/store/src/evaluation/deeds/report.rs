//! A deed enters: reported by its resident, nominated by another, or submitted by a partner
//! (automatically onto publicity when the standard trusts that partner).

use super::{event, lock_resident, members, notify, refused, staff_recipients, Deed, NewDeed};
use super::{Reporter, Rules};
use crate::evaluation::Evaluation;
use crate::evaluation::Standard;
use crate::{CitizenSummary, Result, StoreError};
use domain::deed::{self, DeedStatus, Source};
use domain::time::DAY_MS;
use domain::{FieldError, FieldErrors, IdempotencyKey, KeyOwner};
use sha2::{Digest, Sha256};
use sqlx::{AnyConnection, Row};

/// A report whose texts, date, resident and standard passed their checks.
pub(super) struct Checked {
    pub(super) place: String,
    pub(super) description: String,
    pub(super) date: String,
    pub(super) citizen: CitizenSummary,
    pub(super) standard: Standard,
}

/// Who submits, as the deed records it.
pub(super) struct Submitter {
    pub(super) source: Source,
    pub(super) reporter_id: String,
    /// A partner's idempotency key, scoped to the partner, or a resident's form token, scoped
    /// to the resident.
    pub(super) idem_key: Option<String>,
}

impl Submitter {
    fn of(new: &NewDeed) -> Submitter {
        match &new.reporter {
            Reporter::Citizen(r) => Submitter {
                source: Source::of_report(r, &new.citizen_id),
                reporter_id: r.clone(),
                idem_key: None,
            },
            Reporter::CitizenForm { reporter, key } => Submitter {
                source: Source::of_report(reporter, &new.citizen_id),
                reporter_id: reporter.clone(),
                idem_key: Some(key.scoped(KeyOwner::Citizen(reporter))),
            },
            Reporter::Partner { partner_id, key } => Submitter {
                source: Source::Partner,
                reporter_id: partner_id.clone(),
                idem_key: Some(key.scoped(KeyOwner::Partner(partner_id))),
            },
        }
    }
}

/// A report that passed every check reading no more than its resident, standard and trust:
/// what [`Evaluation::write_report`] needs to write it.
pub(crate) struct Prepared {
    pub(super) c: Checked,
    pub(super) who: Submitter,
    pub(super) automatic: bool,
    pub(super) points: Option<i64>,
    pub(super) hash: [u8; 32],
}

/// What writing a report did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Written {
    /// A new deed, by id.
    New(String),
    /// A partner's retry of a key already used for the same deed: that deed, unchanged.
    Replay(String),
}

impl Evaluation<'_> {
    /// Report, nominate or submit a deed. A partner's retry with the same key returns the deed
    /// it created; the same key for another deed is a conflict.
    pub async fn report_deed(&self, new: &NewDeed, rules: &Rules, now: i64) -> Result<Deed> {
        let prepared = self.prepare_report(new, 1, now).await?;
        let mut tx = self.write.begin().await?;
        let id = match self.write_report(&mut tx, new, &prepared, rules, now).await {
            Ok(Written::New(id)) => {
                tx.commit().await?;
                id
            }
            Ok(Written::Replay(id)) => {
                drop(tx);
                id
            }
            Err(StoreError::Database(e)) if StoreError::is_unique_violation(&e) => {
                drop(tx);
                // A concurrent retry of the same partner key won: answer as a retry.
                return Box::pin(self.report_deed(new, rules, now)).await;
            }
            Err(e) => return Err(e),
        };
        self.deed(&id)
            .await?
            .ok_or(StoreError::NotFound { what: "deed" })
    }

    /// The checks of a report before anything is written: its fields, resident and standard,
    /// the trust of a partner in an automatic standard, the points, the evidence count.
    /// `units` counts the standard's unit (hours of a per-hour standard; 1 otherwise): a
    /// partner's points must lie in the standard's range times the units.
    pub(crate) async fn prepare_report(
        &self,
        new: &NewDeed,
        units: i64,
        now: i64,
    ) -> Result<Prepared> {
        let citizen = self.registry().citizen_summary(&new.citizen_id).await?;
        let standard = self.standard_current(&new.standard_code).await?;
        let trusted = match (&new.reporter, &standard) {
            (Reporter::Partner { partner_id, .. }, Some(s)) if s.awarder == "partner" => {
                self.standard_trusts(&s.id, partner_id).await?
            }
            _ => false,
        };
        prepare(new, citizen, standard, trusted, units, now)
    }

    /// Write a prepared report inside the caller's transaction: the cap of an automatic
    /// submission, a partner key's retry or conflict (or a resident's rate limit), the deed,
    /// its events and notifications, and a partner's access-log row. A unique violation (a
    /// racing retry of the same key) is returned as the database error it is.
    pub(crate) async fn write_report(
        &self,
        tx: &mut AnyConnection,
        new: &NewDeed,
        p: &Prepared,
        rules: &Rules,
        now: i64,
    ) -> Result<Written> {
        let (c, who) = (&p.c, &p.who);
        if let (true, Some(points)) = (p.automatic, p.points) {
            // Automatic submissions skip the committee, not the cap.
            submission_cap(tx, new, c, who.idem_key.as_deref(), points).await?;
        }
        if let Some(key) = &who.idem_key {
            let prior = sqlx::query("SELECT id, request_hash FROM deeds WHERE idem_key = $1")
                .bind(key)
                .fetch_optional(&mut *tx)
                .await?;
            if let Some(r) = prior {
                let id: String = r.try_get("id")?;
                let h: Vec<u8> = r.try_get("request_hash")?;
                if h.as_slice() != p.hash.as_slice() {
                    return Err(refused(
                        "Idempotency-Key",
                        "idempotency_conflict",
                        format!(
                            "key '{}' was already used for another deed ({id})",
                            IdempotencyKey::unscoped(key)
                        ),
                    ));
                }
                return Ok(Written::Replay(id));
            }
        }
        if who.source != Source::Partner {
            // A resident's reports count against their daily limit (a form sent again that
            // matched its first sending above does not).
            reports_today(tx, &who.reporter_id, rules, now).await?;
        }
        let id = domain::new_id();
        let duplicate = insert_deed(
            tx,
            &id,
            new,
            c,
            who,
            p.points,
            p.hash,
            p.automatic,
            rules,
            now,
        )
        .await?;
        tell_of_new_deed(tx, &id, new, c, who, duplicate.as_deref(), p.automatic, now).await?;
        if who.source == Source::Partner {
            // The partner named this resident: their access log says so, committed with the
            // deed (a crash cannot keep one without the other).
            record_partner_access(tx, &who.reporter_id, &new.citizen_id, now).await?;
        }
        Ok(Written::New(id))
    }
}

/// Every check of a report, given what it reads (its resident, its standard's current version,
/// whether that standard trusts the submitting partner): one implementation for a single
/// report ([`Evaluation::prepare_report`]) and a file's rows (`batch`).
pub(crate) fn prepare(
    new: &NewDeed,
    citizen: Option<CitizenSummary>,
    standard: Option<Standard>,
    trusted: bool,
    units: i64,
    now: i64,
) -> Result<Prepared> {
    let c = checked(new, citizen, standard, now)?;
    let who = Submitter::of(new);
    let automatic = who.source == Source::Partner && c.standard.awarder == "partner";
    if automatic && !trusted {
        // Checked before a retry is matched, like an inactive standard: trust withdrawn
        // since is refused too.
        return Err(StoreError::invalid(
            "standard",
            "untrusted_partner",
            &format!(
                "the standard '{}' does not trust your organisation to submit its deeds",
                c.standard.code
            ),
        ));
    }
    let s = &c.standard;
    let points = deed::submitted_points(
        who.source,
        automatic,
        s.points_min.saturating_mul(units.max(1)),
        s.points_max.saturating_mul(units.max(1)),
        new.points,
    )
    .map_err(|e| StoreError::Invalid(e.into()))?;
    if new.evidence.len() > deed::EVIDENCE_FILES_MAX {
        return Err(StoreError::invalid(
            "evidence",
            "too_many",
            &format!("at most {} files", deed::EVIDENCE_FILES_MAX),
        ));
    }
    let hash = request_hash(new, &c, points);
    Ok(Prepared {
        c,
        who,
        automatic,
        points,
        hash,
    })
}

/// Every check of a report that reads no more than its resident and standard, all at once.
fn checked(
    new: &NewDeed,
    citizen: Option<CitizenSummary>,
    standard: Option<Standard>,
    now: i64,
) -> Result<Checked> {
    let mut errs = FieldErrors::default();
    let place = errs.take(deed::text("place", &new.place, deed::PLACE_CHARS_MAX));
    let description = errs.take(deed::text(
        "description",
        &new.description,
        deed::DESCRIPTION_CHARS_MAX,
    ));
    let date = errs.take(deed::deed_date(&new.deed_date, &crate::day_of(now)));
    if citizen.is_none() {
        errs.push(FieldError::new(
            "citizen_id",
            "unknown_citizen",
            "no enrolled resident has this id",
        ));
    }
    match &standard {
        None => errs.push(FieldError::new(
            "standard",
            "unknown_standard",
            "not in the catalogue",
        )),
        Some(s) if !s.active => errs.push(FieldError::new(
            "standard",
            "inactive_standard",
            "no longer awarded",
        )),
        _ => {}
    }
    let (Some(place), Some(description), Some(date), Some(citizen), Some(standard)) =
        (place, description, date, citizen, standard)
    else {
        return Err(StoreError::Invalid(errs));
    };
    errs.into_result().map_err(StoreError::Invalid)?;
    Ok(Checked {
        place,
        description,
        date,
        citizen,
        standard,
    })
}

/// What a retry under the same key must repeat exactly.
fn request_hash(new: &NewDeed, c: &Checked, points: Option<i64>) -> [u8; 32] {
    Sha256::digest(
        serde_json::to_vec(&(
            &new.citizen_id,
            &c.standard.code,
            &c.date,
            &c.place,
            &c.description,
            points,
            new.evidence.iter().map(|e| &e.sha256).collect::<Vec<_>>(),
        ))
        .unwrap_or_default(),
    )
    .into()
}

/// An automatic submission's points against the standard's cap, unless it is a retry of one
/// already counted.
async fn submission_cap(
    tx: &mut AnyConnection,
    new: &NewDeed,
    c: &Checked,
    idem_key: Option<&str>,
    points: i64,
) -> Result<()> {
    let s = &c.standard;
    let (Some(cap), Some(window)) = (s.cap_points, deed::cap_window(&s.cap_period, &c.date)) else {
        return Ok(());
    };
    lock_resident(tx, &new.citizen_id).await?;
    // The deed is not written yet: no deed has the empty id.
    let used = super::cap_used(tx, &new.citizen_id, &s.code, window, "").await?;
    let replay = match idem_key {
        Some(k) => sqlx::query("SELECT id FROM deeds WHERE idem_key = $1")
            .bind(k)
            .fetch_optional(&mut *tx)
            .await?
            .is_some(),
        None => false,
    };
    if replay {
        return Ok(());
    }
    deed::check_cap(cap, &s.cap_period, used, points).map_err(StoreError::Conflict)
}

/// Rate limit: reports by one resident in the last day.
async fn reports_today(
    tx: &mut AnyConnection,
    reporter_id: &str,
    rules: &Rules,
    now: i64,
) -> Result<()> {
    let n: i64 = sqlx::query(
        "SELECT COUNT(*) AS n FROM deeds WHERE reporter_id = $1 AND source <> 'partner' AND created_at > $2",
    )
    .bind(reporter_id)
    .bind(now - DAY_MS)
    .fetch_one(&mut *tx)
    .await?
    .try_get("n")?;
    if n >= rules.reports_per_day {
        return Err(StoreError::RateLimited {
            retry_after_s: 3600,
        });
    }
    Ok(())
}

/// Write the deed and its evidence rows: on publicity for an automatic submission, else in
/// review. A deed of the same person, category and day reported before is flagged, not
/// refused: returns that deed's id.
#[allow(clippy::too_many_arguments)] // the parts of one row, checked by the caller
async fn insert_deed(
    tx: &mut AnyConnection,
    id: &str,
    new: &NewDeed,
    c: &Checked,
    who: &Submitter,
    points: Option<i64>,
    hash: [u8; 32],
    automatic: bool,
    rules: &Rules,
    now: i64,
) -> Result<Option<String>> {
    let duplicate_of = duplicate_of(tx, new, c).await?;
    let (status, ends) = if automatic {
        (DeedStatus::Publicity, Some(now + rules.publicity_ms))
    } else {
        (DeedStatus::Review, None)
    };
    sqlx::query(
        "INSERT INTO deeds (id, citizen_id, village_id, household_id, source, reporter_id, idem_key, request_hash, \
         standard_id, deed_date, place, description, status, round, points, duplicate_of, decided_at, publicity_ends_at, \
         created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, 1, $14, $15, $16, $17, $18, $18)",
    )
    .bind(id)
    .bind(&new.citizen_id)
    .bind(&c.citizen.village_id)
    .bind(&c.citizen.household_id)
    .bind(who.source.as_str())
    .bind(&who.reporter_id)
    .bind(who.idem_key.as_deref())
    .bind(hash.as_slice())
    .bind(&c.standard.id)
    .bind(&c.date)
    .bind(&c.place)
    .bind(&c.description)
    .bind(status.as_str())
    .bind(points)
    .bind(duplicate_of.as_deref())
    .bind(automatic.then_some(now))
    .bind(ends)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    for ev in &new.evidence {
        sqlx::query("INSERT INTO deed_evidence (deed_id, sha256, content_type, bytes) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING")
            .bind(id)
            .bind(&ev.sha256)
            .bind(&ev.content_type)
            .bind(ev.bytes)
            .execute(&mut *tx)
            .await?;
    }
    Ok(duplicate_of)
}

/// The same person, category and day reported before (and not rejected or closed).
async fn duplicate_of(
    tx: &mut AnyConnection,
    new: &NewDeed,
    c: &Checked,
) -> Result<Option<String>> {
    sqlx::query(
        "SELECT d.id FROM deeds d JOIN standards s ON s.id = d.standard_id \
         WHERE d.citizen_id = $1 AND s.code = $2 AND d.deed_date = $3 AND d.status NOT IN ('rejected', 'closed') \
         ORDER BY d.created_at LIMIT 1",
    )
    .bind(&new.citizen_id)
    .bind(&c.standard.code)
    .bind(&c.date)
    .fetch_optional(&mut *tx)
    .await?
    .map(|r| r.try_get("id"))
    .transpose()
    .map_err(Into::into)
}

/// The deed's first events (its submission, a flagged duplicate) and who hears of it: the
/// resident of an automatic submission (now on publicity), else the committee (and the resident
/// of a nomination).
#[allow(clippy::too_many_arguments)] // the parts of one new deed
async fn tell_of_new_deed(
    tx: &mut AnyConnection,
    id: &str,
    new: &NewDeed,
    c: &Checked,
    who: &Submitter,
    duplicate_of: Option<&str>,
    automatic: bool,
    now: i64,
) -> Result<()> {
    let actor = if who.source == Source::Partner {
        "partner"
    } else {
        "citizen"
    };
    event(
        tx,
        id,
        now,
        (actor, &who.reporter_id),
        who.source.as_str(),
        &c.standard.rule(),
    )
    .await?;
    if let Some(d) = duplicate_of {
        event(
            tx,
            id,
            now,
            ("system", "evaluation"),
            "flagged_duplicate",
            d,
        )
        .await?;
    }
    let resident = [("citizen", new.citizen_id.clone())];
    if automatic {
        event(
            tx,
            id,
            now,
            ("system", "evaluation"),
            "publicity",
            "automatic partner submission",
        )
        .await?;
        return notify(tx, &resident, id, "deed_publicity", now).await;
    }
    let committee = members(tx, "evaluator", &c.citizen.village_id).await?;
    notify(tx, &staff_recipients(&committee), id, "deed_to_review", now).await?;
    if who.source == Source::Nomination {
        notify(tx, &resident, id, "deed_nominated", now).await?;
    }
    Ok(())
}

/// The `deed_submitted` row of the resident's access log, inside the deed's transaction.
async fn record_partner_access(
    tx: &mut AnyConnection,
    partner_id: &str,
    citizen_id: &str,
    now: i64,
) -> Result<()> {
    let name: String = sqlx::query("SELECT name FROM partners WHERE id = $1")
        .bind(partner_id)
        .fetch_one(&mut *tx)
        .await?
        .try_get("name")?;
    let actor = crate::Actor {
        kind: "partner",
        id: partner_id.to_string(),
        label: name,
    };
    crate::registry::access::insert_access(tx, citizen_id, &actor, "deed_submitted", now).await
}
