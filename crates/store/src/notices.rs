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
