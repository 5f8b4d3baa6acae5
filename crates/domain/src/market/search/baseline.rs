//! The plain substring matcher a developer would write with SQL `LIKE '%keyword%'`: the yardstick
//! the index is measured against on the labelled set.

use super::{rank, AchievementDoc, Availability, DemandQuery, ExpertDoc, Kind, Match};

/// Scores each candidate by how many of its keywords (an achievement's keywords and its title)
/// occur verbatim in the demand's title and summary; drops candidates with none (and unavailable
/// experts); best first, ties by id. `terms` are the keywords found, `codes` the demand's
/// industry when the candidate serves it.
pub fn baseline_top(
    experts: &[ExpertDoc],
    achievements: &[AchievementDoc],
    query: &DemandQuery,
    kind: Kind,
    k: usize,
) -> Vec<Match> {
    let demand = format!("{}\n{}", query.title, query.summary);
    let mut matches: Vec<Match> = match kind {
        Kind::Expert => experts
            .iter()
            .filter(|e| e.availability != Availability::Unavailable)
            .filter_map(|e| {
                let found = found(&demand, e.keywords.iter().map(String::as_str));
                let serves = e
                    .industries
                    .iter()
                    .any(|i| i.trim() == query.industry.trim());
                matched(kind, &e.id, found, serves, &e.region, query)
            })
            .collect(),
        Kind::Achievement => achievements
            .iter()
            .filter_map(|a| {
                let words = a
                    .keywords
                    .iter()
                    .map(String::as_str)
                    .chain([a.title.as_str()]);
                let found = found(&demand, words);
                let serves = a.industry.trim() == query.industry.trim();
                matched(kind, &a.id, found, serves, &a.region, query)
            })
            .collect(),
    };
    matches.sort_by(rank::compare);
    matches.truncate(k);
    matches
}

fn found<'a>(demand: &str, words: impl Iterator<Item = &'a str>) -> Vec<String> {
    let mut found: Vec<String> = Vec::new();
    for word in words.map(str::trim).filter(|w| !w.is_empty()) {
        if demand.contains(word) && !found.iter().any(|f| f == word) {
            found.push(word.to_owned());
        }
    }
    found
}

fn matched(
    kind: Kind,
    id: &str,
    terms: Vec<String>,
    serves: bool,
    region: &str,
    query: &DemandQuery,
) -> Option<Match> {
    if terms.is_empty() {
        return None;
    }
    let count = terms.len() as f32;
    let codes = if serves && !query.industry.trim().is_empty() {
        vec![query.industry.trim().to_owned()]
    } else {
        Vec::new()
    };
    let same_region = !query.region.trim().is_empty() && region.trim() == query.region.trim();
    Some(Match {
        kind,
        id: id.to_owned(),
        score: count,
        text_score: count,
        terms,
        codes,
        same_region,
    })
}
