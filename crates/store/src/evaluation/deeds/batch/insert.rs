//! Writing a decided group: deeds, their events, the residents' notifications and access-log
//! rows, many per statement.

use super::decide::Rows;
use crate::sql::{positional, values_list, Backend};
use crate::Result;
use domain::deed::DeedStatus;
use sqlx::AnyConnection;

/// Parameters per insert statement (bound by position on SQLite).
const INSERT_PARAMS: usize = 960;

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
pub(super) async fn write_rows(
    tx: &mut AnyConnection,
    backend: Backend,
    rows: Rows,
    now: i64,
) -> Result<()> {
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
pub(super) enum Value {
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
