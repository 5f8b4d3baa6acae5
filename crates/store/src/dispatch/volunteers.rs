//! Volunteers: enrolled residents who opted in with their own consent (separate from
//! enrolment's), naming the alliances they serve, their skills and certificates, the villages
//! they serve besides their own, and their weekly hours. Leaving stops every offer at once; the
//! record of service stays theirs.

use crate::dispatch::{words, Dispatch};
use crate::{Result, StoreError};
use domain::dispatch::matcher::{Availability, Candidate, Place};
use domain::dispatch::{CERTIFIED_SKILLS, FAIRNESS_PERIOD_DAYS, NO_SHOW_PERIOD_DAYS};
use domain::time::DAY_MS;
use domain::{FieldError, FieldErrors};
use serde::Serialize;
use sqlx::Row;

/// A certificate: its skill, number and validity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Certificate {
    pub skill: String,
    pub number: String,
    pub valid_until: i64,
}

/// What a resident says when joining or updating.
#[derive(Debug, Clone, Default)]
pub struct Joining {
    pub alliances: Vec<String>,
    pub skills: Vec<String>,
    pub serves: Vec<String>,
    pub availability: Availability,
    pub certificates: Vec<Certificate>,
}

/// A volunteer's profile.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Volunteer {
    pub citizen_id: String,
    pub household_id: String,
    pub village_id: String,
    pub town_id: String,
    pub alliances: Vec<String>,
    pub skills: Vec<String>,
    pub serves: Vec<String>,
    pub availability: String,
    pub certificates: Vec<Certificate>,
    pub joined_at: i64,
    pub active: bool,
}

const CERT_NUMBER_CHARS_MAX: usize = 40;
const SERVES_MAX: usize = 10;

impl Dispatch<'_> {
    /// Join (or update) as a volunteer: the consent's version is recorded; every field is
    /// checked at once. A resident who left and joins again is active again.
    pub async fn join(&self, citizen_id: &str, j: &Joining, now: i64) -> Result<Volunteer> {
        let me = self
            .registry()
            .citizen_summary(citizen_id)
            .await?
            .ok_or(StoreError::NotFound { what: "citizen" })?;
        let (_, town) = self.registry().village_and_town(&me.village_id).await?;
        self.check_joining(j, now).await?;
        let mut tx = self.write.begin().await?;
        sqlx::query(
            "INSERT INTO volunteers (citizen_id, household_id, village_id, town_id, skills, serves, availability, consent_version, joined_at, updated_at, active) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9, 1) \
             ON CONFLICT (citizen_id) DO UPDATE SET household_id = $2, village_id = $3, town_id = $4, skills = $5, serves = $6, availability = $7, consent_version = $8, updated_at = $9, active = 1",
        )
        .bind(citizen_id)
        .bind(&me.household_id)
        .bind(&me.village_id)
        .bind(&town.id)
        .bind(j.skills.join(" "))
        .bind(j.serves.join(" "))
        .bind(j.availability.to_text())
        .bind(domain::dispatch::VOLUNTEER_CONSENT_VERSION)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        for table in ["volunteer_alliances", "volunteer_certificates"] {
            sqlx::query(&format!("DELETE FROM {table} WHERE citizen_id = $1"))
                .bind(citizen_id)
                .execute(&mut *tx)
                .await?;
        }
        let mut alliances = j.alliances.clone();
        alliances.sort();
        alliances.dedup();
        for a in &alliances {
            sqlx::query(
                "INSERT INTO volunteer_alliances (citizen_id, alliance_id) VALUES ($1, $2)",
            )
            .bind(citizen_id)
            .bind(a)
            .execute(&mut *tx)
            .await?;
        }
        for c in &j.certificates {
            sqlx::query("INSERT INTO volunteer_certificates (citizen_id, skill, number, valid_until) VALUES ($1, $2, $3, $4)")
                .bind(citizen_id)
                .bind(&c.skill)
                .bind(&c.number)
                .bind(c.valid_until)
                .execute(&mut *tx)
                .await?;
        }
        crate::notices::notify_citizen(&mut tx, citizen_id, "volunteer_joined", now).await?;
        tx.commit().await?;
        self.volunteer(citizen_id)
            .await?
            .ok_or(StoreError::NotFound { what: "volunteer" })
    }

    async fn check_joining(&self, j: &Joining, now: i64) -> Result<()> {
        let mut e = FieldErrors::default();
        let alliances = self.alliances().await?;
        if j.alliances.is_empty() {
            e.push(FieldError::new(
                "alliances",
                "required",
                "choose at least one alliance",
            ));
        } else if j
            .alliances
            .iter()
            .any(|a| !alliances.iter().any(|x| &x.id == a))
        {
            e.push(FieldError::new(
                "alliances",
                "unknown_alliance",
                "not one of the city's alliances",
            ));
        }
        e.take(domain::dispatch::skills("skills", &j.skills));
        if j.serves.len() > SERVES_MAX {
            e.push(FieldError::new(
                "serves",
                "serves_too_many",
                format!("at most {SERVES_MAX} villages"),
            ));
        }
        for v in &j.serves {
            match self.registry().region(v).await? {
                Some(r) if r.level == domain::RegionLevel::Village => {}
                _ => e.push(FieldError::new(
                    "serves",
                    "unknown_village",
                    "not a village",
                )),
            }
        }
        if j.availability == Availability::default() {
            e.push(FieldError::new(
                "availability",
                "required",
                "choose at least one hour of the week",
            ));
        }
        for c in &j.certificates {
            if !CERTIFIED_SKILLS.contains(&c.skill.as_str()) {
                e.push(FieldError::new(
                    "certificates",
                    "not_certified",
                    format!("'{}' has no certificate", c.skill),
                ));
            } else if c.number.trim().is_empty() || c.number.chars().count() > CERT_NUMBER_CHARS_MAX
            {
                e.push(FieldError::new(
                    "certificates",
                    "bad_number",
                    format!("a certificate number of 1 to {CERT_NUMBER_CHARS_MAX} characters"),
                ));
            } else if c.valid_until <= now {
                e.push(FieldError::new(
                    "certificates",
                    "expired",
                    "the certificate has expired",
                ));
            }
        }
        e.into_result().map_err(StoreError::Invalid)
    }

    /// Leave: no further offers; open offers are withdrawn and accepted places before their
    /// start are freed, in one transaction. Hours served stay on the record.
    pub async fn leave(&self, citizen_id: &str, now: i64) -> Result<()> {
        let mut tx = self.write.begin().await?;
        let n = sqlx::query("UPDATE volunteers SET active = 0, updated_at = $1 WHERE citizen_id = $2 AND active = 1")
            .bind(now)
            .bind(citizen_id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if n == 0 {
            return Err(StoreError::NotFound { what: "volunteer" });
        }
        crate::dispatch::places::release_all(&mut tx, citizen_id, "volunteer_left", now).await?;
        crate::notices::notify_citizen(&mut tx, citizen_id, "volunteer_left", now).await?;
        tx.commit().await?;
        Ok(())
    }

    /// A volunteer's profile (also after leaving: `active` says).
    pub async fn volunteer(&self, citizen_id: &str) -> Result<Option<Volunteer>> {
        let Some(r) = sqlx::query("SELECT citizen_id, household_id, village_id, town_id, skills, serves, availability, joined_at, active FROM volunteers WHERE citizen_id = $1")
            .bind(citizen_id)
            .fetch_optional(&self.read)
            .await?
        else {
            return Ok(None);
        };
        let alliances = sqlx::query("SELECT alliance_id FROM volunteer_alliances WHERE citizen_id = $1 ORDER BY alliance_id")
            .bind(citizen_id)
            .fetch_all(&self.read)
            .await?
            .iter()
            .map(|r| r.try_get("alliance_id"))
            .collect::<std::result::Result<Vec<String>, _>>()?;
        let certificates = sqlx::query("SELECT skill, number, valid_until FROM volunteer_certificates WHERE citizen_id = $1 ORDER BY skill")
            .bind(citizen_id)
            .fetch_all(&self.read)
            .await?
            .iter()
            .map(|r| {
                Ok(Certificate {
                    skill: r.try_get("skill")?,
                    number: r.try_get("number")?,
                    valid_until: r.try_get("valid_until")?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Some(Volunteer {
            citizen_id: r.try_get("citizen_id")?,
            household_id: r.try_get("household_id")?,
            village_id: r.try_get("village_id")?,
            town_id: r.try_get("town_id")?,
            alliances,
            skills: words(&r.try_get::<String, _>("skills")?),
            serves: words(&r.try_get::<String, _>("serves")?),
            availability: r.try_get("availability")?,
            certificates,
            joined_at: r.try_get("joined_at")?,
            active: r.try_get::<i64, _>("active")? == 1,
        }))
    }

    /// The active volunteers of `alliance_id` as the matcher sees them: where they live and
    /// serve, skills and certificates, hours in the fairness period, no-shows in theirs, busy
    /// windows from `now` on. `towns` narrows to volunteers living in those towns (`None`: all).
    pub async fn candidates(
        &self,
        alliance_id: &str,
        towns: Option<&[String]>,
        now: i64,
    ) -> Result<Vec<Candidate>> {
        let town_filter = match towns {
            Some(t) if !t.is_empty() => {
                format!(" AND v.town_id IN ({})", crate::sql::in_list(2, t.len()))
            }
            _ => String::new(),
        };
        // The volunteers alone; their hours, no-shows and services come from one grouped
        // query each below (a subquery per volunteer cost seconds for 50,000 of them).
        let sql = format!(
            "SELECT v.citizen_id, v.household_id, v.village_id, v.town_id, v.skills, v.serves, v.availability \
             FROM volunteers v JOIN volunteer_alliances a ON a.citizen_id = v.citizen_id \
             WHERE a.alliance_id = $1 AND v.active = 1{town_filter} ORDER BY v.citizen_id"
        );
        let mut q = sqlx::query(&sql).persistent(false).bind(alliance_id);
        for t in towns.unwrap_or_default() {
            q = q.bind(t);
        }
        let rows = q.fetch_all(&self.read).await?;
        let mut out = Vec::with_capacity(rows.len());
        let mut index = std::collections::HashMap::new();
        for r in &rows {
            let id: String = r.try_get("citizen_id")?;
            index.insert(id.clone(), out.len());
            out.push(Candidate {
                id,
                household_id: r.try_get("household_id")?,
                home: Place {
                    village_id: r.try_get("village_id")?,
                    town_id: r.try_get("town_id")?,
                },
                serves: words(&r.try_get::<String, _>("serves")?),
                skills: words(&r.try_get::<String, _>("skills")?),
                certificates: Vec::new(),
                availability: Availability::parse(&r.try_get::<String, _>("availability")?)
                    .unwrap_or_default(),
                busy: Vec::new(),
                recent_minutes: 0,
                recent_no_shows: 0,
                newcomer: true,
            });
        }
        let grouped = [
            "SELECT volunteer_id, CAST(SUM(minutes) AS BIGINT) AS n FROM dispatch_service \
             WHERE minutes IS NOT NULL AND COALESCE(check_in_at, updated_at) > $1 GROUP BY volunteer_id",
            "SELECT volunteer_id, COUNT(*) AS n FROM dispatch_offers \
             WHERE status = 'no_show' AND starts_at > $1 GROUP BY volunteer_id",
            "SELECT volunteer_id, COUNT(*) AS n FROM dispatch_service \
             WHERE minutes IS NOT NULL AND updated_at > $1 GROUP BY volunteer_id",
        ];
        let since = [
            now - FAIRNESS_PERIOD_DAYS * DAY_MS,
            now - NO_SHOW_PERIOD_DAYS * DAY_MS,
            i64::MIN,
        ];
        for (k, (sql, since)) in grouped.iter().zip(since).enumerate() {
            for r in sqlx::query(sql).bind(since).fetch_all(&self.read).await? {
                let Some(&i) = index.get(&r.try_get::<String, _>("volunteer_id")?) else {
                    continue;
                };
                let n: i64 = r.try_get("n")?;
                match k {
                    0 => out[i].recent_minutes = n,
                    1 => out[i].recent_no_shows = u32::try_from(n).unwrap_or(0),
                    _ => out[i].newcomer = n == 0,
                }
            }
        }
        // Certificates and busy windows of the alliance's volunteers, one query each.
        let certs = sqlx::query("SELECT k.citizen_id, k.skill, k.valid_until FROM volunteer_certificates k JOIN volunteer_alliances a ON a.citizen_id = k.citizen_id WHERE a.alliance_id = $1")
            .bind(alliance_id)
            .fetch_all(&self.read)
            .await?;
        for r in &certs {
            if let Some(&i) = index.get(&r.try_get::<String, _>("citizen_id")?) {
                out[i]
                    .certificates
                    .push((r.try_get("skill")?, r.try_get("valid_until")?));
            }
        }
        let busy = sqlx::query("SELECT o.volunteer_id, o.starts_at, o.ends_at FROM dispatch_offers o JOIN volunteer_alliances a ON a.citizen_id = o.volunteer_id WHERE a.alliance_id = $1 AND o.status IN ('offered', 'accepted') AND o.ends_at > $2")
            .bind(alliance_id)
            .bind(now)
            .fetch_all(&self.read)
            .await?;
        for r in &busy {
            if let Some(&i) = index.get(&r.try_get::<String, _>("volunteer_id")?) {
                out[i]
                    .busy
                    .push((r.try_get("starts_at")?, r.try_get("ends_at")?));
            }
        }
        Ok(out)
    }
}
