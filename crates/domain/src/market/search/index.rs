//! One in-RAM tantivy index per kind (experts, achievements), so each kind's BM25 statistics
//! (idf, average field length) are its own. Nothing is stored in tantivy's doc store: a hit is
//! mapped through the `ord` fast field to the caller's position, and the texts for explanations
//! live in [`super::MatchIndex`].

use tantivy::collector::TopDocs;
use tantivy::merge_policy::NoMergePolicy;
use tantivy::query::{BooleanQuery, BoostQuery, Occur, Query, TermQuery};
use tantivy::schema::{
    Field, IndexRecordOption, Schema, TextFieldIndexing, TextOptions, FAST, STRING,
};
use tantivy::{Index, IndexWriter, ReloadPolicy, Searcher, TantivyDocument, Term};

use super::tokenizer::{Segmenter, ZhTokenizer, TOKENIZER_NAME};
use super::SearchError;

/// Keywords are what a profile's owner chose to be found by: the strongest field.
pub const KEYWORDS_BOOST: f32 = 3.0;
/// An achievement's title names its subject in a few words.
pub const TITLE_BOOST: f32 = 2.0;
/// The summary is long and mixes subject with background: the base weight.
pub const SUMMARY_BOOST: f32 = 1.0;
/// Name, title and institution: found when a demand names them, never a reason on its own.
pub const WHO_BOOST: f32 = 0.3;

/// Indexing memory for all writer threads together; the writer splits it per thread.
const WRITER_MEMORY_BYTES: usize = 96 * 1024 * 1024;
/// The availability value that keeps a document out of every result.
const UNAVAILABLE: &str = "unavailable";

/// The texts of one document as indexed.
pub(crate) struct IndexedDoc<'a> {
    pub keywords: String,
    pub title: &'a str,
    pub summary: &'a str,
    pub who: String,
    pub unavailable: bool,
}

#[derive(Clone, Copy)]
struct Fields {
    keywords: Field,
    title: Field,
    summary: Field,
    who: Field,
    availability: Field,
}

impl Fields {
    fn boosted(&self) -> [(Field, f32); 4] {
        [
            (self.keywords, KEYWORDS_BOOST),
            (self.title, TITLE_BOOST),
            (self.summary, SUMMARY_BOOST),
            (self.who, WHO_BOOST),
        ]
    }
}

/// A built, committed, read-only index of one kind.
pub(crate) struct KindIndex {
    searcher: Searcher,
    fields: Fields,
    /// Per segment (by its ordinal in `searcher`), doc id → position in the caller's slice.
    ords: Vec<Vec<u32>>,
    len: usize,
}

fn schema() -> (Schema, Fields) {
    let indexing = TextFieldIndexing::default()
        .set_tokenizer(TOKENIZER_NAME)
        .set_index_option(IndexRecordOption::WithFreqs);
    let text = TextOptions::default().set_indexing_options(indexing);
    let mut builder = Schema::builder();
    let fields = Fields {
        keywords: builder.add_text_field("keywords", text.clone()),
        title: builder.add_text_field("title", text.clone()),
        summary: builder.add_text_field("summary", text.clone()),
        who: builder.add_text_field("who", text),
        availability: builder.add_text_field("availability", STRING),
    };
    builder.add_u64_field("ord", FAST);
    (builder.build(), fields)
}

impl KindIndex {
    /// Indexes `docs` with one writer and one commit; the n-th doc gets ord n.
    pub fn build<'a>(
        segmenter: &Segmenter,
        docs: impl Iterator<Item = IndexedDoc<'a>>,
    ) -> Result<KindIndex, SearchError> {
        let (schema, fields) = schema();
        let ord_field = schema.get_field("ord")?;
        let index = Index::create_in_ram(schema);
        index
            .tokenizers()
            .register(TOKENIZER_NAME, ZhTokenizer::new(segmenter.clone()));
        let mut writer: IndexWriter = index.writer(WRITER_MEMORY_BYTES)?;
        writer.set_merge_policy(Box::new(NoMergePolicy));
        let mut len = 0usize;
        for (ord, doc) in docs.enumerate() {
            let mut d = TantivyDocument::default();
            d.add_text(fields.keywords, &doc.keywords);
            d.add_text(fields.title, doc.title);
            d.add_text(fields.summary, doc.summary);
            d.add_text(fields.who, &doc.who);
            if doc.unavailable {
                d.add_text(fields.availability, UNAVAILABLE);
            }
            d.add_u64(ord_field, ord as u64);
            writer.add_document(d)?;
            len = ord + 1;
        }
        writer.commit()?;
        writer.wait_merging_threads()?;
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()?;
        let searcher = reader.searcher();
        let ords = ord_maps(&searcher)?;
        // Pair assertion: every document written is mapped back exactly once.
        if ords.iter().map(Vec::len).sum::<usize>() != len {
            return Err(SearchError::Corrupt(
                "indexed and mapped document counts differ",
            ));
        }
        Ok(KindIndex {
            searcher,
            fields,
            ords,
            len,
        })
    }

    pub fn len(&self) -> usize {
        self.len
    }

    /// The best `pool` docs by BM25 over `terms` (token, query weight), never an unavailable one,
    /// as (ord, score).
    pub fn candidates(&self, terms: &[(String, f32)], pool: usize) -> Vec<(u32, f32)> {
        if terms.is_empty() || pool == 0 || self.len == 0 {
            return Vec::new();
        }
        let query = self.query(terms);
        // A RAM index cannot fail to read; were it to, no match is the honest answer.
        let Ok(hits) = self
            .searcher
            .search(&query, &TopDocs::with_limit(pool).order_by_score())
        else {
            return Vec::new();
        };
        hits.into_iter()
            .filter_map(|(score, addr)| {
                let ord = self
                    .ords
                    .get(addr.segment_ord as usize)?
                    .get(addr.doc_id as usize)?;
                Some((*ord, score))
            })
            .collect()
    }

    /// Inverse document frequency of `token` in the field where it is most common (the
    /// conservative choice), as BM25 computes it.
    pub fn idf(&self, token: &str) -> f32 {
        let n = self.len as f32;
        let df = self
            .fields
            .boosted()
            .iter()
            .filter_map(|(field, _)| {
                self.searcher
                    .doc_freq(&Term::from_field_text(*field, token))
                    .ok()
            })
            .max()
            .unwrap_or(0) as f32;
        (1.0 + (n - df + 0.5) / (df + 0.5)).ln()
    }

    /// Every (token, field) as a boosted SHOULD clause; unavailable documents excluded.
    fn query(&self, terms: &[(String, f32)]) -> BooleanQuery {
        let mut should: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        for (token, weight) in terms {
            for (field, boost) in self.fields.boosted() {
                let term = TermQuery::new(
                    Term::from_field_text(field, token),
                    IndexRecordOption::WithFreqs,
                );
                should.push((
                    Occur::Should,
                    Box::new(BoostQuery::new(Box::new(term), weight * boost)),
                ));
            }
        }
        let unavailable = TermQuery::new(
            Term::from_field_text(self.fields.availability, UNAVAILABLE),
            IndexRecordOption::Basic,
        );
        BooleanQuery::new(vec![
            (Occur::Must, Box::new(BooleanQuery::new(should))),
            (Occur::MustNot, Box::new(unavailable)),
        ])
    }
}

/// Reads the `ord` fast field once, so a query never touches a column reader.
fn ord_maps(searcher: &Searcher) -> Result<Vec<Vec<u32>>, SearchError> {
    let mut maps = Vec::with_capacity(searcher.segment_readers().len());
    for segment in searcher.segment_readers() {
        let column = segment.fast_fields().u64("ord")?;
        let map = (0..segment.max_doc())
            .map(|doc| {
                let ord = column
                    .first(doc)
                    .ok_or(SearchError::Corrupt("a document has no ord"))?;
                u32::try_from(ord).map_err(|_| SearchError::Corrupt("ord beyond u32"))
            })
            .collect::<Result<Vec<u32>, SearchError>>()?;
        maps.push(map);
    }
    Ok(maps)
}
