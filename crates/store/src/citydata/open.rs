//! The figures behind the open-data tables, counted from the registry's, evaluation's and
//! dispatch's tables: residents enrolled per town, per town and point standard the residents
//! with a credited deed and their points, and per town the volunteers with counted service
//! hours and those hours, and per town the households' balances of the newest month of the
//! banks' loan books. Disclosure control is applied by the caller
//! (`domain::citydata::disclosure`); nothing here is published as it is.

use super::CityData;
use crate::Result;
use serde::Serialize;
use sqlx::Row;
use std::collections::HashMap;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Label {
    pub id: String,
    pub code: String,
    pub name_zh: String,
    pub name_en: String,
}

/// Raw figures: never published without suppression.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Figures {
    pub towns: Vec<Label>,
    /// Residents enrolled, per town (in `towns` order).
    pub residents: Vec<i64>,
    /// Point standards by code (their newest version's names).
    pub categories: Vec<Label>,
    /// Residents with at least one credited deed, per town × category.
    pub deed_residents: Vec<Vec<i64>>,
    /// Points of those deeds, per town × category.
    pub deed_points: Vec<Vec<i64>>,
    /// Volunteers (by their home town) with counted service hours, per town.
    pub volunteers_served: Vec<i64>,
    /// Their counted hours, per town.
    pub volunteer_hours: Vec<i64>,
    /// The newest month of the banks' loan books (`yyyymm`), if any bank sent one.
    pub loan_month: Option<i64>,
    /// Per town, each household's balance outstanding that month (yuan; households with a
    /// disbursed loan and a balance), for the money rule: nothing of it is published as it is.
    pub loan_balances: Vec<Vec<i64>>,
}

impl CityData<'_> {
    pub async fn open_figures(&self) -> Result<Figures> {
        let towns: Vec<Label> = sqlx::query(
            "SELECT id, code, name_zh, name_en FROM regions WHERE level = 'town' ORDER BY code",
        )
        .fetch_all(&self.read)
        .await?
        .iter()
        .map(label)
        .collect::<Result<_>>()?;
        let categories: Vec<Label> = sqlx::query(
            "SELECT s.id, s.code, s.name_zh, s.name_en FROM standards s \
             WHERE s.version = (SELECT MAX(v.version) FROM standards v WHERE v.code = s.code) ORDER BY s.code",
        )
        .fetch_all(&self.read)
        .await?
        .iter()
        .map(label)
        .collect::<Result<_>>()?;
        let town_at: HashMap<&str, usize> = towns
            .iter()
            .enumerate()
            .map(|(i, t)| (t.id.as_str(), i))
            .collect();
        let cat_at: HashMap<&str, usize> = categories
            .iter()
            .enumerate()
            .map(|(i, c)| (c.code.as_str(), i))
            .collect();
        let mut residents = vec![0; towns.len()];
        for r in sqlx::query(
            "SELECT v.parent_id AS town, COUNT(*) AS n FROM citizens c JOIN regions v ON v.id = c.village_id GROUP BY v.parent_id",
        )
        .fetch_all(&self.read)
        .await?
        {
            let town: Option<String> = r.try_get("town")?;
            if let Some(&i) = town.as_deref().and_then(|t| town_at.get(t)) {
                residents[i] = r.try_get("n")?;
            }
        }
        let mut deed_residents = vec![vec![0; categories.len()]; towns.len()];
        let mut deed_points = deed_residents.clone();
        for r in sqlx::query(
            "SELECT v.parent_id AS town, s.code AS code, COUNT(DISTINCT d.citizen_id) AS people, \
             CAST(SUM(d.points) AS BIGINT) AS points FROM deeds d JOIN standards s ON s.id = d.standard_id \
             JOIN regions v ON v.id = d.village_id WHERE d.status = 'credited' GROUP BY v.parent_id, s.code",
        )
        .fetch_all(&self.read)
        .await?
        {
            let town: Option<String> = r.try_get("town")?;
            let code: String = r.try_get("code")?;
            if let (Some(&i), Some(&j)) = (
                town.as_deref().and_then(|t| town_at.get(t)),
                cat_at.get(code.as_str()),
            ) {
                deed_residents[i][j] = r.try_get("people")?;
                deed_points[i][j] = r.try_get::<Option<i64>, _>("points")?.unwrap_or(0);
            }
        }
        let mut volunteers_served = vec![0; towns.len()];
        let mut volunteer_hours = vec![0; towns.len()];
        for r in sqlx::query(
            "SELECT v.town_id AS town, COUNT(DISTINCT s.volunteer_id) AS people, \
             CAST(SUM(s.hours) AS BIGINT) AS hours FROM dispatch_service s \
             JOIN volunteers v ON v.citizen_id = s.volunteer_id WHERE s.minutes IS NOT NULL GROUP BY v.town_id",
        )
        .fetch_all(&self.read)
        .await?
        {
            let town: String = r.try_get("town")?;
            if let Some(&i) = town_at.get(town.as_str()) {
                volunteers_served[i] = r.try_get("people")?;
                volunteer_hours[i] = r.try_get::<Option<i64>, _>("hours")?.unwrap_or(0);
            }
        }
        let (loan_month, loan_balances) = self.loan_balances(&town_at).await?;
        Ok(Figures {
            towns,
            residents,
            categories,
            deed_residents,
            deed_points,
            volunteers_served,
            volunteer_hours,
            loan_month,
            loan_balances,
        })
    }

    /// The newest month of the loan books and, per town, each household's balance that month.
    async fn loan_balances(
        &self,
        town_at: &HashMap<&str, usize>,
    ) -> Result<(Option<i64>, Vec<Vec<i64>>)> {
        let mut balances = vec![Vec::new(); town_at.len()];
        let month: Option<i64> = sqlx::query("SELECT MAX(month) AS month FROM credit_loan_months")
            .fetch_one(&self.read)
            .await?
            .try_get("month")?;
        let Some(month) = month else {
            return Ok((None, balances));
        };
        for r in sqlx::query(
            "SELECT v.parent_id AS town, CAST(SUM(m.outstanding_yuan) AS BIGINT) AS balance \
             FROM credit_loan_months m JOIN households h ON h.id = m.household_id \
             JOIN regions v ON v.id = h.village_id \
             WHERE m.month = $1 AND m.state = 'disbursed' AND m.outstanding_yuan > 0 \
             GROUP BY v.parent_id, m.household_id",
        )
        .bind(month)
        .fetch_all(&self.read)
        .await?
        {
            let town: Option<String> = r.try_get("town")?;
            if let Some(&i) = town.as_deref().and_then(|t| town_at.get(t)) {
                balances[i].push(r.try_get("balance")?);
            }
        }
        Ok((Some(month), balances))
    }
}

fn label(r: &sqlx::any::AnyRow) -> Result<Label> {
    Ok(Label {
        id: r.try_get("id")?,
        code: r.try_get("code")?,
        name_zh: r.try_get("name_zh")?,
        name_en: r.try_get("name_en")?,
    })
}
