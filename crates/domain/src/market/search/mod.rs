//! Matching in the technology supermarket (科技超市): for an enterprise's demand, written as
//! ordinary unspaced Chinese, the experts and achievements most worth an introduction, each with
//! the reasons a broker can read out.
//!
//! # Segmentation and the user dictionary
//! Chinese has no spaces, so every text (profiles, achievements, demands) is cut by jieba in
//! search mode with its HMM for unknown words: a long word is indexed whole *and* as the
//! dictionary words inside it (工业互联网 → 工业, 互联网, 工业互联网), so a demand that says 互联网
//! still meets a profile that says 工业互联网, and one that says the whole word scores higher.
//! Before indexing, jieba's dictionary is extended with this market's words: the Chinese names
//! of the GB/T 4754 industries and GB/T 13745 disciplines in [`crate::market::codes`] and the
//! keywords of every expert and achievement (2–8 characters), so 伺服电机 or 注塑模具 stay whole
//! instead of falling apart into characters. The dictionary therefore depends on the data and
//! lives in the [`MatchIndex`]. ASCII is lowercased (PLC = plc); punctuation, bare numbers and a
//! short stop-word list (function words, a demand's asking phrases such as 需要 / 希望 / 解决,
//! 公司 / 企业, and 技术, which every text here contains) are dropped; words that carry a subject
//! in this market, however common (工艺, 检测, 材料, 设备), are kept and left to idf.
//!
//! # Scoring
//! A demand's distinct tokens become one tantivy query of SHOULD term clauses over each field,
//! boosted keywords (3) > title (2) > summary (1) > name/institution (0.3), a token of the
//! demand's title counting 1.5× one only in its summary. The best [`CANDIDATE_POOL`] hits by
//! BM25 are re-ranked: the text score is divided by the pool's best (so it lies in 0..=1), then
//! multiplied by one plus the shares the candidate earns — [`INDUSTRY_BONUS`] when it serves the
//! demand's industry code, [`DISCIPLINE_BONUS`] when the demand's words name its discipline,
//! [`REGION_BONUS`] for the same region — so codes and region refine a text match and never
//! stand in for one; a `Limited` expert's score is multiplied by [`LIMITED_FACTOR`]. An
//! `Unavailable` expert is never returned (excluded in the query itself), nor is a candidate
//! whose text score is under [`MIN_TEXT_SHARE`] of the best (a stray shared word). Ties go to
//! the higher text score, then to the smaller id, so the same query always yields the same
//! order. Scores compare within one query only; [`Match::text_score`] is the raw BM25.
//!
//! # Explanations
//! [`Match::terms`] are the demand's tokens that the candidate's own texts (name, title,
//! institution, keywords, summary) also yield when cut by the same segmenter, weightiest (query
//! weight × idf) first, a term left out when a listed one contains it, a single character left
//! out when a longer term is shared, at most [`TERMS_MAX`]. Each term is quoted as the demand
//! wrote it, so it is a substring of the demand's title or summary and (ignoring ASCII
//! case) of the candidate's texts. [`Match::codes`] are the shared codes: the demand's industry
//! when the candidate serves it, the candidate's discipline when the demand names it.
//!
//! # Limits
//! Lexical matching only: two words for one thing (模具 and 模子, 伺服 and servo) do not
//! meet. Unspaced text depends on segmentation: a word outside jieba's dictionary and the user
//! dictionary may be cut into characters, or glued by the HMM to its neighbour (咸想), and then
//! matches nothing. A candidate with no text match is not found, however well its codes fit; the
//! industry code only re-ranks. The index is built once from a snapshot and never updated:
//! rebuild it when profiles change. It lives in RAM and does no IO; the jieba dictionary (one
//! per index) is the bulk of its memory.

mod baseline;
mod index;
pub mod labelled;
mod labelled_data;
mod rank;
mod tokenizer;

use std::collections::{HashMap, HashSet};

use serde::Serialize;

pub use baseline::baseline_top;
pub use index::{KEYWORDS_BOOST, SUMMARY_BOOST, TITLE_BOOST, WHO_BOOST};
pub use rank::{
    CANDIDATE_POOL, DISCIPLINE_BONUS, INDUSTRY_BONUS, LIMITED_FACTOR, MIN_TEXT_SHARE,
    QUERY_CHARS_MAX, QUERY_TERMS_MAX, REGION_BONUS, TERMS_MAX, TITLE_TERM_WEIGHT,
};

use index::{IndexedDoc, KindIndex};
use rank::{Candidate, Context};
use tokenizer::Segmenter;

/// At most this many documents of one kind: positions are kept as `u32`.
pub const DOCS_MAX: usize = 4_000_000;

/// What a match is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Expert,
    Achievement,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Expert => "expert",
            Kind::Achievement => "achievement",
        }
    }
}

/// Whether an expert takes introductions now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Availability {
    Available,
    /// Takes few introductions: shown, ranked lower.
    Limited,
    /// Takes none: never shown.
    Unavailable,
}

impl Availability {
    pub const ALL: [Availability; 3] = [
        Availability::Available,
        Availability::Limited,
        Availability::Unavailable,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Availability::Available => "available",
            Availability::Limited => "limited",
            Availability::Unavailable => "unavailable",
        }
    }

    pub fn parse(raw: &str) -> Result<Availability, crate::FieldError> {
        Availability::ALL
            .into_iter()
            .find(|a| a.as_str() == raw.trim())
            .ok_or_else(|| {
                crate::FieldError::new(
                    "availability",
                    "unknown_availability",
                    "must be one of available, limited, unavailable",
                )
            })
    }
}

/// An expert's profile as matching sees it.
#[derive(Debug, Clone)]
pub struct ExpertDoc {
    pub id: String,
    pub name: String,
    /// GB/T 13745 code.
    pub discipline: String,
    /// GB/T 4754 codes of the industries the expert serves.
    pub industries: Vec<String>,
    pub institution: String,
    /// e.g. 教授, 研究员, 高级工程师.
    pub title: String,
    pub keywords: Vec<String>,
    pub summary: String,
    /// An opaque region id, compared for equality only.
    pub region: String,
    pub availability: Availability,
}

/// A technology achievement (patent, result, product) as matching sees it.
#[derive(Debug, Clone)]
pub struct AchievementDoc {
    pub id: String,
    pub title: String,
    pub summary: String,
    pub keywords: Vec<String>,
    /// GB/T 4754 code.
    pub industry: String,
    /// GB/T 13745 code.
    pub discipline: String,
    pub region: String,
}

/// An enterprise's demand.
#[derive(Debug, Clone)]
pub struct DemandQuery {
    pub title: String,
    pub summary: String,
    /// GB/T 4754 code, or empty.
    pub industry: String,
    /// An opaque region id, or empty.
    pub region: String,
}

/// One candidate for a demand, with why.
#[derive(Debug, Clone, Serialize)]
pub struct Match {
    pub kind: Kind,
    pub id: String,
    /// The final score (see the module doc); compare within one query only.
    pub score: f32,
    /// The BM25 score of the text alone (for [`baseline_top`], the number of keywords found).
    pub text_score: f32,
    /// Shared terms, weightiest first, as the demand wrote them.
    pub terms: Vec<String>,
    /// Shared codes: the demand's industry when the candidate serves it, the candidate's
    /// discipline when the demand names it.
    pub codes: Vec<String>,
    pub same_region: bool,
}

/// Why an index could not be built.
#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    #[error("the in-memory search index failed: {0}")]
    Index(#[from] tantivy::TantivyError),
    #[error("{} id {id} appears twice", kind.as_str())]
    DuplicateId { kind: Kind, id: String },
    #[error("{count} {} documents, more than {max}", kind.as_str())]
    TooMany {
        kind: Kind,
        count: usize,
        max: usize,
    },
    #[error("the search index is inconsistent: {0}")]
    Corrupt(&'static str),
}

/// Experts and achievements indexed for matching; read-only once built, `Send + Sync`, so one
/// instance serves all requests (behind an `Arc`).
pub struct MatchIndex {
    segmenter: Segmenter,
    experts: KindIndex,
    achievements: KindIndex,
    expert_docs: Vec<Candidate>,
    achievement_docs: Vec<Candidate>,
    disciplines: HashMap<&'static str, Vec<String>>,
}

impl MatchIndex {
    /// Segments and indexes everything; refuses a duplicate id within a kind.
    pub fn build(
        experts: &[ExpertDoc],
        achievements: &[AchievementDoc],
    ) -> Result<MatchIndex, SearchError> {
        check_ids(Kind::Expert, experts.iter().map(|e| e.id.as_str()))?;
        check_ids(
            Kind::Achievement,
            achievements.iter().map(|a| a.id.as_str()),
        )?;
        let segmenter = Segmenter::new(&tokenizer::user_words(experts, achievements));
        let expert_index = KindIndex::build(&segmenter, experts.iter().map(indexed_expert))?;
        let achievement_index =
            KindIndex::build(&segmenter, achievements.iter().map(indexed_achievement))?;
        Ok(MatchIndex {
            disciplines: rank::discipline_words(&segmenter),
            segmenter,
            experts: expert_index,
            achievements: achievement_index,
            expert_docs: experts.iter().map(expert_candidate).collect(),
            achievement_docs: achievements.iter().map(achievement_candidate).collect(),
        })
    }

    /// The best `k` candidates of `kind` for `query`, best first, each explained.
    pub fn top(&self, query: &DemandQuery, kind: Kind, k: usize) -> Vec<Match> {
        if k == 0 {
            return Vec::new();
        }
        let (index, docs) = self.kind(kind);
        let terms = rank::demand_terms(&self.segmenter, query);
        let weighted: Vec<(String, f32)> =
            terms.iter().map(|t| (t.token.clone(), t.weight)).collect();
        let hits = index.candidates(&weighted, CANDIDATE_POOL.max(k));
        let best = hits.iter().map(|h| h.1).fold(0.0f32, f32::max);
        if best <= 0.0 {
            return Vec::new();
        }
        let cx = Context {
            query,
            terms: &terms,
            disciplines: &self.disciplines,
        };
        let mut matches: Vec<(Match, &Candidate)> = hits
            .into_iter()
            .filter_map(|(ord, text_score)| {
                let c = docs.get(ord as usize)?;
                let codes = cx.shared_codes(c);
                let same_region = cx.same_region(c);
                let score = cx.score(c, text_score / best, &codes, same_region)?;
                let m = Match {
                    kind,
                    id: c.id.clone(),
                    score,
                    text_score,
                    terms: Vec::new(),
                    codes,
                    same_region,
                };
                Some((m, c))
            })
            .collect();
        matches.sort_by(|(a, _), (b, _)| rank::compare(a, b));
        matches.truncate(k);
        let idf: Vec<f32> = terms.iter().map(|t| index.idf(&t.token)).collect();
        matches
            .into_iter()
            .map(|(mut m, c)| {
                debug_assert!(c.availability != Availability::Unavailable);
                m.terms = cx.explain(&self.segmenter, c, &idf);
                m
            })
            .collect()
    }

    /// How many documents of `kind` are indexed (unavailable experts included).
    pub fn len(&self, kind: Kind) -> usize {
        self.kind(kind).0.len()
    }

    /// Whether nothing of either kind is indexed.
    pub fn is_empty(&self) -> bool {
        self.experts.len() == 0 && self.achievements.len() == 0
    }

    /// The distinct tokens a query would be made of, after stop words, in text order.
    pub fn terms(&self, text: &str) -> Vec<String> {
        self.segmenter.terms(text)
    }

    fn kind(&self, kind: Kind) -> (&KindIndex, &[Candidate]) {
        match kind {
            Kind::Expert => (&self.experts, &self.expert_docs),
            Kind::Achievement => (&self.achievements, &self.achievement_docs),
        }
    }
}

fn check_ids<'a>(
    kind: Kind,
    ids: impl ExactSizeIterator<Item = &'a str>,
) -> Result<(), SearchError> {
    if ids.len() > DOCS_MAX {
        return Err(SearchError::TooMany {
            kind,
            count: ids.len(),
            max: DOCS_MAX,
        });
    }
    let mut seen = HashSet::new();
    for id in ids {
        if !seen.insert(id) {
            return Err(SearchError::DuplicateId {
                kind,
                id: id.to_owned(),
            });
        }
    }
    Ok(())
}

fn indexed_expert(e: &ExpertDoc) -> IndexedDoc<'_> {
    IndexedDoc {
        keywords: e.keywords.join("；"),
        title: "",
        summary: &e.summary,
        who: format!("{}；{}；{}", e.name, e.title, e.institution),
        unavailable: e.availability == Availability::Unavailable,
    }
}

fn indexed_achievement(a: &AchievementDoc) -> IndexedDoc<'_> {
    IndexedDoc {
        keywords: a.keywords.join("；"),
        title: &a.title,
        summary: &a.summary,
        who: String::new(),
        unavailable: false,
    }
}

fn expert_candidate(e: &ExpertDoc) -> Candidate {
    let mut texts = vec![e.name.clone(), e.title.clone(), e.institution.clone()];
    texts.extend(e.keywords.iter().cloned());
    texts.push(e.summary.clone());
    Candidate {
        id: e.id.clone(),
        texts,
        industries: e.industries.clone(),
        discipline: e.discipline.clone(),
        region: e.region.clone(),
        availability: e.availability,
    }
}

fn achievement_candidate(a: &AchievementDoc) -> Candidate {
    let mut texts = vec![a.title.clone()];
    texts.extend(a.keywords.iter().cloned());
    texts.push(a.summary.clone());
    Candidate {
        id: a.id.clone(),
        texts,
        industries: vec![a.industry.clone()],
        discipline: a.discipline.clone(),
        region: a.region.clone(),
        availability: Availability::Available,
    }
}
