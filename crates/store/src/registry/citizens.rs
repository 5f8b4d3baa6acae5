//! Households, citizens, consents, household invites, export and withdrawal (enrolment is
//! `enrolment.rs`, the real-name step `identity.rs`).

use crate::registry::identity::Identity;
use crate::registry::{Actor, Registry};
use crate::vault::{random_bytes, token_hash};
use crate::{now_ms, Result, StoreError};
use domain::{ConsentVersion, PersonName, Phone, ResidentId};
use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::Row;

/// How long a household invite stays valid.
pub const INVITE_TTL_MS: i64 = domain::time::DAY_MS;

#[derive(Debug, Clone)]
pub enum HouseholdChoice {
    New,
    /// Join the household whose head issued this invite code (the head's confirmation).
    Join {
        invite_code: String,
    },
}

#[derive(Debug, Clone)]
pub struct NewCitizen {
    pub name: PersonName,
    pub resident_id: ResidentId,
    pub phone: Phone,
    pub village_id: String,
    pub household: HouseholdChoice,
    pub consent: ConsentVersion,
}

#[derive(Debug, Clone, Serialize)]
pub struct Enrolled {
    pub citizen_id: String,
    pub household_id: String,
    pub consent_version: String,
    pub enrolled_at: i64,
}

/// A whole citizen record, decrypted. Only for the person themself and the admin.
#[derive(Debug, Clone)]
pub struct Citizen {
    pub id: String,
    pub village_id: String,
    pub household_id: String,
    pub is_head: bool,
    pub name: PersonName,
    pub resident_id: ResidentId,
    pub phone: Phone,
    pub enrolled_at: i64,
    pub identity: Identity,
}

/// What a list shows: masked fields only.
#[derive(Debug, Clone, Serialize)]
pub struct CitizenSummary {
    pub id: String,
    pub village_id: String,
    pub village_name: String,
    pub household_id: String,
    pub name_masked: String,
    pub resident_id_masked: String,
    pub phone_masked: String,
    pub enrolled_at: i64,
    /// Whether the real-name step confirmed the record is the person it names.
    pub identity_confirmed: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct HouseholdMember {
    pub citizen_id: String,
    pub name_masked: String,
    pub is_head: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct Consent {
    pub purpose: String,
    pub version: String,
    pub granted_at: i64,
    pub withdrawn_at: Option<i64>,
}

/// Which citizens a reader may see.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    City,
    Town(String),
    Village(String),
}

#[derive(Debug, Clone, Default)]
pub struct CitizenQuery {
    pub resident_id: Option<ResidentId>,
    pub phone: Option<Phone>,
    pub name: Option<PersonName>,
    /// Narrow to one village (within the scope).
    pub village_id: Option<String>,
}

pub const SEARCH_LIMIT_MAX: i64 = 50;

const SUMMARY: &str =
    "SELECT c.id, c.village_id, r.name_zh AS village_name, c.household_id, c.name_masked, \
     c.resident_id_masked, c.phone_masked, c.enrolled_at, c.identity_confirmed_at FROM citizens c \
     JOIN regions r ON r.id = c.village_id";

fn summary(row: &AnyRow) -> Result<CitizenSummary> {
    Ok(CitizenSummary {
        id: row.try_get("id")?,
        village_id: row.try_get("village_id")?,
        village_name: row.try_get("village_name")?,
        household_id: row.try_get("household_id")?,
        name_masked: row.try_get("name_masked")?,
        resident_id_masked: row.try_get("resident_id_masked")?,
        phone_masked: row.try_get("phone_masked")?,
        enrolled_at: row.try_get("enrolled_at")?,
        identity_confirmed: row
            .try_get::<Option<i64>, _>("identity_confirmed_at")?
            .is_some(),
    })
}

/// The sealed and hashed columns of one citizen, computed before any transaction opens.
pub(crate) struct SealedCitizen {
    pub key_id: String,
    pub name_enc: Vec<u8>,
    pub name_hmac: Vec<u8>,
    pub name_masked: String,
    pub resident_id_enc: Vec<u8>,
    pub resident_id_hmac: Vec<u8>,
    pub resident_id_masked: String,
    pub phone_enc: Vec<u8>,
    pub phone_hmac: Vec<u8>,
    pub phone_masked: String,
}

pub(crate) fn aad(field: &str, citizen_id: &str) -> String {
    format!("{field}:{citizen_id}")
}

/// A withdrawal and volunteer dispatch: the volunteer's profile, alliances and certificates
/// go; their places not yet started are freed and their open offers lapse; their own open
/// requests are cancelled (with their offers). Service records stay under the random id, for
/// the alliance's figures. In the withdrawal's transaction.
async fn withdraw_from_dispatch(tx: &mut sqlx::AnyConnection, citizen_id: &str) -> Result<()> {
    let now = now_ms();
    for sql in [
        "UPDATE dispatch_shifts SET filled = filled - 1 WHERE filled > 0 AND id IN (SELECT shift_id FROM dispatch_offers WHERE volunteer_id = $1 AND status = 'accepted' AND starts_at > $2)",
        "UPDATE dispatch_offers SET status = 'withdrawn', answered_at = $2 WHERE volunteer_id = $1 AND (status IN ('offered', 'waitlisted') OR (status = 'accepted' AND starts_at > $2))",
        "UPDATE dispatch_offers SET status = 'withdrawn', answered_at = $2 WHERE status IN ('offered', 'waitlisted', 'accepted') AND task_id IN (SELECT id FROM dispatch_tasks WHERE requester_id = $1 AND status IN ('requested', 'accepted', 'dispatched'))",
        "UPDATE dispatch_shifts SET filled = 0 WHERE task_id IN (SELECT id FROM dispatch_tasks WHERE requester_id = $1 AND status IN ('requested', 'accepted', 'dispatched')) AND $2 > 0",
        "UPDATE dispatch_tasks SET status = 'cancelled', reason = 'withdrawal', updated_at = $2 WHERE requester_id = $1 AND status IN ('requested', 'accepted', 'dispatched')",
    ] {
        sqlx::query(sql).bind(citizen_id).bind(now).execute(&mut *tx).await?;
    }
    for sql in [
        "DELETE FROM volunteer_certificates WHERE citizen_id = $1",
        "DELETE FROM volunteer_alliances WHERE citizen_id = $1",
        "DELETE FROM volunteers WHERE citizen_id = $1",
    ] {
        sqlx::query(sql).bind(citizen_id).execute(&mut *tx).await?;
    }
    Ok(())
}

/// A member's withdrawal and the household's credit consents: their authorisations go, and the
/// household's open consents are revoked (a report would describe a household that changed),
/// with a receipt to each member who stays; in the withdrawal's transaction.
async fn withdraw_from_credit(
    tx: &mut sqlx::AnyConnection,
    citizen_id: &str,
    household_id: &str,
) -> Result<()> {
    sqlx::query("DELETE FROM credit_authorisations WHERE citizen_id = $1")
        .bind(citizen_id)
        .execute(&mut *tx)
        .await?;
    let now = now_ms();
    let revoked = sqlx::query(
        "UPDATE credit_consents SET status = 'revoked', closed_at = $2, closed_by = 'withdrawal' \
         WHERE household_id = $1 AND status IN ('requested', 'authorised')",
    )
    .bind(household_id)
    .bind(now)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if revoked == 0 {
        return Ok(());
    }
    let stay: Vec<String> = sqlx::query("SELECT id FROM citizens WHERE household_id = $1")
        .bind(household_id)
        .fetch_all(&mut *tx)
        .await?
        .iter()
        .map(|r| r.try_get("id"))
        .collect::<std::result::Result<_, _>>()?;
    let system = Actor {
        kind: "system",
        id: "withdrawal".into(),
        label: "道德银行".into(),
    };
    for member in &stay {
        crate::registry::access::insert_access(tx, member, &system, "credit_consent_revoked", now)
            .await?;
        crate::notices::notify_citizen(tx, member, "credit_consent_revoked", now).await?;
    }
    Ok(())
}

impl Registry<'_> {
    pub(crate) fn seal_citizen(
        &self,
        id: &str,
        name: &PersonName,
        rid: &ResidentId,
        phone: &Phone,
    ) -> Result<SealedCitizen> {
        let v = &self.vault;
        Ok(SealedCitizen {
            key_id: v.current_key_id().to_string(),
            name_enc: v.seal(&aad("name", id), name.as_str())?,
            name_hmac: v.lookup_hash("name", name.as_str()),
            name_masked: name.masked(),
            resident_id_enc: v.seal(&aad("resident_id", id), rid.as_str())?,
            resident_id_hmac: v.lookup_hash("resident_id", rid.as_str()),
            resident_id_masked: rid.masked(),
            phone_enc: v.seal(&aad("phone", id), phone.as_str())?,
            phone_hmac: v.lookup_hash("phone", phone.as_str()),
            phone_masked: phone.masked(),
        })
    }

    /// The household head creates a one-time code a new member enters when enrolling.
    pub async fn create_household_invite(&self, head_citizen_id: &str) -> Result<String> {
        let row = sqlx::query("SELECT id FROM households WHERE head_citizen_id = $1")
            .bind(head_citizen_id)
            .fetch_optional(&self.read)
            .await?;
        let Some(row) = row else {
            return Err(StoreError::invalid(
                "household",
                "not_household_head",
                "only the household head can invite members",
            ));
        };
        let hid: String = row.try_get("id")?;
        // 10 characters of an unambiguous alphabet: ~50 bits, single use, 24 hours.
        const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
        let code: String = random_bytes(10)
            .iter()
            .map(|b| char::from(ALPHABET[usize::from(*b) % 32]))
            .collect();
        let now = now_ms();
        sqlx::query("INSERT INTO household_invites (code_hash, household_id, created_by, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)")
            .bind(token_hash(&code))
            .bind(&hid)
            .bind(head_citizen_id)
            .bind(now)
            .bind(now + INVITE_TTL_MS)
            .execute(&self.write)
            .await?;
        Ok(code)
    }

    pub async fn citizen_id_by_phone(&self, phone: &Phone) -> Result<Option<String>> {
        let row = sqlx::query("SELECT id FROM citizens WHERE phone_hmac = $1")
            .bind(self.vault.lookup_hash("phone", phone.as_str()))
            .fetch_optional(&self.read)
            .await?;
        Ok(row.map(|r| r.try_get("id")).transpose()?)
    }

    /// The enrolled resident with this ID number (by its keyed hash), if any.
    pub async fn citizen_id_by_resident_id(
        &self,
        rid: &domain::ResidentId,
    ) -> Result<Option<String>> {
        let row = sqlx::query("SELECT id FROM citizens WHERE resident_id_hmac = $1")
            .bind(self.vault.lookup_hash("resident_id", rid.as_str()))
            .fetch_optional(&self.read)
            .await?;
        Ok(row.map(|r| r.try_get("id")).transpose()?)
    }

    /// The decrypted record, or `None` when there is no such (or a withdrawn) citizen.
    pub async fn citizen(&self, id: &str) -> Result<Option<Citizen>> {
        let row = sqlx::query(
            "SELECT c.*, h.head_citizen_id FROM citizens c JOIN households h ON h.id = c.household_id WHERE c.id = $1",
        )
        .bind(id)
        .fetch_optional(&self.read)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let kid: String = row.try_get("key_id")?;
        let open = |field: &str| -> Result<String> {
            let sealed: Vec<u8> = row.try_get(format!("{field}_enc").as_str())?;
            self.vault.open(&kid, &aad(field, id), &sealed)
        };
        let bad = |_| StoreError::Crypto("stored value no longer parses");
        let head: Option<String> = row.try_get("head_citizen_id")?;
        Ok(Some(Citizen {
            id: id.to_string(),
            village_id: row.try_get("village_id")?,
            household_id: row.try_get("household_id")?,
            is_head: head.as_deref() == Some(id),
            name: PersonName::parse(&open("name")?).map_err(bad)?,
            resident_id: ResidentId::parse(&open("resident_id")?).map_err(bad)?,
            phone: Phone::parse(&open("phone")?).map_err(bad)?,
            enrolled_at: row.try_get("enrolled_at")?,
            identity: Identity::from_row(&row)?,
        }))
    }

    pub async fn citizen_summary(&self, id: &str) -> Result<Option<CitizenSummary>> {
        let row = sqlx::query(&format!("{SUMMARY} WHERE c.id = $1"))
            .bind(id)
            .fetch_optional(&self.read)
            .await?;
        row.as_ref().map(summary).transpose()
    }

    /// The summaries of many citizens at once, by id (a withdrawn or unknown id is absent),
    /// read through `conn` (an import's transaction: one connection's page cache, not every
    /// pooled reader's).
    pub(crate) async fn citizen_summaries(
        &self,
        conn: &mut sqlx::AnyConnection,
        ids: &[&str],
    ) -> Result<std::collections::HashMap<String, CitizenSummary>> {
        let mut ids: Vec<&str> = ids.to_vec();
        ids.sort_unstable();
        ids.dedup();
        let mut out = std::collections::HashMap::with_capacity(ids.len());
        for chunk in ids.chunks(500) {
            let sql = format!(
                "{SUMMARY} WHERE c.id IN ({})",
                crate::sql::in_list(1, chunk.len())
            );
            let mut q = sqlx::query(&sql).persistent(false);
            for id in chunk {
                q = q.bind(*id);
            }
            for row in q.fetch_all(&mut *conn).await? {
                let s = summary(&row)?;
                out.insert(s.id.clone(), s);
            }
        }
        Ok(out)
    }

    /// Citizens' summaries by their ID numbers (through their lookup hashes, as
    /// [`Registry::citizen_ids_by_resident_ids`]), many at once, read through `conn`; an ID
    /// number nobody enrolled with is absent.
    pub(crate) async fn citizen_summaries_by_resident_ids(
        &self,
        conn: &mut sqlx::AnyConnection,
        rids: &[&domain::ResidentId],
    ) -> Result<std::collections::HashMap<String, CitizenSummary>> {
        let select = SUMMARY.replacen("SELECT ", "SELECT c.resident_id_hmac, ", 1);
        self.by_resident_ids(conn, rids, &select, summary).await
    }

    /// Citizens' ids by their ID numbers' lookup hashes, many at once (see
    /// [`Registry::citizen_id_by_resident_id`]); an ID number nobody enrolled with is absent.
    /// Read through `conn`, as [`Registry::citizen_summaries`].
    pub(crate) async fn citizen_ids_by_resident_ids(
        &self,
        conn: &mut sqlx::AnyConnection,
        rids: &[&domain::ResidentId],
    ) -> Result<std::collections::HashMap<String, String>> {
        self.by_resident_ids(
            conn,
            rids,
            "SELECT c.id, c.resident_id_hmac FROM citizens c",
            |row| Ok(row.try_get("id")?),
        )
        .await
    }

    /// `select` (over `citizens c`, reading `c.resident_id_hmac`) for the citizens with these ID
    /// numbers, found by their lookup hashes, 500 a statement through `conn`; `each` makes of a
    /// row what is kept under the ID number.
    async fn by_resident_ids<T>(
        &self,
        conn: &mut sqlx::AnyConnection,
        rids: &[&domain::ResidentId],
        select: &str,
        each: impl Fn(&AnyRow) -> Result<T>,
    ) -> Result<std::collections::HashMap<String, T>> {
        let hashes: Vec<(&str, Vec<u8>)> = rids
            .iter()
            .map(|r| {
                (
                    r.as_str(),
                    self.vault.lookup_hash("resident_id", r.as_str()),
                )
            })
            .collect();
        let by_hash: std::collections::HashMap<&[u8], &str> =
            hashes.iter().map(|(r, h)| (h.as_slice(), *r)).collect();
        let mut out = std::collections::HashMap::with_capacity(rids.len());
        for chunk in hashes.chunks(500) {
            let sql = crate::sql::positional(
                self.backend,
                format!(
                    "{select} WHERE c.resident_id_hmac IN ({})",
                    crate::sql::in_list(1, chunk.len())
                ),
            );
            let mut q = sqlx::query(&sql).persistent(false);
            for (_, h) in chunk {
                q = q.bind(h.as_slice());
            }
            for row in q.fetch_all(&mut *conn).await? {
                let h: Vec<u8> = row.try_get("resident_id_hmac")?;
                if let Some(r) = by_hash.get(h.as_slice()) {
                    out.insert((*r).to_string(), each(&row)?);
                }
            }
        }
        Ok(out)
    }

    /// Is this citizen inside the scope (city, a town, a village)?
    pub async fn citizen_in_scope(&self, id: &str, scope: &Scope) -> Result<bool> {
        let Some(s) = self.citizen_summary(id).await? else {
            return Ok(false);
        };
        Ok(match scope {
            Scope::City => true,
            Scope::Village(v) => &s.village_id == v,
            Scope::Town(t) => {
                self.region(&s.village_id)
                    .await?
                    .and_then(|r| r.parent_id)
                    .as_deref()
                    == Some(t)
            }
        })
    }

    pub async fn household_members(&self, household_id: &str) -> Result<Vec<HouseholdMember>> {
        let rows = sqlx::query(
            "SELECT c.id, c.name_masked, h.head_citizen_id FROM citizens c JOIN households h ON h.id = c.household_id \
             WHERE c.household_id = $1 ORDER BY c.enrolled_at",
        )
        .bind(household_id)
        .fetch_all(&self.read)
        .await?;
        rows.iter()
            .map(|r| {
                let id: String = r.try_get("id")?;
                let head: Option<String> = r.try_get("head_citizen_id")?;
                Ok(HouseholdMember {
                    is_head: head.as_deref() == Some(id.as_str()),
                    citizen_id: id,
                    name_masked: r.try_get("name_masked")?,
                })
            })
            .collect()
    }

    pub async fn consents(&self, citizen_id: &str) -> Result<Vec<Consent>> {
        let rows = sqlx::query("SELECT purpose, version, granted_at, withdrawn_at FROM consents WHERE citizen_id = $1 ORDER BY granted_at")
            .bind(citizen_id)
            .fetch_all(&self.read)
            .await?;
        rows.iter()
            .map(|r| {
                Ok(Consent {
                    purpose: r.try_get("purpose")?,
                    version: r.try_get("version")?,
                    granted_at: r.try_get("granted_at")?,
                    withdrawn_at: r.try_get("withdrawn_at")?,
                })
            })
            .collect()
    }

    /// When a consent text version was first published, if it was.
    pub async fn consent_published_at(&self, purpose: &str, version: &str) -> Result<Option<i64>> {
        let row = sqlx::query(
            "SELECT published_at FROM consent_texts WHERE purpose = $1 AND version = $2",
        )
        .bind(purpose)
        .bind(version)
        .fetch_optional(&self.read)
        .await?;
        Ok(row.map(|r| r.try_get("published_at")).transpose()?)
    }

    /// Record that a consent text version is published; nothing happens when it already is.
    pub async fn ensure_consent_text(&self, purpose: &str, version: &str) -> Result<()> {
        let res = sqlx::query(
            "INSERT INTO consent_texts (purpose, version, published_at) VALUES ($1, $2, $3)",
        )
        .bind(purpose)
        .bind(version)
        .bind(now_ms())
        .execute(&self.write)
        .await;
        match res {
            Err(e) if crate::StoreError::is_unique_violation(&e) => Ok(()),
            other => other.map(|_| ()).map_err(Into::into),
        }
    }

    /// Find citizens by exact ID number, phone or full name (all through keyed hashes), inside
    /// a scope; without any criterion, list the scope's most recent enrolments.
    pub async fn search_citizens(
        &self,
        q: &CitizenQuery,
        scope: &Scope,
        limit: i64,
    ) -> Result<Vec<CitizenSummary>> {
        let mut sql = format!("{SUMMARY} WHERE 1 = 1");
        let mut binds: Vec<Vec<u8>> = Vec::new();
        let mut texts: Vec<String> = Vec::new();
        let mut n = 0;
        let mut next = || {
            n += 1;
            format!("${n}")
        };
        if let Some(rid) = &q.resident_id {
            sql += &format!(" AND c.resident_id_hmac = {}", next());
            binds.push(self.vault.lookup_hash("resident_id", rid.as_str()));
        }
        if let Some(p) = &q.phone {
            sql += &format!(" AND c.phone_hmac = {}", next());
            binds.push(self.vault.lookup_hash("phone", p.as_str()));
        }
        if let Some(name) = &q.name {
            sql += &format!(" AND c.name_hmac = {}", next());
            binds.push(self.vault.lookup_hash("name", name.as_str()));
        }
        match scope {
            Scope::City => {}
            Scope::Village(v) => {
                sql += &format!(" AND c.village_id = {}", next());
                texts.push(v.clone());
            }
            Scope::Town(t) => {
                sql += &format!(" AND r.parent_id = {}", next());
                texts.push(t.clone());
            }
        }
        if let Some(v) = &q.village_id {
            sql += &format!(" AND c.village_id = {}", next());
            texts.push(v.clone());
        }
        sql += &format!(
            " ORDER BY c.enrolled_at DESC, c.id DESC LIMIT {}",
            limit.clamp(1, SEARCH_LIMIT_MAX)
        );
        let mut query = sqlx::query(&sql);
        for b in binds {
            query = query.bind(b);
        }
        for t in texts {
            query = query.bind(t);
        }
        let rows = query.fetch_all(&self.read).await?;
        rows.iter().map(summary).collect()
    }

    pub async fn count_citizens(&self) -> Result<(i64, i64)> {
        let c: i64 = sqlx::query("SELECT COUNT(*) AS n FROM citizens")
            .fetch_one(&self.read)
            .await?
            .try_get("n")?;
        let h: i64 = sqlx::query("SELECT COUNT(*) AS n FROM households")
            .fetch_one(&self.read)
            .await?
            .try_get("n")?;
        Ok((c, h))
    }

    /// Everything we hold about a citizen, decrypted, as one JSON document.
    pub async fn export_citizen(&self, id: &str) -> Result<serde_json::Value> {
        let c = self
            .citizen(id)
            .await?
            .ok_or(StoreError::NotFound { what: "citizen" })?;
        let village = self.region(&c.village_id).await?;
        Ok(serde_json::json!({
            "format": "moralbank-export-v1",
            "exported_at": now_ms(),
            "citizen": {
                "id": c.id,
                "name": c.name.as_str(),
                "resident_id": c.resident_id.as_str(),
                "phone": c.phone.as_str(),
                "village": village.map(|v| serde_json::json!({"id": v.id, "code": v.code, "name_zh": v.name_zh, "name_en": v.name_en})),
                "household_id": c.household_id,
                "household_head": c.is_head,
                "enrolled_at": c.enrolled_at,
                "identity": c.identity,
            },
            "household_members": self.household_members(&c.household_id).await?,
            "consents": self.consents(id).await?,
            "access_log": self.whole_access_log(id).await?,
        }))
    }

    /// Every access-log entry of a citizen, page by page.
    async fn whole_access_log(&self, id: &str) -> Result<Vec<crate::AccessEntry>> {
        let mut all: Vec<crate::AccessEntry> = Vec::new();
        loop {
            let after = all.last().map(|e| (e.at, e.id.as_str()));
            let page = self
                .access_log(id, after, crate::registry::access::ACCESS_PAGE_MAX)
                .await?;
            let done = (page.len() as i64) < crate::registry::access::ACCESS_PAGE_MAX;
            all.extend(page);
            if done {
                return Ok(all);
            }
        }
    }

    /// Withdraw: delete every row of personal data in one transaction and keep only the fact
    /// that this (random, meaningless) id withdrew. A household head who withdraws hands the
    /// household to the longest-enrolled remaining member; an empty household is removed.
    /// Returns the SHA-256 of the evidence files no deed refers to any more: the evidence rows of
    /// the resident's deeds go in the same transaction, and the caller deletes those files.
    pub async fn withdraw(&self, id: &str) -> Result<Vec<String>> {
        let mut tx = self.write.begin().await?;
        let row = sqlx::query("SELECT household_id FROM citizens WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
        let Some(row) = row else {
            return Err(StoreError::NotFound { what: "citizen" });
        };
        let hid: String = row.try_get("household_id")?;
        // Counted first, before any other row: the ledger's writer drops the citizens and
        // accounts it keeps in memory when the count changes, and takes the same row first in
        // each batch (the same lock order, so no deadlock on PostgreSQL).
        sqlx::query("UPDATE log_head SET withdrawals = withdrawals + 1 WHERE id = 1")
            .execute(&mut *tx)
            .await?;
        // The mark of the withdrawal, before the deletes: the access log is append-only, and
        // its guard lets only the rows of a resident who is in `withdrawals` and no longer in
        // `citizens` go (migration 0014), i.e. only in this transaction.
        sqlx::query("INSERT INTO withdrawals (citizen_id, withdrawn_at) VALUES ($1, $2)")
            .bind(id)
            .bind(now_ms())
            .execute(&mut *tx)
            .await?;
        for sql in [
            "DELETE FROM citizens WHERE id = $1",
            "DELETE FROM consents WHERE citizen_id = $1",
            "DELETE FROM access_log WHERE citizen_id = $1",
            "DELETE FROM sessions WHERE subject_id = $1",
            "DELETE FROM household_invites WHERE created_by = $1",
            "DELETE FROM issued_codes WHERE citizen_id = $1",
            "DELETE FROM benefit_usage WHERE citizen_id = $1",
            // The ledger keeps its rows (append-only) under the random citizen id, but without
            // the salt nobody can link the public log's commitments to anyone any more.
            "UPDATE ledger_accounts SET salt = NULL WHERE citizen_id = $1",
        ] {
            sqlx::query(sql).bind(id).execute(&mut *tx).await?;
        }
        withdraw_from_credit(&mut tx, id, &hid).await?;
        withdraw_from_dispatch(&mut tx, id).await?;
        let next_head = sqlx::query(
            "SELECT id FROM citizens WHERE household_id = $1 ORDER BY enrolled_at, id LIMIT 1",
        )
        .bind(&hid)
        .fetch_optional(&mut *tx)
        .await?;
        match next_head {
            None => {
                // The last member: the household's credit records go with it (the banks' loan
                // books keep their months under the household's random id, for the figures).
                for sql in [
                    "DELETE FROM credit_decisions WHERE household_id = $1",
                    "DELETE FROM credit_reports WHERE household_id = $1",
                    "DELETE FROM credit_authorisations WHERE consent_id IN (SELECT id FROM credit_consents WHERE household_id = $1)",
                    "DELETE FROM credit_consents WHERE household_id = $1",
                    "DELETE FROM households WHERE id = $1",
                ] {
                    sqlx::query(sql).bind(&hid).execute(&mut *tx).await?;
                }
            }
            Some(r) => {
                let next: String = r.try_get("id")?;
                sqlx::query("UPDATE households SET head_citizen_id = $1 WHERE id = $2 AND head_citizen_id = $3")
                    .bind(&next)
                    .bind(&hid)
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
            }
        }
        // Photos and documents of the resident's deeds are personal data: their rows go now,
        // their files once no other deed refers to the same bytes.
        let shas: Vec<String> = sqlx::query(
            "SELECT DISTINCT e.sha256 FROM deed_evidence e JOIN deeds d ON d.id = e.deed_id WHERE d.citizen_id = $1",
        )
        .bind(id)
        .fetch_all(&mut *tx)
        .await?
        .iter()
        .map(|r| r.try_get("sha256"))
        .collect::<std::result::Result<_, _>>()?;
        sqlx::query(
            "DELETE FROM deed_evidence WHERE deed_id IN (SELECT id FROM deeds WHERE citizen_id = $1)",
        )
        .bind(id)
        .execute(&mut *tx)
        .await?;
        let mut unreferenced = Vec::new();
        for sha in shas {
            let used = sqlx::query("SELECT 1 AS one FROM deed_evidence WHERE sha256 = $1 LIMIT 1")
                .bind(&sha)
                .fetch_optional(&mut *tx)
                .await?
                .is_some();
            if !used {
                unreferenced.push(sha);
            }
        }
        tx.commit().await?;
        Ok(unreferenced)
    }

    /// The SHA-256 of every evidence file a deed refers to (the sweep of unreferenced files).
    pub async fn evidence_hashes(&self) -> Result<std::collections::HashSet<String>> {
        sqlx::query("SELECT DISTINCT sha256 FROM deed_evidence")
            .fetch_all(&self.read)
            .await?
            .iter()
            .map(|r| Ok(r.try_get("sha256")?))
            .collect()
    }
}
