//! Introductions with double opt-in: the enterprise asks for an expert or an achievement
//! matched to its demand; the expert (or the achievement's owner) accepts or declines with a
//! reason code. Only an accepted introduction shows contacts, each showing written to
//! `market_reveals` (and to the expert's own access log when they are a resident) in the
//! transaction that reads them. An expert who has not claimed a profile answers through the
//! office, which records the answer for them.

use super::{log, Market, Party};
use crate::{Result, StoreError};
use domain::market::{
    IntroParty, IntroStatus, IntroStep, DECLINE_REASONS, MESSAGE_CHARS_MAX, OPEN_ASKS_MAX,
};
use serde::Serialize;
use sqlx::Row;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Introduction {
    pub id: String,
    pub demand_id: String,
    pub demand_title: String,
    pub enterprise_id: String,
    pub enterprise_name: String,
    pub target_kind: String,
    pub target_id: String,
    /// The expert's name, or the achievement's title.
    pub target_label: String,
    pub expert_id: Option<String>,
    pub owner_partner_id: Option<String>,
    /// Whether the answering expert has claimed their profile (else the office answers).
    pub expert_claimed: bool,
    pub message: String,
    pub event_id: Option<String>,
    pub status: IntroStatus,
    pub reason: Option<String>,
    pub asked_at: i64,
    pub answered_at: Option<i64>,
}

/// What an accepted introduction shows its two sides.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct Contacts {
    /// The expert answering (to the asker and the office).
    pub expert_name: Option<String>,
    pub expert: Option<super::experts::ExpertContact>,
    /// The achievement's owning organisation (to the asker and the office).
    pub owner: Option<OrganisationContact>,
    /// The asking enterprise (to the answerer and the office).
    pub enterprise: Option<OrganisationContact>,
}

/// An organisation's contact person.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OrganisationContact {
    pub organisation: String,
    pub contact: super::enterprises::EnterpriseContact,
}

const COLS: &str = "i.id, i.demand_id, d.title AS demand_title, i.enterprise_id, e.name AS enterprise_name, \
    i.target_kind, i.target_id, COALESCE(a.title, x.name) AS target_label, i.expert_id, i.owner_partner_id, \
    x.citizen_id AS expert_citizen, i.message, i.event_id, i.status, i.reason, i.asked_at, i.answered_at";
const FROM: &str = "market_introductions i JOIN market_demands d ON d.id = i.demand_id \
    JOIN market_enterprises e ON e.partner_id = i.enterprise_id \
    LEFT JOIN market_achievements a ON i.target_kind = 'achievement' AND a.id = i.target_id \
    LEFT JOIN market_experts x ON x.id = i.expert_id";

fn from_row(r: &sqlx::any::AnyRow) -> Result<Introduction> {
    let status: String = r.try_get("status")?;
    Ok(Introduction {
        id: r.try_get("id")?,
        demand_id: r.try_get("demand_id")?,
        demand_title: r.try_get("demand_title")?,
        enterprise_id: r.try_get("enterprise_id")?,
        enterprise_name: r.try_get("enterprise_name")?,
        target_kind: r.try_get("target_kind")?,
        target_id: r.try_get("target_id")?,
        target_label: r
            .try_get::<Option<String>, _>("target_label")?
            .unwrap_or_default(),
        expert_id: r.try_get("expert_id")?,
        owner_partner_id: r.try_get("owner_partner_id")?,
        expert_claimed: r.try_get::<Option<String>, _>("expert_citizen")?.is_some(),
        message: r.try_get("message")?,
        event_id: r.try_get("event_id")?,
        status: IntroStatus::parse(&status)
            .ok_or_else(|| StoreError::Integrity(format!("introduction status {status}")))?,
        reason: r.try_get("reason")?,
        asked_at: r.try_get("asked_at")?,
        answered_at: r.try_get("answered_at")?,
    })
}

/// An ask as the enterprise sends it.
#[derive(Debug, Clone, Default)]
pub struct Ask {
    pub demand_id: String,
    pub target_kind: String,
    pub target_id: String,
    pub message: String,
    pub event_id: Option<String>,
}

impl Introduction {
    /// Which side `party` is on, if any (the office answers for an unclaimed expert).
    pub fn side(&self, party: &Party, expert_citizen: Option<&str>) -> Option<IntroParty> {
        match party {
            Party::Enterprise { partner_id, .. } if *partner_id == self.enterprise_id => {
                Some(IntroParty::Asker)
            }
            Party::Enterprise { partner_id, .. }
                if self.owner_partner_id.as_deref() == Some(partner_id) =>
            {
                Some(IntroParty::Answerer)
            }
            Party::Expert { citizen_id } if expert_citizen == Some(citizen_id.as_str()) => {
                Some(IntroParty::Answerer)
            }
            Party::Broker { .. } if self.expert_id.is_some() && !self.expert_claimed => {
                Some(IntroParty::Answerer)
            }
            _ => None,
        }
    }
}

impl Market<'_> {
    /// The enterprise asks for an introduction. One ask per demand and match, ever (a
    /// declined one is not asked again); at most [`OPEN_ASKS_MAX`] unanswered at once,
    /// counted under the enterprise's row lock.
    pub async fn ask(&self, party: &Party, ask: &Ask, now: i64) -> Result<Introduction> {
        let Party::Enterprise { partner_id, .. } = party else {
            return Err(StoreError::NotFound { what: "demand" });
        };
        self.verified(partner_id).await?;
        let message = domain::market::text("message", &ask.message, 1, MESSAGE_CHARS_MAX)
            .map_err(|e| StoreError::Invalid(e.into()))?;
        let demand = self
            .demand(&ask.demand_id)
            .await?
            .filter(|d| d.enterprise_id == *partner_id)
            .ok_or(StoreError::NotFound { what: "demand" })?;
        if !demand.status.takes_introductions() {
            return Err(StoreError::conflict(
                "demand",
                "demand_not_open",
                "this demand takes no more introductions",
            ));
        }
        let (expert_id, owner_partner_id) = self
            .answerer_of(&ask.target_kind, &ask.target_id, partner_id)
            .await?;
        if let Some(ev) = &ask.event_id {
            if self.event(ev).await?.is_none() {
                return Err(StoreError::invalid(
                    "event_id",
                    "unknown_event",
                    "no such matchmaking event",
                ));
            }
        }
        let id = domain::new_id();
        let mut tx = self.write.begin().await?;
        sqlx::query("UPDATE market_enterprises SET status = status WHERE partner_id = $1")
            .bind(partner_id)
            .execute(&mut *tx)
            .await?;
        let open: i64 = sqlx::query("SELECT COUNT(*) AS n FROM market_introductions WHERE enterprise_id = $1 AND status = 'asked'")
            .bind(partner_id)
            .fetch_one(&mut *tx)
            .await?
            .try_get("n")?;
        if open >= OPEN_ASKS_MAX {
            return Err(StoreError::conflict(
                "target_id",
                "too_many_open_asks",
                "wait for answers to your open asks before asking more",
            ));
        }
        let inserted = sqlx::query("INSERT INTO market_introductions (id, demand_id, enterprise_id, target_kind, target_id, expert_id, owner_partner_id, message, event_id, status, asked_by, asked_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'asked', $10, $11)")
            .bind(&id)
            .bind(&demand.id)
            .bind(partner_id)
            .bind(&ask.target_kind)
            .bind(&ask.target_id)
            .bind(&expert_id)
            .bind(&owner_partner_id)
            .bind(&message)
            .bind(&ask.event_id)
            .bind(party.actor())
            .bind(now)
            .execute(&mut *tx)
            .await;
        match inserted {
            Err(e) if StoreError::is_unique_violation(&e) => {
                return Err(StoreError::conflict(
                    "target_id",
                    "already_asked",
                    "you have already asked for this introduction",
                ));
            }
            r => r?,
        };
        log(
            &mut tx,
            &id,
            &party.actor(),
            "asked",
            &format!("{}:{}", ask.target_kind, ask.target_id),
            now,
        )
        .await?;
        if let Some(xid) = &expert_id {
            let citizen: Option<String> =
                sqlx::query("SELECT citizen_id FROM market_experts WHERE id = $1")
                    .bind(xid)
                    .fetch_one(&mut *tx)
                    .await?
                    .try_get("citizen_id")?;
            if let Some(c) = citizen {
                crate::notices::notify_citizen(&mut tx, &c, "market_introduction", now).await?;
            }
        }
        tx.commit().await?;
        self.introduction(&id).await?.ok_or(StoreError::NotFound {
            what: "introduction",
        })
    }

    /// Who answers for a target: the expert, or the achievement's owner (its expert or its
    /// organisation). An enterprise never asks for its own achievement; an unavailable
    /// expert takes no asks.
    async fn answerer_of(
        &self,
        kind: &str,
        target_id: &str,
        asker: &str,
    ) -> Result<(Option<String>, Option<String>)> {
        match kind {
            "expert" => {
                let x = self
                    .expert(target_id)
                    .await?
                    .ok_or(StoreError::NotFound { what: "expert" })?;
                if x.availability == "unavailable" {
                    return Err(StoreError::conflict(
                        "target_id",
                        "expert_unavailable",
                        "this expert takes no introductions at present",
                    ));
                }
                Ok((Some(x.id), None))
            }
            "achievement" => {
                let a = self
                    .achievement(target_id)
                    .await?
                    .ok_or(StoreError::NotFound {
                        what: "achievement",
                    })?;
                if a.owner_partner_id.as_deref() == Some(asker) {
                    return Err(StoreError::invalid(
                        "target_id",
                        "own_achievement",
                        "this achievement is your own",
                    ));
                }
                Ok((a.owner_expert_id, a.owner_partner_id))
            }
            _ => Err(StoreError::invalid(
                "target_kind",
                "unknown_choice",
                "must be expert or achievement",
            )),
        }
    }

    pub async fn introduction(&self, id: &str) -> Result<Option<Introduction>> {
        let row = sqlx::query(&format!("SELECT {COLS} FROM {FROM} WHERE i.id = $1"))
            .bind(id)
            .fetch_optional(&self.read)
            .await?;
        row.as_ref().map(from_row).transpose()
    }

    async fn expert_citizen(&self, intro: &Introduction) -> Result<Option<String>> {
        let Some(x) = &intro.expert_id else {
            return Ok(None);
        };
        Ok(
            sqlx::query("SELECT citizen_id FROM market_experts WHERE id = $1")
                .bind(x)
                .fetch_one(&self.read)
                .await?
                .try_get("citizen_id")?,
        )
    }

    /// An introduction `party` is a side of (the office sees all), else `NotFound`.
    pub async fn introduction_for(
        &self,
        id: &str,
        party: &Party,
    ) -> Result<(Introduction, Option<IntroParty>)> {
        let i = self.introduction(id).await?.ok_or(StoreError::NotFound {
            what: "introduction",
        })?;
        let side = i.side(party, self.expert_citizen(&i).await?.as_deref());
        if side.is_none() && !matches!(party, Party::Broker { .. }) {
            return Err(StoreError::NotFound {
                what: "introduction",
            });
        }
        Ok((i, side))
    }

    /// Accept, decline (with a reason code) or withdraw. An acceptance moves the demand to
    /// `matched`; the step and its log line are one transaction.
    pub async fn answer(
        &self,
        id: &str,
        party: &Party,
        step: IntroStep,
        reason: Option<&str>,
        now: i64,
    ) -> Result<Introduction> {
        let (i, side) = self.introduction_for(id, party).await?;
        let side = side.ok_or(StoreError::NotFound {
            what: "introduction",
        })?;
        let reason = match step {
            IntroStep::Decline => Some(
                domain::market::one_of("reason", reason.unwrap_or_default(), &DECLINE_REASONS)
                    .map_err(|e| StoreError::Invalid(e.into()))?,
            ),
            _ => None,
        };
        let to = i.status.step(side, step).map_err(|code| {
            StoreError::conflict(
                "introduction",
                code,
                "this introduction cannot take that step now",
            )
        })?;
        let mut tx = self.write.begin().await?;
        let n = sqlx::query("UPDATE market_introductions SET status = $1, reason = $2, answered_by = $3, answered_at = $4 WHERE id = $5 AND status = 'asked'")
            .bind(to.as_str())
            .bind(reason)
            .bind(party.actor())
            .bind(now)
            .bind(id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if n == 0 {
            return Err(StoreError::conflict(
                "introduction",
                "already_answered",
                "this introduction was answered meanwhile",
            ));
        }
        if to == IntroStatus::Accepted {
            super::demands::step_demand(
                &mut tx,
                &i.demand_id,
                domain::market::DemandStep::IntroductionAccepted,
                &party.actor(),
                now,
            )
            .await?;
        }
        log(
            &mut tx,
            id,
            &party.actor(),
            to.as_str(),
            reason.unwrap_or_default(),
            now,
        )
        .await?;
        tx.commit().await?;
        self.introduction(id).await?.ok_or(StoreError::NotFound {
            what: "introduction",
        })
    }

    /// The other side's contacts of an accepted introduction: the asker sees the expert's (or
    /// the owning organisation's), the answerer the asking enterprise's, the office both. Each
    /// showing is written to the market's access log (and to the expert's own access log when
    /// they are a resident) in one transaction before anything is returned.
    pub async fn contacts(
        &self,
        id: &str,
        party: &Party,
        viewer_label: &str,
        now: i64,
    ) -> Result<Contacts> {
        let (i, side) = self.introduction_for(id, party).await?;
        let office = matches!(party, Party::Broker { .. });
        if !i.status.reveals_contacts() || (side.is_none() && !office) {
            return Err(StoreError::conflict(
                "introduction",
                "not_accepted",
                "contacts are shown only once the introduction is accepted",
            ));
        }
        let sees_answerer = office || side == Some(IntroParty::Asker);
        let sees_asker = office || side == Some(IntroParty::Answerer);
        let mut out = Contacts::default();
        if sees_asker {
            out.enterprise = Some(self.organisation_contact(&i.enterprise_id).await?);
        }
        let mut expert_citizen = None;
        if sees_answerer {
            if let Some(x) = &i.expert_id {
                let r = sqlx::query("SELECT name, key_id, phone_enc, email_enc, citizen_id FROM market_experts WHERE id = $1")
                    .bind(x)
                    .fetch_one(&self.read)
                    .await?;
                out.expert = Some(self.expert_contact_of(
                    x,
                    &r.try_get::<String, _>("key_id")?,
                    &r.try_get::<Vec<u8>, _>("phone_enc")?,
                    &r.try_get::<Vec<u8>, _>("email_enc")?,
                )?);
                out.expert_name = Some(r.try_get("name")?);
                expert_citizen = r.try_get::<Option<String>, _>("citizen_id")?;
            }
            if let Some(owner) = &i.owner_partner_id {
                out.owner = Some(self.organisation_contact(owner).await?);
            }
        }
        let (viewer_kind, viewer_id) = match party {
            Party::Enterprise { staff_id, .. } | Party::Broker { staff_id, .. } => {
                ("staff", staff_id.clone())
            }
            Party::Expert { citizen_id } => ("citizen", citizen_id.clone()),
        };
        let mut tx = self.write.begin().await?;
        let shown = [
            ("expert", out.expert.is_some()),
            (
                "enterprise",
                out.enterprise.is_some() || out.owner.is_some(),
            ),
        ];
        for (whose, _) in shown.iter().filter(|(_, s)| *s) {
            sqlx::query("INSERT INTO market_reveals (id, introduction_id, viewer_kind, viewer_id, viewer_label, whose, at) VALUES ($1, $2, $3, $4, $5, $6, $7)")
                .bind(domain::new_id())
                .bind(id)
                .bind(viewer_kind)
                .bind(&viewer_id)
                .bind(viewer_label)
                .bind(*whose)
                .bind(now)
                .execute(&mut *tx)
                .await?;
        }
        if let Some(c) = expert_citizen.filter(|_| viewer_kind == "staff") {
            let actor = crate::registry::access::Actor {
                kind: "staff",
                id: viewer_id.clone(),
                label: viewer_label.to_string(),
            };
            crate::registry::access::insert_access(
                &mut tx,
                &c,
                &actor,
                "market_contact_shown",
                now,
            )
            .await?;
        }
        tx.commit().await?;
        Ok(out)
    }

    /// A registered organisation's name and contact person, unsealed.
    async fn organisation_contact(&self, partner_id: &str) -> Result<OrganisationContact> {
        let r = sqlx::query("SELECT name, key_id, contact_name_enc, contact_phone_enc FROM market_enterprises WHERE partner_id = $1")
            .bind(partner_id)
            .fetch_one(&self.read)
            .await?;
        Ok(OrganisationContact {
            organisation: r.try_get("name")?,
            contact: self.enterprise_contact_of(
                partner_id,
                &r.try_get::<String, _>("key_id")?,
                &r.try_get::<Vec<u8>, _>("contact_name_enc")?,
                &r.try_get::<Vec<u8>, _>("contact_phone_enc")?,
            )?,
        })
    }

    /// Introductions by who is on them, newest first.
    pub async fn introductions_of(&self, party: &Party) -> Result<Vec<Introduction>> {
        let (filter, bind) = match party {
            Party::Enterprise { partner_id, .. } => (
                "i.enterprise_id = $1 OR i.owner_partner_id = $1",
                Some(partner_id),
            ),
            Party::Expert { citizen_id } => ("x.citizen_id = $1", Some(citizen_id)),
            // The office's queue: asks to experts who have not claimed a profile.
            Party::Broker { .. } => (
                "x.citizen_id IS NULL AND i.expert_id IS NOT NULL AND i.status = 'asked'",
                None,
            ),
        };
        let sql =
            format!("SELECT {COLS} FROM {FROM} WHERE {filter} ORDER BY i.asked_at DESC LIMIT 200");
        let mut q = sqlx::query(&sql);
        if let Some(b) = bind {
            q = q.bind(b);
        }
        let rows = q.fetch_all(&self.read).await?;
        rows.iter().map(from_row).collect()
    }

    /// A demand's introductions, newest first.
    pub async fn introductions_for_demand(&self, demand_id: &str) -> Result<Vec<Introduction>> {
        let rows = sqlx::query(&format!(
            "SELECT {COLS} FROM {FROM} WHERE i.demand_id = $1 ORDER BY i.asked_at DESC"
        ))
        .bind(demand_id)
        .fetch_all(&self.read)
        .await?;
        rows.iter().map(from_row).collect()
    }

    /// Whether `party` answered an accepted introduction on this demand (they may read its
    /// detail).
    pub(crate) async fn accepted_answerer(&self, demand_id: &str, party: &Party) -> Result<bool> {
        let (filter, bind) = match party {
            Party::Enterprise { partner_id, .. } => ("i.owner_partner_id = $2", partner_id.clone()),
            Party::Expert { citizen_id } => ("x.citizen_id = $2", citizen_id.clone()),
            Party::Broker { .. } => return Ok(true),
        };
        let row = sqlx::query(&format!("SELECT 1 AS y FROM market_introductions i LEFT JOIN market_experts x ON x.id = i.expert_id WHERE i.demand_id = $1 AND i.status = 'accepted' AND {filter}"))
            .bind(demand_id)
            .bind(bind)
            .fetch_optional(&self.read)
            .await?;
        Ok(row.is_some())
    }

    /// The reveals of an introduction (the office's audit).
    pub async fn reveals(&self, id: &str) -> Result<Vec<(i64, String, String)>> {
        let rows = sqlx::query("SELECT at, viewer_label, whose FROM market_reveals WHERE introduction_id = $1 ORDER BY at")
            .bind(id)
            .fetch_all(&self.read)
            .await?;
        rows.iter()
            .map(|r| {
                Ok((
                    r.try_get("at")?,
                    r.try_get("viewer_label")?,
                    r.try_get("whose")?,
                ))
            })
            .collect()
    }
}
