//! Hours of service and their proofs. Hours need two independent proofs: attendance (the
//! volunteer scanned the alliance's signed site code at check-in and check-out, or the organiser
//! scanned the volunteer's moral code) and a confirmation by someone else (the requester's tap,
//! a clerk recording the requester's phone call or paper slip, or — for an activity without a
//! requester — the organiser's roster, but only when attendance was the volunteer's own scan,
//! so that one person never supplies both). Hours entered by hand need a reason and a second
//! approver, are flagged and capped.

use crate::FieldError;
use serde::Serialize;

/// Attendance counts from this long before the window's start to this long after its end.
pub const SERVICE_GRACE_MS: i64 = 30 * 60 * 1000;
/// Hours entered by hand: at most this many minutes for one service.
pub const MANUAL_MINUTES_MAX: i64 = 240;

/// How attendance was proven.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Attendance {
    /// The volunteer scanned the site code at check-in and at check-out.
    SiteCode,
    /// The organiser scanned the volunteer's moral code.
    OrganiserScan,
    /// Entered by hand with a reason, approved by a second member of staff.
    Manual,
}

/// Who confirmed the service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Confirmation {
    /// The requester's tap in the app.
    Requester,
    /// A clerk recorded the requester's confirmation by phone.
    ClerkPhone,
    /// A clerk recorded the requester's signed paper slip.
    ClerkPaper,
    /// The organiser's roster (activities, which have no requester).
    Roster,
}

impl Attendance {
    pub fn as_str(self) -> &'static str {
        match self {
            Attendance::SiteCode => "site_code",
            Attendance::OrganiserScan => "organiser_scan",
            Attendance::Manual => "manual",
        }
    }

    pub fn parse(s: &str) -> Option<Attendance> {
        [
            Attendance::SiteCode,
            Attendance::OrganiserScan,
            Attendance::Manual,
        ]
        .into_iter()
        .find(|a| a.as_str() == s)
    }
}

impl Confirmation {
    pub fn as_str(self) -> &'static str {
        match self {
            Confirmation::Requester => "requester",
            Confirmation::ClerkPhone => "clerk_phone",
            Confirmation::ClerkPaper => "clerk_paper",
            Confirmation::Roster => "roster",
        }
    }

    pub fn parse(s: &str) -> Option<Confirmation> {
        [
            Confirmation::Requester,
            Confirmation::ClerkPhone,
            Confirmation::ClerkPaper,
            Confirmation::Roster,
        ]
        .into_iter()
        .find(|a| a.as_str() == s)
    }
}

/// Whether an attendance and a confirmation are two independent proofs; `has_requester` says
/// whether the task is a resident's request (an activity has none).
pub fn check_proofs(
    attendance: Attendance,
    confirmation: Confirmation,
    has_requester: bool,
) -> Result<(), FieldError> {
    match (confirmation, has_requester) {
        (Confirmation::Roster, true) => Err(FieldError::new(
            "confirmation",
            "dispatch_requester_confirms",
            "a request's service is confirmed by its requester (or a clerk for them)",
        )),
        (Confirmation::Roster, false) if attendance != Attendance::SiteCode => {
            Err(FieldError::new(
                "confirmation",
                "dispatch_same_party",
                "the organiser's roster confirms only attendance the volunteer scanned themselves",
            ))
        }
        (Confirmation::Requester | Confirmation::ClerkPhone | Confirmation::ClerkPaper, false) => {
            Err(FieldError::new(
                "confirmation",
                "dispatch_no_requester",
                "an activity has no requester: the organiser's roster confirms it",
            ))
        }
        _ => Ok(()),
    }
}

/// Minutes of attendance between check-in and check-out, counted only within the window: the
/// grace ([`SERVICE_GRACE_MS`]) lets a volunteer check in early or out late, but arriving early
/// or leaving late earns nothing extra.
pub fn attendance_minutes(check_in: i64, check_out: i64, starts_at: i64, ends_at: i64) -> i64 {
    let from = check_in.max(starts_at);
    let to = check_out.min(ends_at);
    ((to - from).max(0)) / 60_000
}

/// Whole hours of `minutes` (the standard counts per hour; a part hour earns nothing).
pub fn hours_of(minutes: i64) -> i64 {
    minutes.max(0) / 60
}

/// Hours entered by hand, checked: a reason, minutes within [`MANUAL_MINUTES_MAX`] and the
/// window's length, and a second approver who is not the one who entered them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManualHours {
    pub minutes: i64,
    pub reason: String,
}

impl ManualHours {
    pub fn parse(
        minutes: &str,
        reason: &str,
        window_minutes: i64,
    ) -> Result<ManualHours, crate::FieldErrors> {
        let mut e = crate::FieldErrors::default();
        let cap = MANUAL_MINUTES_MAX.min(window_minutes + 2 * SERVICE_GRACE_MS / 60_000);
        let m = match minutes.trim().parse::<i64>() {
            Ok(m) if (1..=cap).contains(&m) => Some(m),
            _ => {
                e.push(FieldError::new(
                    "minutes",
                    "out_of_range",
                    format!("whole minutes from 1 to {cap}"),
                ));
                None
            }
        };
        let r = e.take(super::text(
            "reason",
            reason,
            super::REASON_CHARS_MAX,
            false,
        ));
        e.into_result()?;
        match (m, r) {
            (Some(minutes), Some(reason)) => Ok(ManualHours { minutes, reason }),
            _ => Err(crate::FieldErrors::default()),
        }
    }

    /// The second approver must be someone else.
    pub fn approve(entered_by: &str, approver: &str) -> Result<(), FieldError> {
        if entered_by == approver {
            return Err(FieldError::new(
                "approver",
                "dispatch_same_approver",
                "hours entered by hand are approved by a second member of staff",
            ));
        }
        Ok(())
    }
}
