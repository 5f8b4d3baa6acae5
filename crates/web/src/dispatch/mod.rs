//! Volunteer dispatch (志愿服务点派单) on the web: the resident's side — asking for help (点单),
//! confirming and rating (评单) at `/help`, and volunteering (opt-in, offers to accept or
//! decline, activities to sign up for, check-in by the site code, the record and its printable
//! certificate) at `/volunteer` ([`resident`]); the alliance's console — review, the matcher's
//! proposals with why, offers, the rotating site code, attendance, hours by hand with a second
//! approver, closing, figures and the export — and the village clerk's request for a resident
//! without a phone ([`console`]).

pub mod console;
pub mod resident;

use crate::auth::{PageCtx, Principal};
use crate::error::AppError;
use crate::AppState;
use domain::time::{CST_OFFSET_MS, DAY_MS};
use domain::{FieldError, Role};
use moralbank_store::dispatch::tasks::Who;
use moralbank_store::dispatch::Alliance;

/// The alliance a staff member works for, or `Forbidden` (an operator of another partner).
pub(crate) async fn my_alliance(state: &AppState, ctx: &PageCtx) -> Result<Alliance, AppError> {
    let s = ctx.principal.staff().ok_or(AppError::Forbidden)?;
    let id = s.partner_id.as_deref().ok_or(AppError::Forbidden)?;
    state
        .store
        .dispatch()
        .alliance(id)
        .await?
        .ok_or(AppError::Forbidden)
}

/// The caller as the store's dispatch steps name them.
pub(crate) fn who(p: &Principal) -> Result<Who, AppError> {
    match p {
        Principal::Citizen { id } => Ok(Who::Citizen(id.clone())),
        Principal::Staff(s) => Ok(Who::Staff {
            actor: format!("staff:{}", s.id),
            partner_id: s.partner_id.clone(),
            clerk_of: (s.role == Role::Evaluator)
                .then(|| s.region_id.clone())
                .flatten(),
        }),
        Principal::Anonymous => Err(AppError::Unauthorized),
        Principal::Partner(_) => Err(AppError::Forbidden),
    }
}

/// How long an offer waits for its answer, from `[web] dispatch_offer_minutes` (1 minute to a
/// week).
pub(crate) fn expiry_ms(state: &AppState) -> i64 {
    i64::from(state.config.dispatch_offer_minutes.clamp(1, 7 * 24 * 60)) * 60_000
}

/// A date (`yyyy-mm-dd`) and a time (`HH:MM`) in China Standard Time, as unix ms; `field`
/// names the time's field in the error.
pub(crate) fn local_ms(field: &'static str, date: &str, time: &str) -> Result<i64, FieldError> {
    let bad = || {
        FieldError::new(
            field,
            "bad_time",
            "a date as 2026-12-20 and a time as 09:30",
        )
    };
    let d = time::Date::parse(
        date.trim(),
        time::macros::format_description!("[year]-[month]-[day]"),
    )
    .map_err(|_| bad())?;
    let (h, m) = time.trim().split_once(':').ok_or_else(bad)?;
    let (h, m): (i64, i64) = (h.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
    if !(0..24).contains(&h) || !(0..60).contains(&m) {
        return Err(bad());
    }
    let days = i64::from(d.to_julian_day()) - 2_440_588;
    Ok(days * DAY_MS + h * 3_600_000 + m * 60_000 - CST_OFFSET_MS)
}

/// The date and time fields of a unix ms in China Standard Time.
pub(crate) fn local_parts(ms: i64) -> (String, String) {
    let day = domain::time::day_of(ms);
    let of_day = (ms + CST_OFFSET_MS).rem_euclid(DAY_MS) / 60_000;
    (day, format!("{:02}:{:02}", of_day / 60, of_day % 60))
}

/// A site code's refusal as a field error on `code` (translated: `error.site_<step>`).
pub(crate) fn site_refusal(e: &moralbank_code::site::SiteError) -> AppError {
    AppError::Invalid(FieldError::new("code", e.code(), e.to_string()).into())
}

/// Read a comma list or repeated form values into a list (forms send checkboxes repeated).
pub(crate) fn list(v: &[String]) -> Vec<String> {
    v.iter()
        .flat_map(|s| s.split(','))
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_times_round_trip_in_china_standard_time() {
        let ms = local_ms("starts_at", "2026-12-20", "09:30").expect("parses");
        assert_eq!(local_parts(ms), ("2026-12-20".into(), "09:30".into()));
        assert_eq!(ms % 60_000, 0);
        assert!(local_ms("starts_at", "2026-13-01", "09:30").is_err());
        assert!(local_ms("starts_at", "2026-12-20", "24:00").is_err());
        assert_eq!(local_ms("ends_at", "", "").unwrap_err().field, "ends_at");
    }
}

/// A form's fields as sent, where some repeat (checkboxes): `one` reads a field once, `many`
/// every value of a repeated one. Serialises as a map for the page to show what was typed.
#[derive(Debug, Clone, Default)]
pub(crate) struct Pairs(pub Vec<(String, String)>);

impl Pairs {
    pub(crate) fn one(&self, k: &str) -> String {
        self.0
            .iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    }

    pub(crate) fn many(&self, k: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(key, _)| key == k)
            .map(|(_, v)| v.clone())
            .take(64)
            .collect()
    }
}

impl serde::Serialize for Pairs {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m: std::collections::BTreeMap<&str, serde_json::Value> = Default::default();
        for (k, v) in &self.0 {
            match m.get_mut(k.as_str()) {
                Some(serde_json::Value::Array(a)) => a.push(v.clone().into()),
                Some(other) => {
                    *other = serde_json::Value::Array(vec![other.take(), v.clone().into()])
                }
                None => {
                    m.insert(k, v.clone().into());
                }
            }
        }
        m.serialize(s)
    }
}

/// The weekly grid's parts of a day, as hour ranges (China Standard Time).
pub(crate) const DAY_PARTS: [(&str, u32, u32); 3] = [
    ("morning", 8, 12),
    ("afternoon", 13, 18),
    ("evening", 18, 21),
];

/// The grid's ticked cells (`<day>:<part>`, Monday = 0) as the availability's text form.
pub(crate) fn availability_of_grid(cells: &[String]) -> String {
    let mut days: Vec<Vec<String>> = vec![Vec::new(); 7];
    for (d, ranges) in days.iter_mut().enumerate() {
        for (name, from, to) in DAY_PARTS {
            if cells.iter().any(|c| *c == format!("{d}:{name}")) {
                ranges.push(format!("{from}-{to}"));
            }
        }
    }
    days.iter()
        .map(|r| r.join(","))
        .collect::<Vec<_>>()
        .join(";")
}

/// The grid's cells an availability covers whole.
pub(crate) fn grid_of_availability(a: &domain::dispatch::matcher::Availability) -> Vec<String> {
    let mut out = Vec::new();
    for d in 0..7 {
        for (name, from, to) in DAY_PARTS {
            if (from..to).all(|h| a.0[d] & (1 << h) != 0) {
                out.push(format!("{d}:{name}"));
            }
        }
    }
    out
}
