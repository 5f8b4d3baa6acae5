//! Matching demands to experts and achievements over the labelled set: the right experts come
//! first, every reason given is true of both texts, unavailable experts never show, and the index
//! beats the substring matcher a developer would otherwise write.

use std::sync::OnceLock;

use moralbank_domain::market::search::labelled::{labelled_set, precision_at, LabelledSet};
use moralbank_domain::market::search::{
    baseline_top, AchievementDoc, Availability, DemandQuery, ExpertDoc, Kind, Match, MatchIndex,
    SearchError,
};

fn set() -> &'static LabelledSet {
    static SET: OnceLock<LabelledSet> = OnceLock::new();
    SET.get_or_init(labelled_set)
}

fn index() -> &'static MatchIndex {
    static INDEX: OnceLock<MatchIndex> = OnceLock::new();
    INDEX.get_or_init(|| {
        let set = set();
        MatchIndex::build(&set.experts, &set.achievements).expect("the labelled set indexes")
    })
}

fn demand(title: &str, summary: &str, industry: &str) -> DemandQuery {
    DemandQuery {
        title: title.to_owned(),
        summary: summary.to_owned(),
        industry: industry.to_owned(),
        region: "330281".to_owned(),
    }
}

fn expert_text(e: &ExpertDoc) -> String {
    format!(
        "{}\n{}\n{}\n{}\n{}",
        e.name,
        e.title,
        e.institution,
        e.keywords.join("\n"),
        e.summary
    )
}

fn achievement_text(a: &AchievementDoc) -> String {
    format!("{}\n{}\n{}", a.title, a.keywords.join("\n"), a.summary)
}

/// Named so that `cargo test -p moralbank-domain market` selects these tests.
mod market {
    use super::*;

    #[test]
    fn the_index_is_send_and_sync() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<MatchIndex>();
    }

    #[test]
    fn segmenter_keeps_dictionary_words_whole_and_drops_stop_words() {
        let terms = index().terms("我们公司需要伺服电机和注塑模具的工业互联网技术，希望与专家合作");
        for whole in ["伺服电机", "注塑模具", "工业互联网"] {
            assert!(
                terms.iter().any(|t| t == whole),
                "{whole} not whole in {terms:?}"
            );
        }
        for stop in [
            "我们", "公司", "需要", "和", "的", "技术", "希望", "与", "专家", "合作", "，",
        ] {
            assert!(!terms.iter().any(|t| t == stop), "{stop} kept in {terms:?}");
        }
    }

    #[test]
    fn an_unspaced_sentence_finds_the_right_expert() {
        let query = demand(
            "杨梅运到外地烂果多",
            "我们合作社的杨梅常温两三天就坏了想延长保鲜期改进预冷和冷链运输",
            "01",
        );
        let top = index().top(&query, Kind::Expert, 5);
        assert_eq!(
            top.first().map(|m| m.id.as_str()),
            Some("E-ym03"),
            "{top:#?}"
        );
        let first = &top[0];
        assert!(first.terms.iter().any(|t| t == "杨梅"), "{:?}", first.terms);
        assert!(first.codes.contains(&"01".to_owned()), "{:?}", first.codes);
    }

    #[test]
    fn every_term_given_as_a_reason_is_in_both_texts() {
        let (set, index) = (set(), index());
        let mut checked = 0;
        for (query, _) in &set.demands {
            let demand_text = format!("{}\n{}", query.title, query.summary);
            for kind in [Kind::Expert, Kind::Achievement] {
                for m in index.top(query, kind, 10) {
                    let own = match kind {
                        Kind::Expert => {
                            expert_text(set.experts.iter().find(|e| e.id == m.id).unwrap())
                        }
                        Kind::Achievement => achievement_text(
                            set.achievements.iter().find(|a| a.id == m.id).unwrap(),
                        ),
                    }
                    .to_lowercase();
                    for term in &m.terms {
                        assert!(
                            demand_text.contains(term.as_str()),
                            "{term} not in {demand_text}"
                        );
                        assert!(
                            own.contains(&term.to_lowercase()),
                            "{term} not in {} {own}",
                            m.id
                        );
                        checked += 1;
                    }
                    assert!(
                        !m.terms.is_empty(),
                        "{} matched {} with no shared term",
                        m.id,
                        query.title
                    );
                }
            }
        }
        assert!(checked > 200, "only {checked} terms checked");
    }

    #[test]
    fn shared_codes_are_true_of_both_sides() {
        let (set, index) = (set(), index());
        for (query, _) in &set.demands {
            for m in index.top(query, Kind::Expert, 10) {
                let e = set.experts.iter().find(|e| e.id == m.id).unwrap();
                for code in &m.codes {
                    assert!(
                        *code == e.discipline
                            || (*code == query.industry && e.industries.contains(code)),
                        "{code} for {}",
                        e.id
                    );
                }
                assert_eq!(m.same_region, e.region == query.region, "{}", e.id);
            }
        }
    }

    #[test]
    fn unavailable_experts_are_never_returned() {
        let (set, index) = (set(), index());
        let unavailable: Vec<&str> = set
            .experts
            .iter()
            .filter(|e| e.availability == Availability::Unavailable)
            .map(|e| e.id.as_str())
            .collect();
        assert!(
            unavailable.len() >= 3,
            "the set should hold some unavailable experts"
        );
        // Each unavailable expert's own words as a demand: a perfect text match, still not shown.
        let own_demands = set
            .experts
            .iter()
            .filter(|e| e.availability == Availability::Unavailable)
            .map(|e| demand(&e.keywords.join(""), &e.summary, &e.industries[0]));
        let labelled = set.demands.iter().map(|(q, _)| q.clone());
        for query in own_demands.chain(labelled) {
            for m in index.top(&query, Kind::Expert, 50) {
                assert!(
                    !unavailable.contains(&m.id.as_str()),
                    "{} returned for {}",
                    m.id,
                    query.title
                );
            }
            for m in baseline_top(&set.experts, &set.achievements, &query, Kind::Expert, 50) {
                assert!(
                    !unavailable.contains(&m.id.as_str()),
                    "baseline returned {}",
                    m.id
                );
            }
        }
    }

    #[test]
    fn the_index_beats_the_substring_baseline_on_precision_at_5() {
        let (set, index) = (set(), index());
        let (mut ours, mut baseline) = (0.0, 0.0);
        for (query, right) in &set.demands {
            let top = index.top(query, Kind::Expert, 5);
            let base = baseline_top(&set.experts, &set.achievements, query, Kind::Expert, 5);
            let (p, b) = (precision_at(5, &top, right), precision_at(5, &base, right));
            let ids: Vec<&str> = top.iter().map(|m| m.id.as_str()).collect();
            eprintln!(
                "P@5 index {p:.2} baseline {b:.2}  {}  {ids:?} right {right:?}",
                query.title
            );
            ours += p;
            baseline += b;
        }
        let n = set.demands.len() as f64;
        let (ours, baseline) = (ours / n, baseline / n);
        eprintln!("mean P@5 over {n} demands: index {ours:.3}, baseline {baseline:.3}");
        println!("mean P@5 over {n} demands: index {ours:.3}, baseline {baseline:.3}");
        assert!(
            ours > baseline,
            "index {ours:.3} is not above the baseline {baseline:.3}"
        );
        assert!(ours >= 0.6, "index mean P@5 {ours:.3} is below 0.6");
    }

    #[test]
    fn achievements_are_matched_by_their_subject() {
        let query = demand(
            "电镀废水处理",
            "五金电镀线的电镀废水重金属处理不稳定，想做中水回用",
            "33",
        );
        let top = index().top(&query, Kind::Achievement, 3);
        assert_eq!(
            top.first().map(|m| m.id.as_str()),
            Some("A-hb01"),
            "{top:#?}"
        );
        assert_eq!(index().len(Kind::Achievement), set().achievements.len());
        assert_eq!(index().len(Kind::Expert), set().experts.len());
    }

    #[test]
    fn an_empty_index_returns_nothing() {
        let empty = MatchIndex::build(&[], &[]).unwrap();
        let query = demand("注塑模具", "注塑件缩痕翘曲", "29");
        assert!(empty.top(&query, Kind::Expert, 10).is_empty());
        assert!(empty.top(&query, Kind::Achievement, 10).is_empty());
        assert_eq!(empty.len(Kind::Expert), 0);
        assert!(empty.is_empty());
    }

    #[test]
    fn a_demand_with_no_words_or_no_room_returns_nothing() {
        let index = index();
        assert!(index.top(&demand("", "", ""), Kind::Expert, 10).is_empty());
        assert!(index
            .top(&demand("的了和", "，。！", "29"), Kind::Expert, 10)
            .is_empty());
        assert!(index
            .top(&demand("注塑模具", "", "29"), Kind::Expert, 0)
            .is_empty());
    }

    #[test]
    fn a_pasted_document_is_read_only_up_to_the_limit() {
        let long = "注塑模具翘曲变形".repeat(20_000) + &"ABCDEFGHIJ".repeat(10_000);
        let top = index().top(&demand(&long, &long, "29"), Kind::Expert, 5);
        assert!(!top.is_empty());
    }

    #[test]
    fn the_same_query_twice_gives_the_same_order() {
        let index = index();
        for (query, _) in &set().demands {
            for kind in [Kind::Expert, Kind::Achievement] {
                let ids = |v: Vec<Match>| -> Vec<(String, Vec<String>)> {
                    v.into_iter().map(|m| (m.id, m.terms)).collect()
                };
                assert_eq!(
                    ids(index.top(query, kind, 20)),
                    ids(index.top(query, kind, 20))
                );
            }
        }
    }

    #[test]
    fn a_duplicate_id_is_refused() {
        let e = set().experts[0].clone();
        let err = MatchIndex::build(&[e.clone(), e], &[])
            .err()
            .expect("refused");
        assert!(
            matches!(
                err,
                SearchError::DuplicateId {
                    kind: Kind::Expert,
                    ..
                }
            ),
            "{err}"
        );
    }
}
