//! A file's partner submissions at once (city data imports), inside the import's transaction.
//!
//! Each row meets exactly the checks of one submission: [`report::prepare`] (fields, resident,
//! standard, trust, points) and then, in file order, what `write_report` decides (a retried key
//! is the deed it made, the same key for another deed a conflict, an automatic submission within
//! its standard's cap, a deed of the same person, category and day flagged as a duplicate). What
//! differs is only how the rows are read and written: residents, standards, keys, the caps'
//! points so far and earlier deeds are read for many rows per statement, and deeds, their
//! events, the residents' notifications and access-log rows are written many per statement. A
//! row the committee must decide (a standard that does not take partners' submissions
//! automatically) is written on its own by `write_report`, in its place in the file.

use super::report::{self, Prepared, Written};
use super::{lock_resident, refused, NewDeed, Rules};
use crate::evaluation::{Evaluation, Standard};
use crate::registry::CitizenSummary;
use crate::sql::{in_list, positional, values_list, Backend};
use crate::{Result, StoreError};
use domain::deed::{self, DeedStatus};
use domain::IdempotencyKey;
use sqlx::{AnyConnection, Row};
use std::collections::HashMap;

/// Rows per look-up statement (ids in an `IN` list). Look-ups are not kept as prepared
/// statements (`persistent(false)`): PostgreSQL would soon plan them once for every list, from
/// statistics taken before the file's own rows were written in this transaction, and scan the
/// whole table for each chunk (measured: 1.7 s a look-up, growing, at 200,000 rows).
const LOOKUP_ROWS: usize = 500;
/// Parameters per insert statement (bound by position on SQLite).
const INSERT_PARAMS: usize = 960;

/// What one row came to: the deed (new, or the one its key made before) and its status, or
/// why it was refused.
pub(crate) type RowOutcome = std::result::Result<(Written, String), StoreError>;

/// A row that passed its checks and goes to publicity with the others.
struct Automatic<'a> {
    at: usize,
    new: &'a NewDeed,
    p: Prepared,
}

impl Evaluation<'_> {
    /// Submit `rows` (partner submissions) in the caller's transaction, their residents'
    /// summaries by id in `citizens` (looked up by the caller; a resident absent from it is
    /// refused as unknown); one outcome per row, in order. A failure of the database itself is
    /// the error of the whole batch.
    pub(crate) async fn report_batch(
        &self,
        tx: &mut AnyConnection,
        rows: &[NewDeed],
        citizens: &HashMap<String, CitizenSummary>,
        rules: &Rules,
        now: i64,
    ) -> Result<Vec<RowOutcome>> {
        let mut standards: HashMap<&str, Option<Standard>> = HashMap::new();
        for r in rows {
            if !standards.contains_key(r.standard_code.as_str()) {
                standards.insert(
                    &r.standard_code,
                    self.standard_current(&r.standard_code).await?,
                );
            }
        }
        let mut trusts: HashMap<(String, String), bool> = HashMap::new();
        let mut outcomes: Vec<Option<RowOutcome>> = (0..rows.len()).map(|_| None).collect();
        let mut group: Vec<Automatic<'_>> = Vec::new();
        for (at, new) in rows.iter().enumerate() {
            let standard = standards.get(new.standard_code.as_str()).cloned().flatten();
            let trusted = match (&new.reporter, &standard) {
                (super::Reporter::Partner { partner_id, .. }, Some(s))
                    if s.awarder == "partner" =>
                {
                    let k = (s.id.clone(), partner_id.clone());
                    match trusts.get(&k) {
                        Some(t) => *t,
                        None => {
                            let t = self.standard_trusts(&s.id, partner_id).await?;
                            trusts.insert(k, t);
                            t
                        }
                    }
                }
                _ => false,
            };
            let citizen = citizens.get(new.citizen_id.as_str()).cloned();
            match report::prepare(new, citizen, standard, trusted, 1, now) {
                Err(e) => outcomes[at] = Some(Err(e)),
                Ok(p) if p.automatic && p.points.is_some() => group.push(Automatic { at, new, p }),
                Ok(p) => {
                    // The committee's deeds keep their place: what came before is written first.
                    self.write_automatic(tx, std::mem::take(&mut group), &mut outcomes, now, rules)
                        .await?;
                    outcomes[at] = Some(self.write_one(tx, new, &p, rules, now).await?);
                }
            }
        }
        self.write_automatic(tx, group, &mut outcomes, now, rules)
            .await?;
        Ok(outcomes
            .into_iter()
            .map(|o| o.unwrap_or_else(|| Err(StoreError::Config("a row was not decided".into()))))
            .collect())
    }

    /// One row through `write_report`, in a savepoint so that a refusal leaves nothing.
    async fn write_one(
        &self,
        tx: &mut AnyConnection,
        new: &NewDeed,
        p: &Prepared,
        rules: &Rules,
        now: i64,
    ) -> Result<RowOutcome> {
        use sqlx::Connection;
        let mut sp = tx.begin().await?;
        match self.write_report(&mut sp, new, p, rules, now).await {
            Ok(w) => {
                let id = match &w {
                    Written::New(id) | Written::Replay(id) => id.clone(),
                };
                let status: String = sqlx::query("SELECT status FROM deeds WHERE id = $1")
                    .bind(&id)
                    .fetch_one(&mut *sp)
                    .await?
                    .try_get("status")?;
                sp.commit().await?;
                Ok(Ok((w, status)))
            }
            Err(
                e
                @ (StoreError::Invalid(_) | StoreError::Conflict(_) | StoreError::NotFound { .. }),
            ) => {
                sp.rollback().await?;
                Ok(Err(e))
            }
            Err(StoreError::Database(d)) if StoreError::is_unique_violation(&d) => {
                sp.rollback().await?;
                Ok(Err(StoreError::Database(d)))
            }
            Err(e) => Err(e),
        }
    }

    /// Automatic submissions, in file order, as `write_report` would write them one by one.
    async fn write_automatic(
        &self,
        tx: &mut AnyConnection,
        group: Vec<Automatic<'_>>,
        outcomes: &mut [Option<RowOutcome>],
        now: i64,
        rules: &Rules,
    ) -> Result<()> {
        if group.is_empty() {
            return Ok(());
        }
        let known = self.look_up(tx, &group).await?;
        let rows = decide(group, known, outcomes, now, rules);
        write_rows(tx, self.backend, rows, now).await
    }

    /// What the group's rows depend on: keys used before, the residents' cap windows so far
    /// (their rows taken first, as `lock_resident`, in one order for every writer), earlier
    /// deeds of the same person, category and day, the partners' names.
    async fn look_up(&self, tx: &mut AnyConnection, group: &[Automatic<'_>]) -> Result<Known> {
        let prior = self.keys_used(tx, group).await?;
        let used = self.caps_so_far(tx, group, &prior).await?;
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
        group: &[Automatic<'_>],
    ) -> Result<HashMap<String, (String, Vec<u8>, String)>> {
        let backend = self.backend;
        let keys: Vec<String> = group
            .iter()
            .filter_map(|g| g.p.who.idem_key.clone())
            .collect();
        let mut prior: HashMap<String, (String, Vec<u8>, String)> = HashMap::new();
        for chunk in keys.chunks(LOOKUP_ROWS) {
            let sql = positional(
                backend,
                format!(
                    "SELECT idem_key, id, request_hash, status FROM deeds WHERE idem_key IN ({})",
                    in_list(1, chunk.len())
                ),
            );
            let mut q = sqlx::query(&sql).persistent(false);
            for k in chunk {
                q = q.bind(k.as_str());
            }
            for r in q.fetch_all(&mut *tx).await? {
                prior.insert(
                    r.try_get("idem_key")?,
                    (
                        r.try_get("id")?,
                        r.try_get("request_hash")?,
                        r.try_get("status")?,
                    ),
                );
            }
        }
        Ok(prior)
    }

    /// The points of each capped row's resident, standard and window so far, the residents'
    /// rows taken first (as `lock_resident`), in one order for every writer.
    async fn caps_so_far(
        &self,
        tx: &mut AnyConnection,
        group: &[Automatic<'_>],
        prior: &HashMap<String, (String, Vec<u8>, String)>,
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
            Backend::Postgres => {
                for chunk in residents.chunks(LOOKUP_ROWS) {
                    let sql = format!(
                        "SELECT id FROM citizens WHERE id IN ({}) ORDER BY id FOR UPDATE",
                        in_list(1, chunk.len())
                    );
                    // (PostgreSQL binds `$N` by position already.)
                    let mut q = sqlx::query(&sql).persistent(false);
                    for c in chunk {
                        q = q.bind(*c);
                    }
                    q.fetch_all(&mut *tx).await?;
                }
            }
            // One writer at a time: the first write takes the database.
            Backend::Sqlite => {
                if let Some(c) = residents.first() {
                    lock_resident(tx, c).await?;
                }
            }
        }
        let mut windows: HashMap<(String, String), Vec<&str>> = HashMap::new();
        for g in group {
            if let Some((_, w)) = capped(g) {
                windows
                    .entry((g.p.c.standard.code.clone(), w))
                    .or_default()
                    .push(g.new.citizen_id.as_str());
            }
        }
        let mut used: HashMap<(String, String, String), i64> = HashMap::new();
        for ((code, window), mut who) in windows {
            who.sort_unstable();
            who.dedup();
            for chunk in who.chunks(LOOKUP_ROWS) {
                let sql = positional(
                    backend,
                    format!(
                        "SELECT d.citizen_id, CAST(COALESCE(SUM(d.points), 0) AS BIGINT) AS used FROM deeds d \
                         JOIN standards s ON s.id = d.standard_id WHERE s.code = $1 AND d.deed_date LIKE $2 \
                         AND d.status IN ('publicity', 'paused', 'credited') AND d.citizen_id IN ({}) GROUP BY d.citizen_id",
                        in_list(3, chunk.len())
                    ),
                );
                let mut q = sqlx::query(&sql)
                    .persistent(false)
                    .bind(code.as_str())
                    .bind(format!("{window}%"));
                for c in chunk {
                    q = q.bind(*c);
                }
                for r in q.fetch_all(&mut *tx).await? {
                    used.insert(
                        (r.try_get("citizen_id")?, code.clone(), window.clone()),
                        r.try_get("used")?,
                    );
                }
            }
        }
        Ok(used)
    }

    /// The first deed of each row's resident, standard and day (not rejected or closed).
    async fn earlier_deeds(
        &self,
        tx: &mut AnyConnection,
        group: &[Automatic<'_>],
    ) -> Result<HashMap<(String, String, String), (i64, String)>> {
        let backend = self.backend;
        let mut by_code: HashMap<&str, Vec<&str>> = HashMap::new();
        for g in group {
            by_code
                .entry(g.p.c.standard.code.as_str())
                .or_default()
                .push(g.new.citizen_id.as_str());
        }
        let mut earlier: HashMap<(String, String, String), (i64, String)> = HashMap::new();
        for (code, mut who) in by_code {
            who.sort_unstable();
            who.dedup();
            for chunk in who.chunks(LOOKUP_ROWS) {
                let sql = positional(
                    backend,
                    format!(
                        "SELECT d.id, d.citizen_id, d.deed_date, d.created_at FROM deeds d JOIN standards s ON s.id = d.standard_id \
                         WHERE s.code = $1 AND d.status NOT IN ('rejected', 'closed') AND d.citizen_id IN ({})",
                        in_list(2, chunk.len())
                    ),
                );
                let mut q = sqlx::query(&sql).persistent(false).bind(code);
                for c in chunk {
                    q = q.bind(*c);
                }
                for r in q.fetch_all(&mut *tx).await? {
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
        }
        Ok(earlier)
    }

    /// The submitting partners' names, as their residents' access logs show them.
    async fn partner_names(
        &self,
        tx: &mut AnyConnection,
        group: &[Automatic<'_>],
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

/// A row's cap and the window its deed date falls in, when its standard has a cap.
fn capped(g: &Automatic<'_>) -> Option<(i64, String)> {
    let s = &g.p.c.standard;
    match (s.cap_points, deed::cap_window(&s.cap_period, &g.p.c.date)) {
        (Some(cap), Some(window)) => Some((cap, window.to_string())),
        _ => None,
    }
}

/// What a group's decisions read (see `look_up`).
struct Known {
    /// Keys used before: their deed, its request hash and status.
    prior: HashMap<String, (String, Vec<u8>, String)>,
    /// Points so far per (resident, standard, cap window).
    used: HashMap<(String, String, String), i64>,
    /// The first deed per (resident, standard, day): its creation time and id.
    earlier: HashMap<(String, String, String), (i64, String)>,
    /// Partners' names by id.
    names: HashMap<String, String>,
}

/// The rows a group writes, table by table: each row's own values (the columns every row of
/// the group shares are `write_rows`' constants).
struct Rows {
    deeds: Vec<Vec<Value>>,
    /// Each deed's submission event (and a duplicate's flag).
    events: Vec<Vec<Value>>,
    /// Each deed's going to publicity.
    publicity: Vec<Vec<Value>>,
    notes: Vec<Vec<Value>>,
    access: Vec<Vec<Value>>,
    publicity_ends_at: i64,
}

/// Decide each row in file order, as the rows before it left things.
#[allow(clippy::too_many_lines)] // one row's decision, read top to bottom as `write_report`'s
fn decide(
    group: Vec<Automatic<'_>>,
    known: Known,
    outcomes: &mut [Option<RowOutcome>],
    now: i64,
    rules: &Rules,
) -> Rows {
    let Known {
        prior,
        mut used,
        mut earlier,
        names: partner_names,
    } = known;
    let mut deeds: Vec<Vec<Value>> = Vec::new();
    let mut events: Vec<Vec<Value>> = Vec::new();
    let mut publicity: Vec<Vec<Value>> = Vec::new();
    let mut notes: Vec<Vec<Value>> = Vec::new();
    let mut access: Vec<Vec<Value>> = Vec::new();
    for g in group {
        let (p, new) = (&g.p, g.new);
        let key = p.who.idem_key.clone();
        if let Some((id, hash, status)) = key.as_ref().and_then(|k| prior.get(k)) {
            outcomes[g.at] = Some(if hash.as_slice() == p.hash.as_slice() {
                Ok((Written::Replay(id.clone()), status.clone()))
            } else {
                Err(refused(
                    "Idempotency-Key",
                    "idempotency_conflict",
                    format!(
                        "key '{}' was already used for another deed ({id})",
                        IdempotencyKey::unscoped(key.as_deref().unwrap_or_default())
                    ),
                ))
            });
            continue;
        }
        let points = p.points.unwrap_or(0);
        let s = &p.c.standard;
        let cap_key = capped(&g).map(|(cap, w)| (cap, (new.citizen_id.clone(), s.code.clone(), w)));
        if let Some((cap, k)) = &cap_key {
            let so_far = used.get(k).copied().unwrap_or(0);
            if let Err(e) = deed::check_cap(*cap, &s.cap_period, so_far, points) {
                outcomes[g.at] = Some(Err(StoreError::Conflict(e)));
                continue;
            }
        }
        if let Some((_, k)) = cap_key {
            *used.entry(k).or_insert(0) += points;
        }
        let id = domain::new_id();
        let same = (new.citizen_id.clone(), s.code.clone(), p.c.date.clone());
        let duplicate_of = earlier.get(&same).map(|e| e.1.clone());
        earlier.entry(same).or_insert((now, id.clone()));
        // (Columns the same for every row of the group are written once: see `write_rows`.)
        deeds.push(vec![
            Value::S(id.clone()),
            Value::S(new.citizen_id.clone()),
            Value::S(p.c.citizen.village_id.clone()),
            Value::S(p.c.citizen.household_id.clone()),
            Value::S(p.who.source.as_str().into()),
            Value::S(p.who.reporter_id.clone()),
            Value::O(key.clone()),
            Value::B(p.hash.to_vec()),
            Value::S(s.id.clone()),
            Value::S(p.c.date.clone()),
            Value::S(p.c.place.clone()),
            Value::S(p.c.description.clone()),
            Value::I(Some(points)),
            Value::O(duplicate_of.clone()),
        ]);
        let event = |action: &str, actor: (&str, &str), detail: &str| {
            vec![
                Value::S(domain::new_id()),
                Value::S(id.clone()),
                Value::S(actor.0.into()),
                Value::S(actor.1.into()),
                Value::S(action.into()),
                Value::S(detail.into()),
            ]
        };
        events.push(event(
            p.who.source.as_str(),
            ("partner", &p.who.reporter_id),
            &s.rule(),
        ));
        if let Some(d) = &duplicate_of {
            events.push(event("flagged_duplicate", ("system", "evaluation"), d));
        }
        publicity.push(vec![Value::S(domain::new_id()), Value::S(id.clone())]);
        notes.push(vec![
            Value::S(domain::new_id()),
            Value::S(new.citizen_id.clone()),
            Value::S(id.clone()),
        ]);
        access.push(vec![
            Value::S(domain::new_id()),
            Value::S(new.citizen_id.clone()),
            Value::S(p.who.reporter_id.clone()),
            Value::S(
                partner_names
                    .get(&p.who.reporter_id)
                    .cloned()
                    .unwrap_or_default(),
            ),
        ]);
        outcomes[g.at] = Some(Ok((
            Written::New(id),
            DeedStatus::Publicity.as_str().into(),
        )));
    }
    Rows {
        deeds,
        events,
        publicity,
        notes,
        access,
        publicity_ends_at: now + rules.publicity_ms,
    }
}

/// The columns of a deed each row gives (see `decide`).
const DEED_COLUMNS: [&str; 14] = [
    "id",
    "citizen_id",
    "village_id",
    "household_id",
    "source",
    "reporter_id",
    "idem_key",
    "request_hash",
    "standard_id",
    "deed_date",
    "place",
    "description",
    "points",
    "duplicate_of",
];

/// Write a group's rows, table by table, as few statements as the parameter limit allows.
async fn write_rows(tx: &mut AnyConnection, backend: Backend, rows: Rows, now: i64) -> Result<()> {
    let Rows {
        deeds,
        events,
        publicity,
        notes,
        access,
        publicity_ends_at,
    } = rows;
    let s = |v: &str| Value::S(v.into());
    let i = |v: i64| Value::I(Some(v));
    insert(
        tx,
        backend,
        "deeds",
        &DEED_COLUMNS,
        // `round` is 1 and `updated_at` is `created_at`, as `insert_deed` writes them.
        &[
            ("status", s(DeedStatus::Publicity.as_str())),
            ("decided_at", i(now)),
            ("publicity_ends_at", i(publicity_ends_at)),
            ("created_at", i(now)),
            ("round", i(1)),
            ("updated_at", i(now)),
        ],
        &deeds,
    )
    .await?;
    let event_columns = [
        "id",
        "deed_id",
        "actor_kind",
        "actor_id",
        "action",
        "detail",
    ];
    insert(
        tx,
        backend,
        "deed_events",
        &event_columns,
        &[("at", i(now))],
        &events,
    )
    .await?;
    insert(
        tx,
        backend,
        "deed_events",
        &["id", "deed_id"],
        &[
            ("at", i(now)),
            ("actor_kind", s("system")),
            ("actor_id", s("evaluation")),
            ("action", s("publicity")),
            ("detail", s("automatic partner submission")),
        ],
        &publicity,
    )
    .await?;
    insert(
        tx,
        backend,
        "notifications",
        &["id", "recipient_id", "deed_id"],
        &[
            ("recipient_kind", s("citizen")),
            ("kind", s("deed_publicity")),
            ("at", i(now)),
        ],
        &notes,
    )
    .await?;
    insert(
        tx,
        backend,
        "access_log",
        &["id", "citizen_id", "actor_id", "actor_label"],
        &[
            ("actor_kind", s("partner")),
            ("action", s("deed_submitted")),
            ("at", i(now)),
        ],
        &access,
    )
    .await?;
    Ok(())
}

/// A value bound into a batch insert.
enum Value {
    S(String),
    O(Option<String>),
    I(Option<i64>),
    B(Vec<u8>),
}

impl Value {
    fn bind<'q>(
        &'q self,
        q: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>,
    ) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>> {
        match self {
            Value::S(s) => q.bind(s.as_str()),
            Value::O(s) => q.bind(s.as_deref()),
            Value::I(i) => q.bind(*i),
            Value::B(b) => q.bind(b.as_slice()),
        }
    }
}

/// Insert `rows` (the values of `columns`) into `table`, each with the values of `fixed`
/// (bound once per statement, not once per row), as few statements as the parameter limit
/// allows: `WITH v(columns) AS (VALUES (…), (…)) INSERT INTO table (columns, fixed) SELECT
/// columns, $… FROM v`, which SQLite and PostgreSQL read alike. The next statement's values
/// are bound while the database runs this one (binding is this task's work, running the
/// database's).
async fn insert(
    tx: &mut AnyConnection,
    backend: Backend,
    table: &str,
    columns: &[&str],
    fixed: &[(&str, Value)],
    rows: &[Vec<Value>],
) -> Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    let names = columns.join(", ");
    let fixed_names: String = fixed.iter().map(|(c, _)| format!(", {c}")).collect();
    let per_statement = (INSERT_PARAMS.saturating_sub(fixed.len()) / columns.len()).max(1);
    // Every statement but the last has `per_statement` rows: at most two texts.
    let sql_for = |n: usize| {
        let values = n * columns.len();
        let fixed_params: String = (0..fixed.len())
            .map(|k| format!(", ${}", values + k + 1))
            .collect();
        positional(
            backend,
            format!(
                "WITH v({names}) AS (VALUES {}) INSERT INTO {table} ({names}{fixed_names}) SELECT {names}{fixed_params} FROM v",
                values_list(columns.len(), n)
            ),
        )
    };
    let full = sql_for(per_statement.min(rows.len()));
    let last = match rows.len() % per_statement {
        0 => None,
        n if rows.len() > per_statement => Some(sql_for(n)),
        _ => None,
    };
    let bound = |chunk| {
        let sql = match &last {
            Some(l) if <[Vec<Value>]>::len(chunk) < per_statement => l.as_str(),
            _ => full.as_str(),
        };
        statement(sql, chunk, fixed)
    };
    let mut chunks = rows.chunks(per_statement);
    let mut next = chunks.next().map(&bound);
    while let Some(q) = next.take() {
        // `join!` polls the statement first: it is sent to the database before the next one
        // is bound.
        let (done, following) =
            tokio::join!(q.execute(&mut *tx), async { chunks.next().map(&bound) });
        done?;
        next = following;
    }
    Ok(())
}

/// `sql` with the values of `chunk`'s rows and then of `fixed`.
fn statement<'q>(
    sql: &'q str,
    chunk: &'q [Vec<Value>],
    fixed: &'q [(&str, Value)],
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>> {
    let mut q = sqlx::query(sql);
    for r in chunk {
        for v in r {
            q = v.bind(q);
        }
    }
    for (_, v) in fixed {
        q = v.bind(q);
    }
    q
}
