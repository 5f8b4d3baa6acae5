//! The reading side of an import: the file read ([`super::read::stream`]) and every row
//! checked (`domain::citydata::rows::RowChecker`) on a blocking thread of its own, the rows that
//! passed handed to the kind's rules in chunks as they come, a few chunks ahead at most, so
//! that reading overlaps writing and no more of a large file is held than those chunks.

use super::read;
use domain::citydata::rows::{Row, RowChecker};
use domain::citydata::{Cell, HeaderMap, Problem, Schema};

/// Rows the reader hands the rules at once (the partner deeds' rules work through a chunk in
/// rounds of 1,000); no more of a large file is held than a few such chunks.
const CHUNK_ROWS: usize = 5_000;
/// Chunks read ahead of the rules (the reader waits when the rules are behind).
pub(super) const CHUNKS_AHEAD: usize = 2;

/// What the reader hands over as it reads: where the columns are, then rows that passed.
pub(super) enum Fed {
    Map(HeaderMap),
    Rows(Vec<Row>),
}

/// A file read and checked, once the reader is done.
pub(super) struct Checked {
    pub(super) format: &'static str,
    pub(super) total: usize,
    pub(super) problems: Vec<Problem>,
    /// How long reading and checking took on the reader's thread (waits for the rules not
    /// counted).
    pub(super) busy: std::time::Duration,
}

/// Read and check `bytes` on the calling (blocking) thread, handing rows that passed to
/// `feed` in chunks as they come.
pub(super) fn read_and_check(
    schema: &'static Schema,
    bytes: &[u8],
    feed: &tokio::sync::mpsc::Sender<Fed>,
) -> Checked {
    let started = std::time::Instant::now();
    let mut c = Checked {
        format: "unknown",
        total: 0,
        problems: Vec::new(),
        busy: std::time::Duration::ZERO,
    };
    if bytes.len() > schema.bytes_max {
        c.problems.push(Problem::file(
            "file_too_large",
            &format!("at most {} MiB", schema.bytes_max / 1024 / 1024),
        ));
        return c;
    }
    let mut reader = Reader {
        schema,
        feed,
        format: "unknown",
        header_problems: Vec::new(),
        checker: None,
        chunk: Vec::new(),
        gone: false,
        waited: std::time::Duration::ZERO,
    };
    if let Err(p) = read::stream(bytes, &mut reader) {
        c.problems.push(*p);
        return c;
    }
    c.format = reader.format;
    if let Some(checker) = reader.checker.take() {
        // (A file over the row limit is refused whole: its last rows need no rules.)
        if !reader.chunk.is_empty() && !checker.over_limit() {
            let rows = std::mem::take(&mut reader.chunk);
            reader.send(Fed::Rows(rows));
        }
        (c.total, c.problems) = checker.finish();
    } else {
        c.problems = reader.header_problems;
    }
    c.busy = started.elapsed().saturating_sub(reader.waited);
    c
}

/// The reader's side of a file: the header mapped, each row checked as it is read.
struct Reader<'f> {
    schema: &'static Schema,
    feed: &'f tokio::sync::mpsc::Sender<Fed>,
    format: &'static str,
    header_problems: Vec<Problem>,
    checker: Option<RowChecker<'static>>,
    chunk: Vec<Row>,
    /// The rules stopped taking rows (the import failed): read no further.
    gone: bool,
    /// Time spent waiting for the rules to take a chunk.
    waited: std::time::Duration,
}

impl Reader<'_> {
    /// Hand `fed` to the rules, waiting while they are a few chunks behind.
    fn send(&mut self, fed: Fed) {
        let t = std::time::Instant::now();
        self.gone = self.gone || self.feed.blocking_send(fed).is_err();
        self.waited += t.elapsed();
    }
}

impl read::Visit for Reader<'_> {
    fn header(&mut self, format: &'static str, header: Vec<String>, merged: bool) -> bool {
        self.format = format;
        match self.schema.map_header(&header, merged) {
            Err(ps) => {
                self.header_problems = ps;
                false
            }
            Ok(map) => {
                self.send(Fed::Map(map.clone()));
                self.checker = Some(RowChecker::new(self.schema, map));
                !self.gone
            }
        }
    }

    fn row(&mut self, line: usize, cells: Vec<Cell>) -> bool {
        let Some(checker) = self.checker.as_mut() else {
            return false;
        };
        if let Some(row) = checker.check(line, &cells) {
            self.chunk.push(row);
            if self.chunk.len() >= CHUNK_ROWS {
                let rows = std::mem::take(&mut self.chunk);
                self.send(Fed::Rows(rows));
            }
        }
        !self.gone && !self.checker.as_ref().is_some_and(RowChecker::over_limit)
    }
}
