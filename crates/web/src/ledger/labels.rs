//! Names for what the ledger records by code: an entry's rule (`standard:blood-donation@1`,
//! `benefit:<id>`, `reversal`) and a system account (`issuance:330281014`,
//! `benefits:transport`) as the reader calls them ("无偿献血", "公交免费乘车券", "冲正",
//! "阳明街道发放", "出行礼遇"), so that no page shows a raw rule or id to a resident or a
//! clerk. The code stays available beside the name for whoever checks the public log.

use crate::error::AppError;
use crate::AppState;
use std::collections::HashMap;

/// The names of the standards (by code, any version) and benefits (by id) in one language.
pub struct Labels {
    standards: HashMap<String, String>,
    benefits: HashMap<String, String>,
    reversal: String,
    /// Towns by code and scenes by code, for the system accounts.
    towns: HashMap<String, String>,
    scenes: HashMap<String, String>,
    issuance: String,
    spent: String,
}

/// The standards' names by code (any version), in `lang`.
pub async fn standard_names(
    state: &AppState,
    lang: &str,
) -> Result<HashMap<String, String>, AppError> {
    let zh = lang != "en";
    Ok(state
        .store
        .evaluation()
        .standards()
        .await?
        .into_iter()
        .map(|s| (s.code, if zh { s.name_zh } else { s.name_en }))
        .collect())
}

/// The service scenes' names by code, in `lang`.
pub async fn scene_names(
    state: &AppState,
    lang: &str,
) -> Result<HashMap<String, String>, AppError> {
    let zh = lang != "en";
    Ok(state
        .store
        .code()
        .scenes()
        .await?
        .into_iter()
        .map(|s| (s.code, if zh { s.name_zh } else { s.name_en }))
        .collect())
}

impl Labels {
    pub async fn load(state: &AppState, lang: &str) -> Result<Labels, AppError> {
        let zh = lang != "en";
        let standards = standard_names(state, lang).await?;
        let benefits = state
            .store
            .code()
            .benefits()
            .await?
            .into_iter()
            .map(|b| (b.id, if zh { b.name_zh } else { b.name_en }))
            .collect();
        let towns = match state.store.registry().city().await? {
            Some(city) => state
                .store
                .registry()
                .region_children(&city.id)
                .await?
                .into_iter()
                .map(|t| (t.code, if zh { t.name_zh } else { t.name_en }))
                .collect(),
            None => HashMap::new(),
        };
        let scenes = scene_names(state, lang).await?;
        Ok(Labels {
            standards,
            benefits,
            reversal: state.catalog.get(lang, "kind.reversal"),
            towns,
            scenes,
            issuance: state.catalog.get(lang, "ledger.account_issuance"),
            spent: state.catalog.get(lang, "ledger.account_benefits"),
        })
    }

    /// A system account's name: a town's issuance account, a scene's benefits account.
    pub fn account(&self, account: &str) -> String {
        let named = if let Some(code) = account.strip_prefix("issuance:") {
            self.towns
                .get(code)
                .map(|t| self.issuance.replace("{town}", t))
        } else if let Some(code) = account.strip_prefix("benefits:") {
            self.scenes
                .get(code)
                .map(|s| self.spent.replace("{scene}", s))
        } else {
            None
        };
        named.unwrap_or_else(|| account.to_string())
    }

    /// The rule's name, or the rule itself when it names nothing known.
    pub fn rule(&self, rule: &str) -> String {
        let named = if let Some(code) = rule.strip_prefix("standard:") {
            let code = code.split('@').next().unwrap_or(code);
            self.standards.get(code).cloned()
        } else if let Some(id) = rule.strip_prefix("benefit:") {
            self.benefits.get(id).cloned()
        } else if rule == "reversal" {
            Some(self.reversal.clone())
        } else {
            None
        };
        named.unwrap_or_else(|| rule.to_string())
    }

    /// Every rule of `rules` with its name, for a template to look up.
    pub fn of<'a>(&self, rules: impl IntoIterator<Item = &'a str>) -> HashMap<String, String> {
        rules
            .into_iter()
            .map(|r| (r.to_string(), self.rule(r)))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_are_named_and_unknown_ones_kept() {
        let l = Labels {
            standards: HashMap::from([("blood-donation".into(), "无偿献血".into())]),
            benefits: HashMap::from([("b1".into(), "公交免费乘车券".into())]),
            reversal: "冲正".into(),
            towns: HashMap::from([("330281014".into(), "阳明街道".into())]),
            scenes: HashMap::from([("transport".into(), "出行".into())]),
            issuance: "{town}发放".into(),
            spent: "{scene}礼遇".into(),
        };
        assert_eq!(l.account("issuance:330281014"), "阳明街道发放");
        assert_eq!(l.account("benefits:transport"), "出行礼遇");
        assert_eq!(l.account("issuance:999"), "issuance:999");
        assert_eq!(l.rule("standard:blood-donation@2"), "无偿献血");
        assert_eq!(l.rule("benefit:b1"), "公交免费乘车券");
        assert_eq!(l.rule("reversal"), "冲正");
        assert_eq!(l.rule("standard:gone@1"), "standard:gone@1");
    }
}
