//! What a group's decisions read: keys used before, the caps' points so far, earlier deeds of
//! the same person, category and day, the partners' names; many rows per statement.

use super::decide::{capped, Known};
use super::{lock_resident, Ready};
use crate::evaluation::Evaluation;
use crate::sql::{in_list, positional, Backend};
use crate::Result;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};
use std::collections::HashMap;

/// Rows per look-up statement (ids in an `IN` list). Look-ups are not kept as prepared
/// statements (`persistent(false)`): PostgreSQL would soon plan them once for every list, from
/// statistics taken before the file's own rows were written in this transaction, and scan the
/// whole table for each chunk (measured: 1.7 s a look-up, growing, at 200,000 rows).
const LOOKUP_ROWS: usize = 500;

impl Evaluation<'_> {
    /// What the group's rows depend on, read on `tx`: keys used before, the residents' cap
    /// windows so far (with `take`, their rows taken first, as `lock_resident`, in one order for
    /// every writer; without, `tx` reads beside the transaction that holds the write lock),
    /// earlier deeds of the same person, category and day, the partners' names.
    pub(super) async fn look_up(
        &self,
        tx: &mut AnyConnection,
        group: &[Ready<'_>],
        take: bool,
    ) -> Result<Known> {
        let prior = self.keys_used(tx, group).await?;
        let used = self.caps_so_far(tx, group, &prior, take).await?;
        let earlier = self.earlier_deeds(tx, group).await?;
        let names = self.partner_names(tx, group).await?;
        Ok(Known {
            prior,
            used,
            earlier,
            names,
        })
    }

    /// Keys used before (a retry, or a conflict): their deed, request hash and status.
    async fn keys_used(
        &self,
        tx: &mut AnyConnection,
        group: &[Ready<'_>],
    ) -> Result<HashMap<String, (String, Vec<u8>, String)>> {
        let keys: Vec<&str> = group
            .iter()
            .filter_map(|g| g.p.who.idem_key.as_deref())
            .collect();
        let mut prior: HashMap<String, (String, Vec<u8>, String)> = HashMap::new();
        let select =
            "SELECT idem_key, id, request_hash, status FROM deeds WHERE idem_key IN ({ids})";
        for r in rows_in(tx, self.backend, select, &[], &keys).await? {
            prior.insert(
                r.try_get("idem_key")?,
                (
                    r.try_get("id")?,
                    r.try_get("request_hash")?,
                    r.try_get("status")?,
                ),
            );
        }
        Ok(prior)
    }

    /// The points of each capped row's resident, standard and window so far, the residents'
    /// rows taken first (as `lock_resident`), in one order for every writer.
    async fn caps_so_far(
        &self,
        tx: &mut AnyConnection,
        group: &[Ready<'_>],
        prior: &HashMap<String, (String, Vec<u8>, String)>,
        take: bool,
    ) -> Result<HashMap<(String, String, String), i64>> {
        let backend = self.backend;
        let mut residents: Vec<&str> = group
            .iter()
            .filter(|g| {
                capped(g).is_some()
                    && !g
                        .p
                        .who
                        .idem_key
                        .as_ref()
                        .is_some_and(|k| prior.contains_key(k))
            })
            .map(|g| g.new.citizen_id.as_str())
            .collect();
        residents.sort_unstable();
        residents.dedup();
        match backend {
            _ if !take => {}
            Backend::Postgres => {
                let select = "SELECT id FROM citizens WHERE id IN ({ids}) ORDER BY id FOR UPDATE";
                rows_in(tx, backend, select, &[], &residents).await?;
            }
            // One writer at a time: the first write takes the database.
            Backend::Sqlite => {
                if let Some(c) = residents.first() {
                    lock_resident(tx, c).await?;
                }
            }
        }
        let windows = residents_by(group, |g| {
            capped(g).map(|(_, w)| (g.p.c.standard.code.clone(), w))
        });
        let mut used: HashMap<(String, String, String), i64> = HashMap::new();
        for ((code, window), who) in windows {
            let select = "SELECT d.citizen_id, CAST(COALESCE(SUM(d.points), 0) AS BIGINT) AS used FROM deeds d \
                 JOIN standards s ON s.id = d.standard_id WHERE s.code = $1 AND d.deed_date LIKE $2 \
                 AND d.status IN ('publicity', 'paused', 'credited') AND d.citizen_id IN ({ids}) GROUP BY d.citizen_id";
            let pattern = format!("{window}%");
            for r in rows_in(tx, backend, select, &[&code, &pattern], &who).await? {
                used.insert(
                    (r.try_get("citizen_id")?, code.clone(), window.clone()),
                    r.try_get("used")?,
                );
            }
        }
        Ok(used)
    }

    /// The first deed of each row's resident, standard and day (not rejected or closed).
    async fn earlier_deeds(
        &self,
        tx: &mut AnyConnection,
        group: &[Ready<'_>],
    ) -> Result<HashMap<(String, String, String), (i64, String)>> {
        let backend = self.backend;
        let by_code = residents_by(group, |g| Some(g.p.c.standard.code.as_str()));
        let mut earlier: HashMap<(String, String, String), (i64, String)> = HashMap::new();
        for (code, who) in by_code {
            let select = "SELECT d.id, d.citizen_id, d.deed_date, d.created_at FROM deeds d \
                 JOIN standards s ON s.id = d.standard_id \
                 WHERE s.code = $1 AND d.status NOT IN ('rejected', 'closed') AND d.citizen_id IN ({ids})";
            for r in rows_in(tx, backend, select, &[code], &who).await? {
                let k = (
                    r.try_get("citizen_id")?,
                    code.to_string(),
                    r.try_get("deed_date")?,
                );
                let v: (i64, String) = (r.try_get("created_at")?, r.try_get("id")?);
                match earlier.get(&k) {
                    Some(e) if e.0 <= v.0 => {}
                    _ => {
                        earlier.insert(k, v);
                    }
                }
            }
        }
        Ok(earlier)
    }

    /// The submitting partners' names, as their residents' access logs show them.
    async fn partner_names(
        &self,
        tx: &mut AnyConnection,
        group: &[Ready<'_>],
    ) -> Result<HashMap<String, String>> {
        let mut names = HashMap::new();
        for g in group {
            let id = &g.p.who.reporter_id;
            if !names.contains_key(id) {
                let name: String = sqlx::query("SELECT name FROM partners WHERE id = $1")
                    .bind(id)
                    .fetch_one(&mut *tx)
                    .await?
                    .try_get("name")?;
                names.insert(id.clone(), name);
            }
        }
        Ok(names)
    }
}

/// The group's residents under each key `key` gives a row (rows without one left out), sorted
/// and each once: the `IN` list of one key's look-up.
fn residents_by<'a, K: Eq + std::hash::Hash>(
    group: &'a [Ready<'_>],
    key: impl Fn(&'a Ready<'_>) -> Option<K>,
) -> HashMap<K, Vec<&'a str>> {
    let mut by: HashMap<K, Vec<&'a str>> = HashMap::new();
    for g in group {
        if let Some(k) = key(g) {
            by.entry(k).or_default().push(g.new.citizen_id.as_str());
        }
    }
    for who in by.values_mut() {
        who.sort_unstable();
        who.dedup();
    }
    by
}

/// The rows `select` reads for `ids`, [`LOOKUP_ROWS`] a statement: `select` writes `{ids}`
/// where the `IN` list goes, its parameters numbered after the `leading` values, bound first.
async fn rows_in(
    conn: &mut AnyConnection,
    backend: Backend,
    select: &str,
    leading: &[&str],
    ids: &[&str],
) -> Result<Vec<AnyRow>> {
    let mut rows = Vec::new();
    for chunk in ids.chunks(LOOKUP_ROWS) {
        let list = in_list(leading.len() + 1, chunk.len());
        let sql = positional(backend, select.replace("{ids}", &list));
        let mut q = sqlx::query(&sql).persistent(false);
        for v in leading.iter().chain(chunk) {
            q = q.bind(*v);
        }
        rows.extend(q.fetch_all(&mut *conn).await?);
    }
    Ok(rows)
}
