//! Volunteer dispatch (志愿服务点派单), the rules: 点单 (a resident's request, or an alliance's
//! activity), 派单 (offers proposed by the [`matcher`]), 接单 (a volunteer accepts or declines),
//! service with two independent proofs of attendance, and 评单 (the requester's rating). A
//! task's and an offer's life are state machines here ([`TaskStatus::step`],
//! [`OfferStatus::step`]): each step only by the party that may take it, each refusal with its
//! reason. Hours earn points by the alliance's trusted standard; a no-show never costs points.

pub mod fairness;
pub mod matcher;
mod service;
#[cfg(test)]
mod tests;

pub use service::{
    attendance_minutes, check_proofs, hours_of, Attendance, Confirmation, ManualHours,
    MANUAL_MINUTES_MAX, SERVICE_GRACE_MS,
};

use crate::{FieldError, FieldErrors};
use serde::Serialize;

/// The alliances' areas, as the seed names them (送理论、送服务, 邻里守望, 疫情防控, 乡村振兴,
/// 文明新风, 美丽余姚, 平安建设); `dispatch.category.<code>` in the pages' words.
pub const CATEGORIES: [&str; 8] = [
    "theory",
    "services",
    "neighbourhood",
    "epidemic",
    "rural",
    "customs",
    "beautiful_city",
    "safety",
];

/// Skills a volunteer may list and a request may want; `dispatch.skill.<code>`.
pub const SKILLS: [&str; 9] = [
    "first-aid",
    "elderly-care",
    "driving",
    "tutoring",
    "repair",
    "medical",
    "counselling",
    "sign-language",
    "publicity",
];

/// Skills that need a certificate with a validity (a request may require one valid at its time).
pub const CERTIFIED_SKILLS: [&str; 3] = ["first-aid", "medical", "counselling"];

/// The volunteer consent's version: joining records the text agreed to.
pub const VOLUNTEER_CONSENT_VERSION: &str = "volunteer-2026-12";

pub const TITLE_CHARS_MAX: usize = 60;
pub const PLACE_CHARS_MAX: usize = 120;
pub const NOTES_CHARS_MAX: usize = 500;
pub const REASON_CHARS_MAX: usize = 300;
pub const PEOPLE_MAX: u32 = 20;
/// A request's or shift's window: at most this long.
pub const WINDOW_MS_MAX: i64 = 12 * crate::time::HOUR_MS;
/// How far ahead a request may be for.
pub const AHEAD_DAYS_MAX: i64 = 90;
/// How long a no-show lowers a volunteer's matching priority.
pub const NO_SHOW_PERIOD_DAYS: i64 = 90;
/// The period whose hours the fairness term compares: a quarter, so a volunteer who served
/// several times this quarter stays behind those who served less until the quarter has passed
/// (over 30 days, most volunteers had served nothing and one service put anyone at the term's
/// cap; `moralbank bench dispatch`: Gini of a quarter's assignments 0.561 over 30 days, 0.509
/// over 90).
pub const FAIRNESS_PERIOD_DAYS: i64 = 90;
/// Default life of an unanswered offer.
pub const OFFER_EXPIRY_MINUTES_DEFAULT: u32 = 240;
/// Requests a resident may have open at once (asked, accepted, dispatched or in service).
pub const OPEN_REQUESTS_MAX: i64 = 5;
/// A rating is 1 to 5 stars.
pub const RATING_MAX: u8 = 5;

/// A task's life. A resident's request: `requested → accepted | rejected`, then `accepted →
/// dispatched → in_service → closed`; an activity starts `accepted`. A task not yet in service
/// may be cancelled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskStatus {
    Requested,
    Rejected,
    Accepted,
    Dispatched,
    InService,
    Closed,
    Cancelled,
}

/// Who takes a step on a task.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Party {
    /// The resident who asked (or the clerk who asked on their behalf).
    Requester,
    /// Staff of the task's alliance.
    Organiser,
    /// A volunteer with an accepted offer on the task.
    Volunteer,
    /// Anyone else.
    Other,
}

/// A step on a task.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskStep {
    Accept,
    Reject,
    Dispatch,
    /// The first check-in (a volunteer's scan or the organiser's).
    Start,
    Close,
    Cancel,
    Rate,
}

/// Why a step was refused: a field error whose code the pages translate (`error.<code>`).
pub type Refusal = FieldError;

fn refusal(code: &'static str, detail: &str) -> Refusal {
    FieldError::new("status", code, detail)
}

impl TaskStatus {
    pub const ALL: [TaskStatus; 7] = [
        TaskStatus::Requested,
        TaskStatus::Rejected,
        TaskStatus::Accepted,
        TaskStatus::Dispatched,
        TaskStatus::InService,
        TaskStatus::Closed,
        TaskStatus::Cancelled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            TaskStatus::Requested => "requested",
            TaskStatus::Rejected => "rejected",
            TaskStatus::Accepted => "accepted",
            TaskStatus::Dispatched => "dispatched",
            TaskStatus::InService => "in_service",
            TaskStatus::Closed => "closed",
            TaskStatus::Cancelled => "cancelled",
        }
    }

    pub fn parse(s: &str) -> Option<TaskStatus> {
        TaskStatus::ALL.into_iter().find(|t| t.as_str() == s)
    }

    /// Still open to volunteers (offers, sign-ups, check-ins).
    pub fn is_open(self) -> bool {
        matches!(
            self,
            TaskStatus::Accepted | TaskStatus::Dispatched | TaskStatus::InService
        )
    }

    /// The status after `step` taken by `by`, or why not. `rated` says whether the requester
    /// has rated already (once only).
    pub fn step(self, step: TaskStep, by: Party, rated: bool) -> Result<TaskStatus, Refusal> {
        use TaskStatus as S;
        use TaskStep as T;
        let who_may = match step {
            T::Accept | T::Reject | T::Dispatch | T::Close => Party::Organiser,
            T::Start => Party::Volunteer,
            T::Rate => Party::Requester,
            T::Cancel => by,
        };
        let allowed_party = match step {
            T::Start => matches!(by, Party::Volunteer | Party::Organiser),
            T::Cancel => matches!(by, Party::Requester | Party::Organiser),
            _ => by == who_may,
        };
        if !allowed_party {
            return Err(FieldError::new(
                "status",
                "dispatch_not_yours",
                "this step on the task is not yours to take",
            ));
        }
        match (self, step) {
            (S::Requested, T::Accept) => Ok(S::Accepted),
            (S::Requested, T::Reject) => Ok(S::Rejected),
            (S::Accepted | S::Dispatched, T::Dispatch) => Ok(S::Dispatched),
            (S::Accepted | S::Dispatched, T::Start) => Ok(S::InService),
            (S::InService, T::Start) => Ok(S::InService),
            (S::Dispatched | S::InService, T::Close) => Ok(S::Closed),
            (S::Requested | S::Accepted | S::Dispatched, T::Cancel) => Ok(S::Cancelled),
            (S::InService | S::Closed, T::Rate) if !rated => Ok(self),
            (S::InService | S::Closed, T::Rate) => Err(refusal(
                "dispatch_already_rated",
                "the request was rated already",
            )),
            (S::Requested, _) => Err(refusal(
                "dispatch_not_reviewed",
                "the alliance has not reviewed the request yet",
            )),
            (S::Rejected | S::Cancelled | S::Closed, _) => Err(refusal(
                "dispatch_task_ended",
                "the task is closed, rejected or cancelled",
            )),
            (_, T::Accept | T::Reject) => Err(refusal(
                "dispatch_already_reviewed",
                "the request was reviewed already",
            )),
            (S::InService, T::Cancel | T::Dispatch) => {
                Err(refusal("dispatch_in_service", "the service has started"))
            }
            (_, T::Rate) => Err(refusal(
                "dispatch_not_served",
                "a request is rated once its service has started",
            )),
            _ => Err(refusal(
                "dispatch_not_dispatched",
                "no volunteer has been sent yet",
            )),
        }
    }
}

/// An offer's life: `offered → accepted | declined | expired | withdrawn`; an activity's
/// sign-up is `accepted` or `waitlisted` (promoted to `accepted` when a place frees);
/// `accepted → cancelled` (by the volunteer, before the start) or `no_show` (by the organiser,
/// after the start without a check-in).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OfferStatus {
    Offered,
    Accepted,
    Declined,
    Expired,
    Withdrawn,
    Waitlisted,
    Cancelled,
    NoShow,
}

/// A step on an offer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OfferStep {
    /// The volunteer says yes (an offer) — or takes a freed place (a waitlisted sign-up).
    Accept,
    /// The volunteer says no: no further messages for this task.
    Decline,
    /// Unanswered past its time (the system).
    Expire,
    /// The organiser takes the offer back.
    Withdraw,
    /// The volunteer withdraws from an accepted place before the start.
    Cancel,
    /// The organiser records that an accepted volunteer did not come.
    NoShow,
}

impl OfferStatus {
    pub const ALL: [OfferStatus; 8] = [
        OfferStatus::Offered,
        OfferStatus::Accepted,
        OfferStatus::Declined,
        OfferStatus::Expired,
        OfferStatus::Withdrawn,
        OfferStatus::Waitlisted,
        OfferStatus::Cancelled,
        OfferStatus::NoShow,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            OfferStatus::Offered => "offered",
            OfferStatus::Accepted => "accepted",
            OfferStatus::Declined => "declined",
            OfferStatus::Expired => "expired",
            OfferStatus::Withdrawn => "withdrawn",
            OfferStatus::Waitlisted => "waitlisted",
            OfferStatus::Cancelled => "cancelled",
            OfferStatus::NoShow => "no_show",
        }
    }

    pub fn parse(s: &str) -> Option<OfferStatus> {
        OfferStatus::ALL.into_iter().find(|t| t.as_str() == s)
    }

    /// The status after `step` by `by`, or why not. `started` says whether the shift has
    /// begun, `checked_in` whether the volunteer checked in.
    pub fn step(
        self,
        step: OfferStep,
        by: Party,
        started: bool,
        checked_in: bool,
    ) -> Result<OfferStatus, Refusal> {
        use OfferStatus as S;
        use OfferStep as T;
        let party_ok = match step {
            T::Accept | T::Decline | T::Cancel => by == Party::Volunteer,
            T::Withdraw | T::NoShow => by == Party::Organiser,
            T::Expire => true,
        };
        if !party_ok {
            return Err(FieldError::new(
                "offer",
                "dispatch_not_yours",
                "this step on the offer is not yours to take",
            ));
        }
        let bad = |code: &'static str, detail: &str| Err(FieldError::new("offer", code, detail));
        match (self, step) {
            (S::Offered | S::Waitlisted, T::Accept) => Ok(S::Accepted),
            (S::Offered | S::Waitlisted, T::Decline) => Ok(S::Declined),
            (S::Offered, T::Expire) => Ok(S::Expired),
            (S::Offered | S::Waitlisted, T::Withdraw) => Ok(S::Withdrawn),
            (S::Accepted, T::Withdraw | T::Cancel) if !started => Ok(if step == T::Cancel {
                S::Cancelled
            } else {
                S::Withdrawn
            }),
            (S::Accepted, T::NoShow) if started && !checked_in => Ok(S::NoShow),
            (S::Accepted, T::NoShow) if checked_in => {
                bad("dispatch_checked_in", "the volunteer checked in")
            }
            (S::Accepted, T::NoShow) => bad("dispatch_not_started", "the shift has not begun"),
            (S::Accepted, _) if started => bad("dispatch_started", "the shift has begun"),
            (S::Accepted, _) => bad("dispatch_offer_answered", "the offer was answered already"),
            (S::Offered, _) => bad("dispatch_offer_open", "the offer has not been answered"),
            _ => bad("dispatch_offer_closed", "the offer is no longer open"),
        }
    }
}

/// A text field's check: trimmed, not empty unless `optional`, at most `max` characters.
pub fn text(
    field: &'static str,
    raw: &str,
    max: usize,
    optional: bool,
) -> Result<String, FieldError> {
    let t = raw.trim();
    if t.is_empty() && !optional {
        return Err(FieldError::new(field, "required", "is required"));
    }
    if t.chars().count() > max {
        return Err(FieldError::new(
            field,
            "too_long",
            format!("at most {max} characters"),
        ));
    }
    if t.chars().any(|c| c.is_control() && c != '\n' && c != '\r') {
        return Err(FieldError::new(
            field,
            "bad_text",
            "contains control characters",
        ));
    }
    Ok(t.to_string())
}

/// A category code from outside.
pub fn category(raw: &str) -> Result<&'static str, FieldError> {
    CATEGORIES
        .into_iter()
        .find(|c| *c == raw.trim())
        .ok_or_else(|| FieldError::new("category", "unknown_category", "not one of the areas"))
}

/// A list of skills (`field` names it), each known, without repeats, in catalogue order.
pub fn skills(field: &'static str, raw: &[String]) -> Result<Vec<String>, FieldError> {
    let mut out = Vec::new();
    for s in raw.iter().map(|s| s.trim()).filter(|s| !s.is_empty()) {
        if !SKILLS.contains(&s) {
            return Err(FieldError::new(
                field,
                "unknown_skill",
                format!("'{s}' is not a skill in the list"),
            ));
        }
        out.push(s.to_string());
    }
    out.sort_by_key(|s| SKILLS.iter().position(|k| k == s));
    out.dedup();
    Ok(out)
}

/// What a request asks for, checked: every field's problem at once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ask {
    pub category: &'static str,
    pub title: String,
    pub place: String,
    pub starts_at: i64,
    pub ends_at: i64,
    pub people: u32,
    pub skills: Vec<String>,
    pub certificates: Vec<String>,
    pub notes: String,
}

/// The raw fields of a request (a form or a JSON body).
#[derive(Debug, Clone, Default)]
pub struct AskInput<'a> {
    pub category: &'a str,
    pub title: &'a str,
    pub place: &'a str,
    /// Unix ms of the window (the page converts its local date and times).
    pub starts_at: Option<i64>,
    pub ends_at: Option<i64>,
    pub people: &'a str,
    pub skills: &'a [String],
    pub certificates: &'a [String],
    pub notes: &'a str,
}

impl Ask {
    /// Check a request made at `now`.
    pub fn parse(i: &AskInput<'_>, now: i64) -> Result<Ask, FieldErrors> {
        let mut e = FieldErrors::default();
        let category = e.take(category(i.category));
        let title = e.take(text("title", i.title, TITLE_CHARS_MAX, false));
        let place = e.take(text("place", i.place, PLACE_CHARS_MAX, false));
        let notes = e.take(text("notes", i.notes, NOTES_CHARS_MAX, true));
        let people = match i.people.trim().parse::<u32>() {
            Ok(n) if (1..=PEOPLE_MAX).contains(&n) => Some(n),
            _ => {
                e.push(FieldError::new(
                    "people",
                    "out_of_range",
                    format!("a whole number from 1 to {PEOPLE_MAX}"),
                ));
                None
            }
        };
        let wanted = e.take(skills("skills", i.skills));
        let certificates = e.take(skills("certificates", i.certificates));
        if let Some(c) = certificates
            .iter()
            .flatten()
            .find(|c| !CERTIFIED_SKILLS.contains(&c.as_str()))
        {
            e.push(FieldError::new(
                "certificates",
                "not_certified",
                format!("'{c}' has no certificate"),
            ));
        }
        let window = e.take(window(i.starts_at, i.ends_at, now));
        e.into_result()?;
        let (Some(category), Some(title), Some(place), Some(notes)) =
            (category, title, place, notes)
        else {
            return Err(FieldErrors::default());
        };
        let (Some(people), Some(skills), Some(certificates), Some((starts_at, ends_at))) =
            (people, wanted, certificates, window)
        else {
            return Err(FieldErrors::default());
        };
        Ok(Ask {
            category,
            title,
            place,
            starts_at,
            ends_at,
            people,
            skills,
            certificates,
            notes,
        })
    }
}

/// A window `[starts, ends)`: both given, in the future (within [`AHEAD_DAYS_MAX`]), ending
/// after it starts, at most [`WINDOW_MS_MAX`] long.
pub fn window(starts: Option<i64>, ends: Option<i64>, now: i64) -> Result<(i64, i64), FieldError> {
    let (Some(s), Some(e)) = (starts, ends) else {
        return Err(FieldError::new(
            "starts_at",
            "required",
            "a date and a start and end time",
        ));
    };
    if s < now {
        return Err(FieldError::new(
            "starts_at",
            "window_in_past",
            "is in the past",
        ));
    }
    if s > now + AHEAD_DAYS_MAX * crate::time::DAY_MS {
        return Err(FieldError::new(
            "starts_at",
            "window_too_far",
            format!("at most {AHEAD_DAYS_MAX} days ahead"),
        ));
    }
    if e <= s {
        return Err(FieldError::new(
            "ends_at",
            "window_before_start",
            "must be after the start",
        ));
    }
    if e - s > WINDOW_MS_MAX {
        return Err(FieldError::new(
            "ends_at",
            "window_too_long",
            "a window is at most 12 hours",
        ));
    }
    Ok((s, e))
}

/// A rating: 1 to 5 stars, and a comment of at most [`REASON_CHARS_MAX`] characters.
pub fn rating(stars: &str, comment: &str) -> Result<(u8, String), FieldErrors> {
    let mut e = FieldErrors::default();
    let s = match stars.trim().parse::<u8>() {
        Ok(n) if (1..=RATING_MAX).contains(&n) => Some(n),
        _ => {
            e.push(FieldError::new("stars", "out_of_range", "1 to 5 stars"));
            None
        }
    };
    let c = e.take(text("comment", comment, REASON_CHARS_MAX, true));
    e.into_result()?;
    match (s, c) {
        (Some(s), Some(c)) => Ok((s, c)),
        _ => Err(FieldErrors::default()),
    }
}
