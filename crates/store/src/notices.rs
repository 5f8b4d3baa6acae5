//! Notices to a resident of something that happened to their record outside a deed's life (a
//! points reversal, a green card issued or revoked): a row of their inbox (the evaluation's
//! `notifications` table, which the inbox reads), written in the caller's transaction. Its own
//! module, depending on no room, so that the rooms that tell (ledger, code) need not depend on
//! evaluation.

/// Tell `citizen_id` of `kind` (the inbox shows it as `notice.<kind>`), in the caller's
/// transaction.
pub(crate) async fn notify_citizen(
    tx: &mut sqlx::AnyConnection,
    citizen_id: &str,
    kind: &str,
    at: i64,
) -> crate::Result<()> {
    sqlx::query(
        "INSERT INTO notifications (id, recipient_kind, recipient_id, deed_id, kind, at) VALUES ($1, 'citizen', $2, NULL, $3, $4)",
    )
    .bind(domain::new_id())
    .bind(citizen_id)
    .bind(kind)
    .bind(at)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// [`notify_citizen`] for several residents at once, in one statement.
pub(crate) async fn notify_citizens(
    tx: &mut sqlx::AnyConnection,
    citizen_ids: &[String],
    kind: &str,
    at: i64,
) -> crate::Result<()> {
    if citizen_ids.is_empty() {
        return Ok(());
    }
    // (id, 'citizen', resident, NULL, kind, at): four parameters a row.
    let values: Vec<String> = (0..citizen_ids.len())
        .map(|r| {
            let b = r * 4;
            format!(
                "(${}, 'citizen', ${}, NULL, ${}, ${})",
                b + 1,
                b + 2,
                b + 3,
                b + 4
            )
        })
        .collect();
    let sql = format!(
        "INSERT INTO notifications (id, recipient_kind, recipient_id, deed_id, kind, at) VALUES {}",
        values.join(", ")
    );
    let mut q = sqlx::query(&sql);
    for c in citizen_ids {
        q = q.bind(domain::new_id()).bind(c).bind(kind).bind(at);
    }
    q.execute(&mut *tx).await?;
    Ok(())
}
