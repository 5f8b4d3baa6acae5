//! Deciding a group of automatic submissions in file order, from what was read for them.

use super::insert::Value;
use super::{refused, Ready, RowOutcome};
use crate::evaluation::deeds::report::Written;
use crate::evaluation::Rules;
use crate::StoreError;
use domain::deed::{self, DeedStatus};
use domain::IdempotencyKey;
use std::collections::HashMap;

/// A row's cap and the window its deed date falls in, when its standard has a cap.
pub(super) fn capped(g: &Ready<'_>) -> Option<(i64, String)> {
    let s = &g.p.c.standard;
    match (s.cap_points, deed::cap_window(&s.cap_period, &g.p.c.date)) {
        (Some(cap), Some(window)) => Some((cap, window.to_string())),
        _ => None,
    }
}

/// What a group's decisions read (see `look_up`).
pub(super) struct Known {
    /// Keys used before: their deed, its request hash and status.
    pub(super) prior: HashMap<String, (String, Vec<u8>, String)>,
    /// Points so far per (resident, standard, cap window).
    pub(super) used: HashMap<(String, String, String), i64>,
    /// The first deed per (resident, standard, day): its creation time and id.
    pub(super) earlier: HashMap<(String, String, String), (i64, String)>,
    /// Partners' names by id.
    pub(super) names: HashMap<String, String>,
}

/// The rows a group writes, table by table: each row's own values (the columns every row of
/// the group shares are `write_rows`' constants).
pub(super) struct Rows {
    pub(super) deeds: Vec<Vec<Value>>,
    /// Each deed's submission event (and a duplicate's flag).
    pub(super) events: Vec<Vec<Value>>,
    /// Each deed's going to publicity.
    pub(super) publicity: Vec<Vec<Value>>,
    pub(super) notes: Vec<Vec<Value>>,
    pub(super) access: Vec<Vec<Value>>,
    pub(super) publicity_ends_at: i64,
}

/// Decide each row in file order, as the rows before it left things.
#[allow(clippy::too_many_lines)] // one row's decision, read top to bottom as `write_report`'s
pub(super) async fn decide(
    group: Vec<Ready<'_>>,
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
    for (i, g) in group.into_iter().enumerate() {
        super::let_writes_go_on(i).await;
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
