//! Committee members' links to their own resident records: recusal needs to know each member's
//! household, and a village committee has one chair with the casting vote.

use crate::evaluation::Evaluation;
use crate::{Result, StoreError};
use serde::Serialize;
use sqlx::Row;

impl Evaluation<'_> {
    /// Link a committee member's staff account to their own resident record (committee members
    /// are villagers), so recusal can tell their household, and mark the village committee's
    /// chair. The resident must live in the member's village (an evaluator) or town (a town
    /// reviewer) and be linked to no other account; a village has one chair, so marking a chair
    /// takes the mark from any other member of that committee. `None` unlinks (and unmarks).
    pub async fn link_staff_citizen(
        &self,
        staff_id: &str,
        citizen_id: Option<&str>,
        is_chair: bool,
    ) -> Result<StaffLink> {
        let mut tx = self.write.begin().await?;
        let row = sqlx::query("SELECT role, region_id FROM staff WHERE id = $1")
            .bind(staff_id)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or(StoreError::NotFound { what: "staff" })?;
        let role: String = row.try_get("role")?;
        let region: Option<String> = row.try_get("region_id")?;
        let committee = match role.as_str() {
            "evaluator" | "town_reviewer" => region.unwrap_or_default(),
            _ => {
                return Err(StoreError::invalid(
                    "staff",
                    "not_a_committee_member",
                    "only evaluators and town reviewers are linked to a resident record",
                ))
            }
        };
        if is_chair && (role != "evaluator" || citizen_id.is_none()) {
            return Err(StoreError::invalid(
                "chair",
                "not_allowed",
                "the chair is a linked member of a village committee",
            ));
        }
        if let Some(c) = citizen_id {
            let place = sqlx::query(
                "SELECT c.village_id, v.parent_id AS town_id FROM citizens c JOIN regions v ON v.id = c.village_id WHERE c.id = $1",
            )
            .bind(c)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or_else(|| {
                StoreError::invalid("resident_id", "not_enrolled", "no enrolled resident has this id")
            })?;
            let village: String = place.try_get("village_id")?;
            let town: Option<String> = place.try_get("town_id")?;
            let home = if role == "evaluator" {
                Some(village)
            } else {
                town
            };
            if home.as_deref() != Some(committee.as_str()) {
                return Err(StoreError::invalid(
                    "resident_id",
                    "outside_committee",
                    if role == "evaluator" {
                        "the resident does not live in the member's village"
                    } else {
                        "the resident does not live in the member's town"
                    },
                ));
            }
            let taken = sqlx::query("SELECT id FROM staff WHERE citizen_id = $1 AND id <> $2")
                .bind(c)
                .bind(staff_id)
                .fetch_optional(&mut *tx)
                .await?;
            if taken.is_some() {
                return Err(StoreError::conflict(
                    "resident_id",
                    "already_linked",
                    "this resident is linked to another staff account",
                ));
            }
        }
        if is_chair {
            sqlx::query(
                "UPDATE staff SET is_chair = 0 WHERE role = 'evaluator' AND region_id = $1 AND id <> $2 AND is_chair = 1",
            )
            .bind(&committee)
            .bind(staff_id)
            .execute(&mut *tx)
            .await?;
        }
        let res = sqlx::query("UPDATE staff SET citizen_id = $1, is_chair = $2 WHERE id = $3")
            .bind(citizen_id)
            .bind(i64::from(is_chair))
            .bind(staff_id)
            .execute(&mut *tx)
            .await;
        match res {
            // `staff_one_chair`: another chair was marked in this village at the same moment.
            Err(e) if StoreError::is_unique_violation(&e) => {
                return Err(StoreError::conflict(
                    "chair",
                    "edited_meanwhile",
                    "another chair was marked at the same moment; reload and try again",
                ))
            }
            other => other?,
        };
        tx.commit().await?;
        Ok(StaffLink {
            staff_id: staff_id.to_string(),
            citizen_id: citizen_id.map(str::to_string),
            is_chair,
            name_masked: None,
        })
    }

    /// Every committee member's link to their resident record, for the admin's console.
    pub async fn staff_links(&self) -> Result<Vec<StaffLink>> {
        sqlx::query(
            "SELECT s.id, s.citizen_id, s.is_chair, c.name_masked FROM staff s LEFT JOIN citizens c ON c.id = s.citizen_id \
             WHERE s.role IN ('evaluator', 'town_reviewer') ORDER BY s.id",
        )
        .fetch_all(&self.read)
        .await?
        .iter()
        .map(|r| {
            Ok(StaffLink {
                staff_id: r.try_get("id")?,
                citizen_id: r.try_get("citizen_id")?,
                is_chair: r.try_get::<i64, _>("is_chair")? != 0,
                name_masked: r.try_get("name_masked")?,
            })
        })
        .collect()
    }
}

/// A committee member's staff account and the resident it belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StaffLink {
    pub staff_id: String,
    pub citizen_id: Option<String>,
    pub is_chair: bool,
    /// The linked resident's masked name, when read back (`None` if unlinked or withdrawn).
    pub name_masked: Option<String>,
}

/// Whether a village committee can decide: its active members, how many of them are linked to
/// their resident record (only they may vote), the votes that decide, and how many deeds wait
/// for it. A committee with fewer than [`domain::deed::COMMITTEE_MIN`] members, or fewer linked
/// members than its quorum, can decide nothing: its deeds would wait for ever.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CommitteeHealth {
    pub village_id: String,
    pub members: usize,
    pub linked: usize,
    pub quorum: usize,
    pub waiting: i64,
}

impl CommitteeHealth {
    pub fn can_decide(&self) -> bool {
        self.members >= domain::deed::COMMITTEE_MIN && self.linked >= self.quorum
    }
}

impl Evaluation<'_> {
    /// The committees that cannot decide while deeds wait for them (the admin's console warns),
    /// or only `village`'s (the evaluator's queue warns), with `quorum` the configured one.
    pub async fn committees_short(
        &self,
        village: Option<&str>,
        quorum: Option<usize>,
    ) -> Result<Vec<CommitteeHealth>> {
        let mut waiting_sql =
            "SELECT village_id, COUNT(*) AS n FROM deeds WHERE status IN ('review', 'paused')"
                .to_string();
        let mut staff_sql = "SELECT s.region_id AS village_id, COUNT(*) AS members, \
             CAST(COALESCE(SUM(CASE WHEN c.id IS NOT NULL THEN 1 ELSE 0 END), 0) AS BIGINT) AS linked \
             FROM staff s LEFT JOIN citizens c ON c.id = s.citizen_id \
             WHERE s.role = 'evaluator' AND s.active = 1"
            .to_string();
        if village.is_some() {
            waiting_sql.push_str(" AND village_id = $1");
            staff_sql.push_str(" AND s.region_id = $1");
        }
        waiting_sql.push_str(" GROUP BY village_id");
        staff_sql.push_str(" GROUP BY s.region_id");
        let mut waiting = sqlx::query(&waiting_sql);
        let mut staff = sqlx::query(&staff_sql);
        if let Some(v) = village {
            waiting = waiting.bind(v);
            staff = staff.bind(v);
        }
        let mut committees = std::collections::HashMap::new();
        for r in staff.fetch_all(&self.read).await? {
            let id: String = r.try_get("village_id")?;
            let members: i64 = r.try_get("members")?;
            let linked: i64 = r.try_get("linked")?;
            committees.insert(id, (members, linked));
        }
        let mut short = Vec::new();
        for r in waiting.fetch_all(&self.read).await? {
            let village_id: String = r.try_get("village_id")?;
            let (members, linked) = committees.get(&village_id).copied().unwrap_or((0, 0));
            let members = usize::try_from(members).unwrap_or(0);
            let health = CommitteeHealth {
                village_id,
                members,
                linked: usize::try_from(linked).unwrap_or(0),
                quorum: domain::deed::quorum(members, quorum),
                waiting: r.try_get("n")?,
            };
            if !health.can_decide() {
                short.push(health);
            }
        }
        short.sort_by(|a, b| {
            b.waiting
                .cmp(&a.waiting)
                .then(a.village_id.cmp(&b.village_id))
        });
        Ok(short)
    }
}
