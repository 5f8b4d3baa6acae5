//! Re-ranking a BM25 candidate pool with what a form knows (industry code, discipline, region,
//! availability), and explaining each match by the terms and codes it shares with the demand.

use std::collections::{HashMap, HashSet};

use super::tokenizer::Segmenter;
use super::{Availability, DemandQuery, Match};

/// How many BM25 hits are re-ranked: enough that a strong code or region signal can lift a
/// candidate from well below the top k, few enough to keep a query in a millisecond range.
pub const CANDIDATE_POOL: usize = 200;
/// A token in the demand's title counts this much more than one only in its summary: the title
/// is the enterprise's own one-line statement of what it needs.
pub const TITLE_TERM_WEIGHT: f32 = 1.5;
/// The text score grows by this share when the candidate serves the demand's industry (an
/// expert's `industries`, an achievement's `industry`): a deliberate form choice by both sides.
/// Boosts multiply the text score rather than add to it, so a code or a region refines a text
/// match and never stands in for one.
pub const INDUSTRY_BONUS: f32 = 0.2;
/// The share added when the demand's own words name the candidate's discipline (水产 for
/// 水产学): weaker than the industry, since the demand never states a discipline.
pub const DISCIPLINE_BONUS: f32 = 0.05;
/// The share added when candidate and demand are in the same region: a site visit is an
/// afternoon, not a trip, but a near expert must not beat a right one.
pub const REGION_BONUS: f32 = 0.08;
/// A `Limited` expert's score is multiplied by this: still shown, below an equal available one.
pub const LIMITED_FACTOR: f32 = 0.85;
/// A candidate whose text score is under this share of the pool's best is dropped: what it
/// shares with the demand is a stray word (期, 生产), not a reason for an introduction.
pub const MIN_TEXT_SHARE: f32 = 0.1;
/// At most this many terms explain a match.
pub const TERMS_MAX: usize = 10;
/// At most this many distinct demand tokens make a query (a pasted document is cut here).
pub const QUERY_TERMS_MAX: usize = 128;
/// Only this many characters of a demand's title, and of its summary, are read.
pub const QUERY_CHARS_MAX: usize = 2_000;

/// Parts of discipline names that say nothing about the subject (科学, 技术, 工程 …): a demand
/// that mentions 工程 is not thereby related to 机械工程.
const GENERIC_CODE_WORDS: &str =
    "科学 技术 工程 科学技术 相关 基础 学科 基础学科 应用 产品 系统 资源 信息";

/// What a candidate is scored and explained by, kept in memory beside the index.
pub(crate) struct Candidate {
    pub id: String,
    /// The texts an explanation may quote: name, title, institution, keywords, summary.
    pub texts: Vec<String>,
    pub industries: Vec<String>,
    pub discipline: String,
    pub region: String,
    pub availability: Availability,
}

/// One distinct token of the demand.
pub(crate) struct DemandTerm {
    /// The token as indexed (ASCII lowercased).
    pub token: String,
    /// The token as the demand wrote it (a slice of the title or summary).
    pub surface: String,
    pub weight: f32,
}

/// The demand cut into distinct weighted tokens, title first.
pub(crate) fn demand_terms(segmenter: &Segmenter, query: &DemandQuery) -> Vec<DemandTerm> {
    let mut terms: Vec<DemandTerm> = Vec::new();
    let mut seen: HashSet<String> = HashSet::new();
    for (text, weight) in [(&query.title, TITLE_TERM_WEIGHT), (&query.summary, 1.0)] {
        let text = head(text, QUERY_CHARS_MAX);
        for piece in segmenter.pieces(text) {
            if seen.contains(&piece.text) {
                continue;
            }
            if terms.len() == QUERY_TERMS_MAX {
                return terms;
            }
            seen.insert(piece.text.clone());
            let surface = text
                .get(piece.from..piece.to)
                .unwrap_or(&piece.text)
                .to_owned();
            terms.push(DemandTerm {
                token: piece.text,
                surface,
                weight,
            });
        }
    }
    terms
}

/// The first `chars` characters of `text`.
fn head(text: &str, chars: usize) -> &str {
    text.char_indices()
        .nth(chars)
        .map_or(text, |(at, _)| &text[..at])
}

/// The tokens of each discipline's name that name a subject, by code.
pub(crate) fn discipline_words(segmenter: &Segmenter) -> HashMap<&'static str, Vec<String>> {
    crate::market::codes::DISCIPLINES
        .iter()
        .map(|c| {
            let words = segmenter
                .terms(c.zh)
                .into_iter()
                .filter(|w| {
                    w.chars().count() >= 2 && !GENERIC_CODE_WORDS.split_whitespace().any(|g| g == w)
                })
                .collect();
            (c.code, words)
        })
        .collect()
}

/// The demand's context for scoring one candidate.
pub(crate) struct Context<'a> {
    pub query: &'a DemandQuery,
    pub terms: &'a [DemandTerm],
    pub disciplines: &'a HashMap<&'static str, Vec<String>>,
}

impl Context<'_> {
    /// The codes candidate and demand share: the demand's industry if the candidate serves it,
    /// then the candidate's discipline if the demand's words name it.
    pub fn shared_codes(&self, c: &Candidate) -> Vec<String> {
        let mut codes = Vec::new();
        let industry = self.query.industry.trim();
        if !industry.is_empty() && c.industries.iter().any(|i| i.trim() == industry) {
            codes.push(industry.to_owned());
        }
        let named = self
            .disciplines
            .get(c.discipline.trim())
            .is_some_and(|words| {
                words
                    .iter()
                    .any(|w| self.terms.iter().any(|t| &t.token == w))
            });
        if named {
            codes.push(c.discipline.trim().to_owned());
        }
        codes
    }

    pub fn same_region(&self, c: &Candidate) -> bool {
        let region = self.query.region.trim();
        !region.is_empty() && region == c.region.trim()
    }

    /// The final score: the text score normalised by the pool's best, times (1 + the shares of
    /// the industry, discipline and region it earns), times the availability factor; `None`
    /// for a candidate that must not be shown (unavailable, or too weak a text match).
    pub fn score(
        &self,
        c: &Candidate,
        text_norm: f32,
        codes: &[String],
        same_region: bool,
    ) -> Option<f32> {
        if text_norm < MIN_TEXT_SHARE {
            return None;
        }
        let factor = match c.availability {
            Availability::Available => 1.0,
            Availability::Limited => LIMITED_FACTOR,
            Availability::Unavailable => return None,
        };
        let industry = self.query.industry.trim();
        let mut boost = 1.0;
        if codes.iter().any(|code| code == industry) {
            boost += INDUSTRY_BONUS;
        }
        if codes.iter().any(|code| code == c.discipline.trim()) {
            boost += DISCIPLINE_BONUS;
        }
        if same_region {
            boost += REGION_BONUS;
        }
        Some(text_norm * boost * factor)
    }

    /// The demand's terms that the candidate's own texts contain as tokens, weightiest first
    /// (query weight × idf), a term dropped when a weightier listed term contains it, a single
    /// character dropped when a longer term is shared.
    pub fn explain(&self, segmenter: &Segmenter, c: &Candidate, idf: &[f32]) -> Vec<String> {
        let mut own = HashSet::new();
        for text in &c.texts {
            own.extend(segmenter.term_set(text));
        }
        let mut shared: Vec<(f32, &DemandTerm)> = self
            .terms
            .iter()
            .zip(idf)
            .filter(|(t, _)| own.contains(&t.token))
            .map(|(t, idf)| (t.weight * idf, t))
            .collect();
        shared.sort_by(|a, b| {
            b.0.total_cmp(&a.0)
                .then_with(|| b.1.token.chars().count().cmp(&a.1.token.chars().count()))
                .then_with(|| a.1.token.cmp(&b.1.token))
        });
        // A single character is a reason only when nothing longer is shared: alone it rarely
        // says why (期, 件), and the word it came from is usually listed already.
        let any_word = shared.iter().any(|(_, t)| t.token.chars().count() > 1);
        let mut kept: Vec<&DemandTerm> = Vec::new();
        for (_, term) in shared {
            if kept.len() == TERMS_MAX {
                break;
            }
            let lone_char = any_word && term.token.chars().count() == 1;
            if !lone_char && !kept.iter().any(|k| k.token.contains(term.token.as_str())) {
                kept.push(term);
            }
        }
        kept.into_iter().map(|t| t.surface.clone()).collect()
    }
}

/// Best first; ties by text score, then by id, so a query always gets the same order.
pub(crate) fn compare(a: &Match, b: &Match) -> std::cmp::Ordering {
    b.score
        .total_cmp(&a.score)
        .then_with(|| b.text_score.total_cmp(&a.text_score))
        .then_with(|| a.id.cmp(&b.id))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn candidate(availability: Availability) -> Candidate {
        Candidate {
            id: "E-1".to_owned(),
            texts: vec![],
            industries: vec!["29".to_owned()],
            discipline: "240".to_owned(),
            region: "330281".to_owned(),
            availability,
        }
    }

    fn context<'a>(
        query: &'a DemandQuery,
        disciplines: &'a HashMap<&'static str, Vec<String>>,
    ) -> Context<'a> {
        Context {
            query,
            terms: &[],
            disciplines,
        }
    }

    #[test]
    fn codes_and_region_multiply_a_text_match_and_availability_ranks_or_hides() {
        let query = DemandQuery {
            title: String::new(),
            summary: String::new(),
            industry: "29".to_owned(),
            region: "330281".to_owned(),
        };
        let disciplines = HashMap::new();
        let cx = context(&query, &disciplines);
        let c = candidate(Availability::Available);
        let codes = cx.shared_codes(&c);
        assert_eq!(codes, vec!["29".to_owned()]);
        assert!(cx.same_region(&c));
        let full = cx.score(&c, 0.5, &codes, true).unwrap();
        assert!((full - 0.5 * (1.0 + INDUSTRY_BONUS + REGION_BONUS)).abs() < 1e-6);
        let limited = cx
            .score(&candidate(Availability::Limited), 0.5, &codes, true)
            .unwrap();
        assert!(limited < full);
        assert_eq!(
            cx.score(&candidate(Availability::Unavailable), 1.0, &codes, true),
            None
        );
        assert_eq!(cx.score(&c, MIN_TEXT_SHARE / 2.0, &codes, true), None);
    }

    #[test]
    fn an_empty_region_or_industry_is_shared_with_no_one() {
        let query = DemandQuery {
            title: String::new(),
            summary: String::new(),
            industry: String::new(),
            region: String::new(),
        };
        let disciplines = HashMap::new();
        let cx = context(&query, &disciplines);
        let mut c = candidate(Availability::Available);
        c.region = String::new();
        c.industries = vec![String::new()];
        assert!(cx.shared_codes(&c).is_empty());
        assert!(!cx.same_region(&c));
    }
}
